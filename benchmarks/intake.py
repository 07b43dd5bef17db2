"""Intake throughput: signed post batches through the HTTP API, against a bare insert of the same rows.

What runs: a fresh PostgreSQL database migrated with the project's migrations, `gunicorn wsgi:app`
(2 workers x 4 threads by default) with REDIS_URL set, so each batch's scoring jobs are enqueued
on Redis and wait there (no worker runs: the API is measured, not scoring). A few client threads
send N posts in batches of 500 to `POST /api/v1/posts`, each request signed with X-Jury-Signature,
and the wall time from the first request to the last 202 gives posts per second. A short warm-up
comes first (not counted), and the measurement is repeated --repeat times with fresh ids: a round
of 20,000 posts lasts only a second or two, so the median of three is reported.

Then, in the same run, the baseline: the same rows (same columns, content hash included) are
inserted by one process into a fresh table shaped like `posts` (`CREATE TABLE ... (LIKE posts
INCLUDING ALL)`, so the same indexes), first with psycopg `executemany` in transactions of one
batch each, then with COPY. The ratio says how much of the bare database speed the API keeps.

Prints one JSON object on stdout. Exits non-zero only when the run itself failed (server did not
start, a request was refused, rows are missing); a missed target is reported in the JSON.

    .venv/bin/python benchmarks/intake.py [--posts 20000] [--batch 500] [--clients 4] [--repeat 3]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import common
import psycopg
import requests
from redis.exceptions import RedisError

from network.signing import SIGNATURE_HEADER, sign

TARGET_POSTS_PER_S = 2000
WORDS = ("the", "vote", "jury", "weather", "today", "people", "think", "really", "never", "again", "news",
         "city", "police", "tonight", "game", "friend", "why", "would", "anyone", "believe", "this", "they",
         "said", "market", "price", "school", "video", "watch", "share", "truth", "free", "speech")


def make_posts(count: int, prefix: str, rng: random.Random) -> list[dict]:
    """Posts as the network sends them: unique ids, a few thousand authors, 5-60 words of text."""
    return [{
        "id": f"{prefix}-{i}",
        "author_id": f"author-{rng.randrange(5000)}",
        "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60))),
    } for i in range(count)]


def send_batches(url: str, bodies: list[bytes], clients: int) -> tuple[float, list[float], list[dict]]:
    """POST every body from `clients` threads (one keep-alive session each); returns wall s, latencies, counts."""
    local = threading.local()
    latencies: list[float] = []
    answers: list[dict] = []
    lock = threading.Lock()

    def post(body: bytes) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        headers = {SIGNATURE_HEADER: sign(common.INTAKE_SECRET, body, int(time.time())),
                   "Content-Type": "application/json"}
        start = time.perf_counter()
        response = session.post(url + "/api/v1/posts", data=body, headers=headers, timeout=120)
        elapsed = time.perf_counter() - start
        if response.status_code != 202:
            raise common.BenchError(f"intake answered {response.status_code}: {response.text[:300]}")
        with lock:
            latencies.append(elapsed)
            answers.append(response.json())

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(post, body) for body in bodies]:
            future.result()
    return time.perf_counter() - start, latencies, answers


def warm_up(server: common.Gunicorn, concurrency: int, max_rounds: int, rng: random.Random) -> dict:
    """Send rounds of one-post requests on fresh connections until every worker has served a few
    dozen and every request of a round is fast: a worker's first requests pay one-off costs
    (imports, compiled statements, connections), reported here, not in the rate."""
    url = server.url
    rounds: list[float] = []
    for round_no in range(max_rounds):
        bodies = [json.dumps({"posts": make_posts(1, f"warmup{round_no}-{i}", rng)}).encode()
                  for i in range(concurrency)]

        def post(body: bytes) -> float:
            headers = {SIGNATURE_HEADER: sign(common.INTAKE_SECRET, body, int(time.time())),
                       "Content-Type": "application/json"}
            start = time.perf_counter()
            response = requests.post(url + "/api/v1/posts", data=body, headers=headers, timeout=120)
            if response.status_code != 202:
                raise common.BenchError(f"intake answered {response.status_code}: {response.text[:300]}")
            return time.perf_counter() - start

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            slowest = max(pool.map(post, bodies))
        rounds.append(round(slowest * 1000, 1))
        if slowest < 0.5 and server.workers_loaded(requests=3):
            break
    warm = server.workers_loaded(requests=3)
    common.progress(f"warm-up rounds, slowest request of each (ms): {rounds}; all workers warm: {warm}")
    return {"rounds": len(rounds), "concurrency": concurrency, "slowest_request_ms_per_round": rounds,
            "all_workers_warm": warm}


def bare_rows(posts: list[dict]) -> list[tuple]:
    """The columns intake writes for each post, computed the same way."""
    now = datetime.now(UTC)
    return [(p["id"], p["author_id"], p["text"], None, None, None, now, "visible",
             hashlib.sha256(p["text"].encode("utf-8", "surrogatepass")).hexdigest(), now) for p in posts]


BARE_COLUMNS = ("external_id, author_id, text, lang, url, created_at, received_at, state, content_hash, "
                "score_requested_at")


def bare_insert(db_url: str, posts: list[dict], batch: int) -> dict:
    """Insert the same rows into fresh copies of the posts table: executemany, then COPY."""
    with psycopg.connect(db_url) as conn:
        for table in ("bare_posts_executemany", "bare_posts_copy"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            # Same columns, defaults, unique and plain indexes as the real table.
            conn.execute(f"CREATE TABLE {table} (LIKE posts INCLUDING ALL)")
        conn.commit()

        start = time.perf_counter()
        placeholders = ", ".join(["%s"] * len(BARE_COLUMNS.split(", ")))
        sql = f"INSERT INTO bare_posts_executemany ({BARE_COLUMNS}) VALUES ({placeholders})"
        for offset in range(0, len(posts), batch):
            with conn.cursor() as cur:
                cur.executemany(sql, bare_rows(posts[offset:offset + batch]))
            conn.commit()
        executemany_s = time.perf_counter() - start

        start = time.perf_counter()
        for offset in range(0, len(posts), batch):
            with conn.cursor() as cur, cur.copy(f"COPY bare_posts_copy ({BARE_COLUMNS}) FROM STDIN") as copy:
                for row in bare_rows(posts[offset:offset + batch]):
                    copy.write_row(row)
            conn.commit()
        copy_s = time.perf_counter() - start

        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("bare_posts_executemany", "bare_posts_copy")]
    if counts != [len(posts), len(posts)]:
        raise common.BenchError(f"bare insert stored {counts} rows, expected {len(posts)}")
    return {"executemany_s": executemany_s, "copy_s": copy_s}


def run(args: argparse.Namespace) -> dict:
    """The whole benchmark; returns the result mapping."""
    rng = random.Random(args.seed)
    load_before = common.load_average()
    env, app = common.start(args)
    db_url = env["DATABASE_URL"]
    try:
        common.dispose(app)

        rounds = []
        for r in range(args.repeat):
            posts = make_posts(args.posts, f"bench{r}", rng)
            bodies = [json.dumps({"posts": posts[i:i + args.batch]}).encode()
                      for i in range(0, len(posts), args.batch)]
            rounds.append((posts, bodies))

        common.progress(f"starting gunicorn ({args.workers} workers x {args.threads} threads)")
        api_rounds = []
        with common.Gunicorn(env, args.workers, args.threads, args.app) as server:
            warm = warm_up(server, args.workers * args.threads * 2, args.warmup_rounds, rng)
            for r, (posts, bodies) in enumerate(rounds):
                common.progress(f"round {r + 1}/{args.repeat}: {len(posts)} posts in {len(bodies)} batches "
                                f"from {args.clients} clients")
                cpu_before = common.cpu_snapshot(server.pid, args.db_name)
                wall_s, latencies, answers = send_batches(server.url, bodies, args.clients)
                cpu = common.cpu_usage(cpu_before, common.cpu_snapshot(server.pid, args.db_name), wall_s)
                api_rounds.append({"seconds": wall_s, "latencies": latencies, "cpu": cpu,
                                   "created": sum(a["created"] for a in answers)})
            server_errors = server.error_lines()
            command = server.command

        with psycopg.connect(db_url) as conn:
            stored = [conn.execute("SELECT count(*) FROM posts WHERE external_id LIKE %s",
                                   (f"bench{r}-%",)).fetchone()[0] for r in range(args.repeat)]
            audit_events = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        queued = common.redis_queue_lengths(args.redis, ["scoring"])
        created = [a["created"] for a in api_rounds]
        if created != [args.posts] * args.repeat or stored != [args.posts] * args.repeat:
            raise common.BenchError(f"API reported {created} created, {stored} stored; expected {args.posts} each")

        common.progress(f"bare insert baseline (executemany, then COPY), {args.repeat} rounds")
        bare = [bare_insert(db_url, posts, args.batch) for posts, _ in rounds]

        n = args.posts
        api_rates = [n / a["seconds"] for a in api_rounds]
        bare_rates = [n / b["executemany_s"] for b in bare]
        copy_rates = [n / b["copy_s"] for b in bare]
        api_rate, bare_rate, copy_rate = (statistics.median(x) for x in (api_rates, bare_rates, copy_rates))
        median_round = sorted(range(args.repeat), key=lambda i: api_rates[i])[args.repeat // 2]
        return {
            "benchmark": "intake",
            "posts": n,
            "rounds": args.repeat,
            "batch_size": args.batch,
            "batches": len(rounds[0][1]),
            "client_threads": args.clients,
            "api_posts_per_s": round(api_rate, 1),
            "api_posts_per_s_each_round": [round(x, 1) for x in api_rates],
            "api_seconds_each_round": [round(a["seconds"], 3) for a in api_rounds],
            "api_request_latency": common.latency_summary(
                [v for a in api_rounds for v in a["latencies"]]),
            "api_cpu_median_round": api_rounds[median_round]["cpu"],
            "bare_insert_rows_per_s": round(bare_rate, 1),
            "bare_insert_rows_per_s_each_round": [round(x, 1) for x in bare_rates],
            "bare_insert_method": f"psycopg executemany, one transaction per {args.batch} rows, one process",
            "bare_copy_rows_per_s": round(copy_rate, 1),
            "ratio_api_to_bare": round(api_rate / bare_rate, 3),
            "ratio_api_to_copy": round(api_rate / copy_rate, 3),
            "target_posts_per_s": TARGET_POSTS_PER_S,
            "meets_target": api_rate >= TARGET_POSTS_PER_S,
            "checks": {
                "posts_stored_each_round": stored,
                "posts_created_reported_by_api_each_round": created,
                "scoring_jobs_waiting_in_redis": queued["scoring"],
                "audit_events": audit_events,
                "server_error_log_lines": len(server_errors),
            },
            "config": {
                "server": " ".join(command),
                "warmup": warm,
                "redis": "jobs enqueued on RQ, no worker running",
                "postgresql": common.server_settings(args.pg),
            },
            "machine": {**common.machine(), "load_average_before": load_before},
        }
    finally:
        common.clean_up(app, args)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run, print JSON; non-zero exit only if the run failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=20_000, help="posts to send (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=500, help="posts per request, at most 1000 (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="measured rounds of --posts fresh posts each; medians are reported (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default: %(default)s)")
    parser.add_argument("--warmup-rounds", type=int, default=10,
                        help="at most this many uncounted warm-up rounds before measuring (default: %(default)s)")
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= 1000 or args.posts < 1 or args.clients < 1 or args.repeat < 1:
        parser.error("need posts >= 1, 1 <= batch <= 1000, clients >= 1, repeat >= 1")
    common.install_signal_handlers()
    try:
        result = run(args)
    except (common.BenchError, psycopg.Error, requests.RequestException, RedisError, OSError) as error:
        print(f"intake benchmark failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    common.emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
