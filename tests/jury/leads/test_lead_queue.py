"""The lead's queue: what each row shows, its order and pages, the few queries a page costs, the page
itself (escaped, with its actions) and bulk-closing from it; on SQLite and on PostgreSQL."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, func, select

from jury.leads import queue
from models import Action, Case, Cluster, Post, Report, Score, Verdict, db, utcnow

HOSTILE = '<script>alert("q")</script>\u202egnp.exe ' + "W" * 400


def _post(pid: str, text: str, *, author: str = "author-1", cluster: Cluster | None = None) -> Post:
    post = Post(external_id=pid, author_id=author, text=text, content_hash="h" * 64,
                cluster_id=cluster.id if cluster else None)
    db.session.add(post)
    db.session.flush()
    return post


def _case(post: Post, state: str, priority: float, deadline_hours: float, now) -> Case:
    case = Case(post_id=post.id, origin="reported", state=state, priority=priority, panel_size=3,
                open_seats=3 if state in ("queued", "in_review") else 0, policy_version=1,
                opened_at=now - timedelta(hours=1), sla_deadline=now + timedelta(hours=deadline_hours))
    db.session.add(case)
    db.session.flush()
    return case


def _reports(post: Post, *reasons: str) -> None:
    for reason in reasons:
        n = db.session.scalar(select(func.count()).select_from(Report)) or 0
        db.session.add(Report(external_id=f"r{n}", post_id=post.id, reporter_id=f"rep-{n}", reason=reason))
    db.session.flush()


def seed(now) -> dict[str, int]:
    """An escalation of low priority, a queued case in a cluster of four with reports and two scorings,
    an overdue case in review with no cluster, and a decided case the queue leaves out."""
    cluster = Cluster(fingerprint="f" * 64, signature=b"\0" * 4, member_count=4)
    db.session.add(cluster)
    db.session.flush()
    escalated = _case(_post("p-esc", "Split panel post."), "escalated", 1.0, 5, now)
    clustered_post = _post("p-clu", "Buy   cheap\nfollowers now", cluster=cluster)
    clustered = _case(clustered_post, "queued", 9.0, 20, now)
    _reports(clustered_post, "spam", "harassment", "spam")
    db.session.add_all([
        Score(post_id=clustered_post.id, model_name="m", model_version="1", scored_at=now - timedelta(hours=2),
              labels={"toxicity": 0.99, "insult": 0.99, "threat": 0.99}),
        Score(post_id=clustered_post.id, model_name="m", model_version="2", scored_at=now - timedelta(hours=1),
              labels={"toxicity": 0.31, "insult": 0.72, "threat": 0.05, "obscene": 0.12}),
    ])
    overdue = _case(_post("p-late", HOSTILE, author="<b>late</b>"), "in_review", 5.0, -2.5, now)
    _case(_post("p-done", "Already decided."), "decided", 99.0, 1, now)
    db.session.commit()
    return {"escalated": escalated.id, "clustered": clustered.id, "overdue": overdue.id}


def test_each_row_shows_excerpt_reports_scores_cluster_and_deadline(app):
    now = utcnow()
    ids = seed(now)
    page = queue.queue_page(now=now)
    # Escalations first, then by priority; a decided case is not in the queue.
    assert [row.case.id for row in page.rows] == [ids["escalated"], ids["clustered"], ids["overdue"]]
    assert (page.total, page.page, page.pages) == (3, 1, 1)
    # Open cases by state; decided ones are not counted (they grow every day), the last day's pace is.
    assert page.by_state == {"escalated": 1, "queued": 1, "in_review": 1}
    assert page.pace.open_cases == 2 and page.pace.hours == 24  # waiting for jurors (escalations aside)
    escalated, clustered, overdue = page.rows
    assert clustered.excerpt == "Buy cheap followers now" and not clustered.truncated
    assert clustered.reasons == [("spam", 2), ("harassment", 1)] and clustered.reports == 3
    # The latest scoring, its three highest labels.
    assert clustered.scores == [("insult", 0.72), ("toxicity", 0.31), ("obscene", 0.12)]
    assert clustered.cluster_size == 4 and escalated.cluster_size is None
    assert escalated.reasons == [] and escalated.scores == []
    assert round(clustered.minutes_left) == 20 * 60 and not clustered.overdue
    assert overdue.overdue and round(overdue.minutes_left) == -150
    assert len(overdue.excerpt) == queue.EXCERPT_CHARS and overdue.truncated


def test_pages_are_capped_and_a_page_past_the_end_shows_the_last(app):
    now = utcnow()
    seed(now)
    first = queue.queue_page(1, page_size=2, now=now)
    last = queue.queue_page(99, page_size=2, now=now)
    assert (first.pages, len(first.rows), last.page, len(last.rows)) == (2, 2, 2, 1)
    assert {row.case.id for row in first.rows}.isdisjoint(row.case.id for row in last.rows)
    assert queue.queue_page(-3, page_size=2, now=now).page == 1


@contextmanager
def statements():
    """Count the SQL statements run inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_page_costs_the_same_few_queries_however_many_rows_it_has(app):
    now = utcnow()
    seed(now)
    db.session.expire_all()
    with statements() as few:
        rows = queue.queue_page(now=now).rows
        [(row.case.post.text, row.case.post.author_id) for row in rows]
    for n in range(40):
        post = _post(f"many-{n}", f"post number {n}")
        _reports(post, "spam")
        _case(post, "queued", float(n), 10, now)
    db.session.commit()
    db.session.expire_all()
    with statements() as many:
        rows = queue.queue_page(now=now).rows
        [(row.case.post.text, row.case.post.author_id) for row in rows]
    assert len(rows) == 43
    # Four queries a page; the first page in a minute also reads whether the queue is a flood (two
    # counts, triage.flood) and the policy in force, which each process then keeps.
    assert len(many) == 4, many
    assert len(few) == 7, few
    assert any("verdicts.decided_at >=" in sql for sql in few) and any("FROM policies" in sql for sql in few)
    assert not any("verdicts.decided_at >=" in sql or "FROM policies" in sql for sql in many)


def test_the_page_escapes_posts_links_authors_and_offers_the_actions(app, client, lead):
    now = utcnow()
    ids = seed(now)
    db.session.add(Action(case_id=ids["escalated"], type="remove_post", idempotency_key="k-dead", state="dead"))
    # The jury's pace: one verdict within the last 24 hours counts, one two days old does not.
    for pid, hours_ago in (("v-recent", 2), ("v-old", 48)):
        decided = _case(_post(pid, "decided"), "decided", 0.0, 1, now)
        db.session.add(Verdict(case_id=decided.id, outcome="keep", tally={}, method="quorum", policy_version=1,
                               statement="", decided_at=now - timedelta(hours=hours_ago)))
    db.session.commit()
    response = client.get("/lead/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'id="count-decided-recently">1</strong> decided in the last 24 hours', html)
    assert re.search(r'id="count-queued">1<', html) and 'id="count-decided"' not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;q&#34;)&lt;/script&gt;" in html
    assert "<b>late</b>" not in html and 'href="/lead/accounts/%3Cb%3Elate%3C/b%3E"' in html
    assert 'href="/lead/accounts/author-1"' in html
    assert "[U+202E]" in html  # the right-to-left override shown, not obeyed
    assert "W" * 400 not in html  # the excerpt is capped
    assert "cluster of 4 posts" in html and html.count("cluster of") == 1
    assert "Spam or scams ×2" in html and "Insult 0.72" in html
    assert "overdue by 2 h 30 min" in html and ("19 h 59 min left" in html or "20 h 0 min left" in html)
    assert f'href="/lead/cases/{ids["escalated"]}/decide"' in html
    assert f'href="/cases/{ids["clustered"]}"' in html
    # Every case in the queue can be selected, and nothing else.
    assert sorted(re.findall(r'name="case_id" value="(\d+)"', html)) == sorted(str(i) for i in ids.values())
    assert "waiting for jurors" in html and "escalated to a lead" in html  # states as words
    assert 'id="actions-dead">1</strong> network action refused for good' in html


def test_closing_selected_cases_from_the_queue_comes_back_to_it(app, client, lead):
    now = utcnow()
    ids = seed(now)
    chosen = [ids["clustered"], ids["overdue"]]
    response = client.post("/lead/bulk/close", data={"note": "duplicates of a spam wave", "back": "queue",
                                                     "case_id": [str(i) for i in chosen]})
    assert response.status_code == 302 and response.headers["Location"].endswith("/lead/")
    db.session.expire_all()
    decided = db.session.execute(select(Verdict.case_id, Verdict.outcome, Verdict.method)).all()
    assert sorted(decided) == sorted((i, "keep", "lead") for i in chosen)
    page = client.get("/lead/").get_data(as_text=True)
    assert "Closed 2 cases as unfounded." in page
    assert re.findall(r'name="case_id" value="(\d+)"', page) == [str(ids["escalated"])]
    # Without a reason nothing is closed, and the lead is back on the queue with the message.
    response = client.post("/lead/bulk/close", data={"note": "", "back": "queue", "case_id": [str(ids["escalated"])]})
    assert response.headers["Location"].endswith("/lead/")
    assert db.session.get(Case, ids["escalated"]).state == "escalated"


def test_an_empty_queue_says_so(app, client, lead):
    html = client.get("/lead/").get_data(as_text=True)
    assert "The queue is empty." in html and 'name="case_id"' not in html
