"""The scoring job and a report batch on the same post at once, on PostgreSQL.

The scoring job locks the posts it scores (so two jobs split them) and, with clusters on, then waits
for their clusters' locks; a report batch takes a cluster's lock and then opens a case for a post,
and a case row's reference to its post takes a key-share lock on the post's row. Had the job locked
its posts FOR UPDATE, the two would wait for each other in a circle and PostgreSQL would abort one.
The job takes FOR NO KEY UPDATE, which a reference does not wait for: the batch never waits on it."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from models import Case, Post, db
from tests.conftest import at_once
from triage import intake, transaction
from triage.schemas import PostIn, ReportIn


@pytest.mark.postgres
def test_a_report_batch_opens_a_case_for_a_post_the_scoring_job_holds(pg_app):
    intake.ingest_posts([PostIn(id="held", author_id="author-1", text="See you at the market on Sunday")])
    db.session.execute(update(Post).where(Post.external_id == "held").values(scored_at=None))
    db.session.commit()
    locked, reported = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def scoring_job():
        with transaction.atomic(durable=True):
            posts = db.session.scalars(intake._unscored(Post.external_id == "held")).all()
            seen["locked"] = len(posts) == 1
            locked.set()
            # Hold the post's lock until the report batch is done, or 10 s: with FOR UPDATE it never is.
            seen["report_while_held"] = reported.wait(10)

    def report_batch():
        locked.wait(10)
        intake.ingest_reports([ReportIn(id="r1", post_id="held", reporter_id="someone", reason="spam")])
        reported.set()

    assert at_once(pg_app, [scoring_job, report_batch]) == []
    assert seen == {"locked": True, "report_while_held": True}
    case = db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == "held"))
    assert case is not None and case.report_count == 1
