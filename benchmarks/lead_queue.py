"""The lead's queue page at a flood's size: `jury.leads.queue.queue_page` with --cases open cases.

On a fresh PostgreSQL database migrated with the project's migrations, --cases + --decided posts, their
reports and cases are bulk-loaded as benchmarks/dealing.py loads them, each post with one score row, and
the last --decided cases marked decided (the history a queue page must not scan). Then, in
process (no HTTP: the page's queries are what grows with the queue), each of these is timed --repeat
times and its median reported in milliseconds:

- `queue_page`: the first page, a middle page and the last page (what a lead's click costs, its four
  queries and the rows built);
- `whole_rows_sorted`: the first page's query as it was written before (every open case's whole row,
  post, cluster and latest score joined, then sorted): the baseline the change is measured against;
- `ids_only`: the sort alone (the page's 50 case ids, no join): the floor;
- `count_open_by_state`: the page's count, of the open cases by state (an index range), against
  `count_every_state`, every case counted by state as the page did before (a scan of the whole table).

Ratios: the first page against the whole-row sort (lower is better) and against the floor; the open
count against the whole count.

    .venv/bin/python benchmarks/lead_queue.py [--cases 100000] [--decided 100000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

import common
import dealing
import psycopg
from sqlalchemy import case as when_then
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager


def _median_ms(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def _add_scores(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO scores (post_id, model_name, model_version, labels, max_score, text_truncated, "
                     "scored_at) SELECT id, 'sklearn', 'bench', jsonb_build_object('toxicity', 0.5, 'threat', 0.4), "
                     "0.5, false, now() FROM posts")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE scores")


def _decide_the_last(db_url: str, decided: int) -> None:
    """Mark the last `decided` cases decided, with no seat open."""
    if decided <= 0:
        return
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE cases SET state = 'decided', open_seats = 0, decided_at = now() WHERE id > "
                     "(SELECT max(id) FROM cases) - %s", (decided,))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE cases")


def measure(app, repeat: int) -> dict:
    # Imported once the app is built, as the other benchmarks do: the script's environment (DATABASE_URL,
    # REDIS_URL) must be set before the project's modules read their configuration.
    from jury.leads import queue
    from models import Case, Cluster, Post, Score, db

    order = (when_then((Case.state == "escalated", 0), else_=1), Case.priority.desc(), Case.id)
    whole = (select(Case, Cluster.member_count, Score.labels).join(Post, Post.id == Case.post_id)
             .outerjoin(Cluster, Cluster.id == Post.cluster_id).outerjoin(Score, Score.id == queue._LATEST_SCORE_ID)
             .where(Case.state.in_(queue.QUEUE_STATES)).order_by(*order).limit(queue.PAGE_SIZE)
             .options(contains_eager(Case.post)))
    ids = select(Case.id).where(Case.state.in_(queue.QUEUE_STATES)).order_by(*order).limit(queue.PAGE_SIZE)
    every_state = select(Case.state, func.count()).group_by(Case.state)
    open_states = select(Case.state, func.count()).where(Case.state.in_(queue.QUEUE_STATES)).group_by(Case.state)
    with app.app_context():
        last = queue.queue_page(1).pages
        figures = {f"queue_page_{name}_ms": _median_ms(lambda page=page: queue.queue_page(page), repeat)
                   for name, page in (("first", 1), ("middle", max(1, last // 2)), ("last", last))}
        figures["whole_rows_sorted_ms"] = _median_ms(lambda: db.session.execute(whole).all(), repeat)
        figures["ids_only_ms"] = _median_ms(lambda: db.session.execute(ids).all(), repeat)
        figures["count_open_by_state_ms"] = _median_ms(lambda: db.session.execute(open_states).all(), repeat)
        figures["count_every_state_ms"] = _median_ms(lambda: db.session.execute(every_state).all(), repeat)
        db.session.remove()
    figures["first_page_against_whole_rows_sorted"] = round(figures["queue_page_first_ms"]
                                                           / figures["whole_rows_sorted_ms"], 3)
    figures["first_page_against_ids_only"] = round(figures["queue_page_first_ms"] / figures["ids_only_ms"], 2)
    figures["open_count_against_every_state"] = round(figures["count_open_by_state_ms"]
                                                      / figures["count_every_state_ms"], 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_common_arguments(parser)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--decided", type=int, default=100_000, help="decided cases besides the open ones")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    name = "jury_bench_queue"
    db_url = common.create_database(args.pg, name)
    app = common.build_app(common.app_environment(db_url, args.redis))
    try:
        common.migrate(app)
        common.progress(f"loading {args.cases} open and {args.decided} decided cases")
        loaded = dealing.seed(db_url, args.cases + args.decided, random.Random(1))
        _decide_the_last(db_url, args.decided)
        _add_scores(db_url)
        result = {"benchmark": "lead_queue", "cases": args.cases, "decided": args.decided,
                  "load_seconds": loaded["seconds"],
                  "load_average": common.load_average(), "machine": common.machine(),
                  **measure(app, args.repeat)}
        common.emit(result)
    finally:
        common.dispose(app)
        common.drop_database(args.pg, name)


if __name__ == "__main__":
    main()
