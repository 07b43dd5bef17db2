"""Reports on one post arriving at the same moment, on PostgreSQL: each batch's case counts every
report, so a post reported by three people at once ranks like one reported by three people in turn."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from models import Case, Post, db
from tests.conftest import at_once
from triage import cases, intake
from triage.schemas import PostIn, ReportIn

TEXT = "Has anyone seen the new bridge by the harbour? The council says it opens in May."


def case_of(pid: str) -> Case:
    db.session.expire_all()
    return db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == pid))


@pytest.mark.postgres
def test_two_report_batches_on_one_post_at_once_each_count_the_others_report(pg_app, monkeypatch):
    """Each batch has stored its report, uncommitted, before either counts the post's reports (held
    at a barrier), and without a lock each would count the committed reports and its own only: the
    case would show one report short, and rank as if one reporter were missing. The post's lock makes
    the second batch wait and count all three."""
    intake.ingest_posts([PostIn(id="race", author_id="author-1", text=TEXT),
                         PostIn(id="calm", author_id="author-1", text=TEXT)])
    for pid in ("race", "calm"):
        intake.ingest_reports([ReportIn(id=f"{pid}-r0", post_id=pid, reporter_id="first", reason="spam")])
    assert case_of("race").report_count == 1 and case_of("race").post.cluster_id is None
    # The same two reports, one after the other: what the raced case must end with.
    for n in range(2):
        intake.ingest_reports([ReportIn(id=f"calm-r{n + 1}", post_id="calm", reporter_id=f"second-{n}",
                                        reason="spam")])
    calm = case_of("calm")
    assert calm.report_count == 3

    inserted = threading.Barrier(2, timeout=30)
    read = threading.Barrier(2, timeout=3)
    real_open, real_reports = cases.open_or_refresh, cases.reports_of

    def open_when_both_inserted(*args, **kwargs):
        inserted.wait()  # both batches' reports are stored, neither committed
        return real_open(*args, **kwargs)

    def reports_then_wait(post_ids):
        found = real_reports(post_ids)
        try:
            read.wait()  # without the lock both batches have counted before either writes
        except threading.BrokenBarrierError:
            pass  # with it the other batch waits for this one's commit: it never comes to read meanwhile
        return found

    monkeypatch.setattr(cases, "open_or_refresh", open_when_both_inserted)
    monkeypatch.setattr(cases, "reports_of", reports_then_wait)
    def send(n: int):
        return lambda: intake.ingest_reports([ReportIn(id=f"race-r{n + 1}", post_id="race",
                                                       reporter_id=f"second-{n}", reason="spam")])

    assert at_once(pg_app, [send(0), send(1)]) == []
    race = case_of("race")
    assert race.report_count == 3
    assert (race.severity, race.base_priority) == (calm.severity, calm.base_priority)
