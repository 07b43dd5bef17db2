"""Store batches of posts and reports from the network, idempotently and all-or-nothing."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from sqlalchemy import select

import audit
from models import Account, Post, Report, db, utcnow
from models.sql import insert_ignore, upsert_filling
from triage import cases, jobs, transaction
from triage.policy import current_policy
from triage.schemas import IntakeError, PostIn, ReportIn

SCORING_CHUNK = 100


@dataclass(frozen=True)
class IntakeCounts:
    """What a batch did: how many items came, how many were new, how many were repeats."""

    received: int
    created: int
    duplicates: int
    posts_created: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return asdict(self)


def content_hash(text: str) -> str:
    """SHA-256 of the text a juror reviews, so a later edit is detectable."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _post_row(post: PostIn, now) -> dict:
    return {
        "external_id": post.id, "author_id": post.author_id, "text": post.text,
        "lang": post.lang, "url": post.url, "created_at": post.created_at, "received_at": now,
        "state": "visible", "content_hash": content_hash(post.text), "score_requested_at": now,
    }


def _store_posts(posts: list[PostIn]) -> list[int]:
    """Insert new posts (first occurrence of each id wins) and their authors' accounts; return the new posts' ids."""
    _store_authors(posts)
    now = utcnow()
    unique: dict[str, PostIn] = {}
    for post in posts:
        unique.setdefault(post.id, post)
    return insert_ignore(Post, [_post_row(p, now) for p in unique.values()], ("external_id",), Post.id)


def _store_authors(posts: list[PostIn]) -> None:
    """An account for each author not seen before; a handle or display name sent now fills or updates it.

    Within a batch the last handle (and display name) sent for an author wins, as it would across
    batches. Sorted by id, so two batches that share authors lock their rows in the same order.
    """
    now = utcnow()
    authors: dict[str, dict] = {}
    for post in posts:
        row = authors.setdefault(post.author_id, {
            "external_id": post.author_id, "handle": None, "display_name": None, "state": "active",
            "created_at": now, "updated_at": now})
        row["handle"] = post.author_handle or row["handle"]
        row["display_name"] = post.author_display_name or row["display_name"]
    upsert_filling(Account, [authors[key] for key in sorted(authors)], ("external_id",),
                   fill_columns=("handle", "display_name"), touch_columns=("updated_at",))


def _defer_scoring(post_ids: list[int]) -> None:
    """Have the new posts scored: by the scoring job already waiting to start, or a new one."""
    if post_ids:
        jobs.defer_coalesced("scoring", "jury.tasks.handlers.score_waiting", key=jobs.SCORE_WAITING_KEY)


def ingest_posts(posts: list[PostIn], actor: str = "network") -> IntakeCounts:
    """Store a batch of posts and queue the new ones for scoring."""
    with transaction.atomic():
        new_ids = _store_posts(posts)
        if new_ids:
            audit.record(db.session, "posts_received", "batch", new_ids[0], {
                "post_ids": new_ids, "received": len(posts)}, actor=actor)
        _defer_scoring(new_ids)
    return IntakeCounts(received=len(posts), created=len(new_ids), duplicates=len(posts) - len(new_ids))


def ingest_reports(reports: list[ReportIn], actor: str = "network") -> IntakeCounts:
    """Store a batch of reports (and the posts they carry) and open or re-rank their cases."""
    with transaction.atomic():
        new_post_ids = _store_posts([r.post for r in reports if r.post is not None])
        wanted = {r.post_id for r in reports}
        known = dict(db.session.execute(
            select(Post.external_id, Post.id).where(Post.external_id.in_(wanted))
        ).all())
        for index, report in enumerate(reports):
            if report.post_id not in known:
                raise IntakeError(f"reports[{index}].post_id",
                                  "unknown post: send it first or include it as 'post'")
        now = utcnow()
        unique: dict[str, ReportIn] = {}
        for report in reports:
            unique.setdefault(report.id, report)
        rows = [{
            "external_id": r.id, "post_id": known[r.post_id], "reporter_id": r.reporter_id,
            "reason": r.reason, "comment": r.comment, "received_at": now,
        } for r in unique.values()]
        new_report_ids = insert_ignore(Report, rows, ("external_id",), Report.id)
        reported_posts: list[int] = []
        if new_report_ids:
            reported_posts = list(db.session.scalars(
                select(Report.post_id).where(Report.id.in_(new_report_ids), cases.reporter_not_muted()).distinct()
            ))
            audit.record(db.session, "reports_received", "batch", new_report_ids[0], {
                "report_ids": new_report_ids, "post_ids": reported_posts}, actor=actor)
            cases.open_or_refresh(reported_posts, "reported", current_policy(), actor)
        _defer_scoring(new_post_ids)
    return IntakeCounts(received=len(reports), created=len(new_report_ids),
                        duplicates=len(reports) - len(new_report_ids), posts_created=len(new_post_ids))
