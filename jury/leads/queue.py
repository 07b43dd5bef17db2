"""The lead's queue: every case waiting for jurors or for a lead, a page at a time, each with what a lead
decides on at a glance (the post's excerpt, its reports by reason, its latest scores, its cluster's size,
its deadline).

Read-only, and a page costs four queries whatever its length: the open cases counted by state (an
index range: the decided ones, which grow with every day, are not counted), the network
actions the network refused for good, the page of cases (its ids sorted first, then each with its post,
its post's cluster and its latest scores, joined), and the page's reports grouped by post and reason;
and whether the queue is a flood (triage.flood: two counts, read at most once a minute per process).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case as when_then
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from models import Action, Case, Cluster, Post, Report, Score, db, utcnow
from triage import flood
from triage.policy import current_policy

# What the queue holds: the escalations waiting for a lead first, then the cases waiting for jurors.
QUEUE_STATES = ("escalated", "queued", "in_review")
PAGE_SIZE = 50
# A post can be 20,000 characters: the queue shows its start, on one line.
EXCERPT_CHARS = 280
SCORES_SHOWN = 3

# The latest scores of the row's post (a post may be scored by several model versions).
_LATEST_SCORE_ID = (select(Score.id).where(Score.post_id == Post.id).correlate_except(Score)
                    .order_by(Score.scored_at.desc(), Score.id.desc()).limit(1).scalar_subquery())


@dataclass(frozen=True)
class QueueRow:
    """One case as the queue shows it."""

    case: Case  # its post loaded with it
    excerpt: str
    truncated: bool  # the excerpt is not the whole post
    reasons: list[tuple[str, int]]  # (report reason code, how many), most frequent first
    scores: list[tuple[str, float]]  # (score label, probability), highest first
    cluster_size: int | None  # None: the post is in no near-duplicate cluster
    minutes_left: float  # until the SLA deadline; negative once it is past

    @property
    def reports(self) -> int:
        return sum(count for _, count in self.reasons)

    @property
    def overdue(self) -> bool:
        return self.minutes_left < 0


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, and the counts of every case state."""

    rows: list[QueueRow]
    page: int
    pages: int
    total: int  # cases in the queue, on every page
    by_state: dict[str, int]  # the open cases (QUEUE_STATES) by state
    dead_actions: int  # network actions refused for good, waiting for a lead on the failed actions page
    now: datetime
    pace: flood.Queue | None = None  # cases decided in the policy's flood.queue_hours (read once a minute)
    flooded: bool = False  # more cases open than the jury decided in that time


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> tuple[str, bool]:
    """The start of a post on one line (runs of whitespace made one space), and whether it was cut."""
    flat = " ".join((text or "").split())
    return (flat[:limit], True) if len(flat) > limit else (flat, False)


def queue_page(page: int = 1, page_size: int = PAGE_SIZE, now: datetime | None = None) -> QueuePage:
    """The queue's `page` (from 1; clamped to the pages there are), escalations first, then by priority."""
    now = now or utcnow()
    by_state = dict(db.session.execute(select(Case.state, func.count()).where(Case.state.in_(QUEUE_STATES))
                                       .group_by(Case.state)).all())
    dead = db.session.scalar(select(func.count()).select_from(Action).where(Action.state == "dead")) or 0
    total = sum(by_state.get(state, 0) for state in QUEUE_STATES)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    # The page's case ids first, sorted on three narrow columns: sorting whole rows, their posts and
    # scores joined, cost 0.4 s at 100,000 open cases on PostgreSQL (0.03 s this way).
    order = (when_then((Case.state == "escalated", 0), else_=1), Case.priority.desc(), Case.id)
    page_ids = (select(Case.id).where(Case.state.in_(QUEUE_STATES)).order_by(*order)
                .offset((page - 1) * page_size).limit(page_size).subquery())
    found = db.session.execute(
        select(Case, Cluster.member_count, Score.labels)
        .join(page_ids, page_ids.c.id == Case.id)
        .join(Post, Post.id == Case.post_id)
        .outerjoin(Cluster, Cluster.id == Post.cluster_id)
        .outerjoin(Score, Score.id == _LATEST_SCORE_ID)
        .order_by(*order)
        .options(contains_eager(Case.post))).all()
    reasons = _reasons([case.post_id for case, _, _ in found])
    rows = [_row(case, size, labels, reasons.get(case.post_id, []), now) for case, size, labels in found]
    settings = current_policy().flood
    pace = flood.queue(float(settings["queue_hours"]))
    flooded = pace.is_flood(int(settings["min_open_cases"]))
    return QueuePage(rows, page, pages, total, by_state, dead, now, pace, flooded)


def _reasons(post_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Each post's reports counted by reason, most frequent first (one grouped query for the page)."""
    if not post_ids:
        return {}
    grouped: dict[int, list[tuple[str, int]]] = {}
    for post_id, reason, count in db.session.execute(
            select(Report.post_id, Report.reason, func.count()).where(Report.post_id.in_(post_ids))
            .group_by(Report.post_id, Report.reason)):
        grouped.setdefault(post_id, []).append((reason, count))
    return {post_id: sorted(rows, key=lambda row: (-row[1], row[0])) for post_id, rows in grouped.items()}


def _row(case: Case, cluster_size: int | None, labels: dict | None, reasons: list[tuple[str, int]],
         now: datetime) -> QueueRow:
    text, cut = excerpt(case.post.text)
    scores = sorted(((str(label), float(value)) for label, value in (labels or {}).items()
                     if isinstance(value, int | float) and not isinstance(value, bool)),
                    key=lambda item: (-item[1], item[0]))[:SCORES_SHOWN]
    return QueueRow(case, text, cut, reasons, scores, cluster_size if case.post.cluster_id else None,
                    (case.sla_deadline - now).total_seconds() / 60)
