"""Cases under review, the seats dealt to jurors, their votes and the verdict."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.post import Post

# "gold": a known-answer case, dealt to many jurors one at a time and never decided.
CASE_STATES = ("queued", "in_review", "decided", "actioned", "escalated", "gold")
OPEN_CASE_STATES = ("queued", "in_review")
# A panel votes blind: its votes are shown to anyone, leads included, only once it is done.
VOTES_SHOWN_STATES = ("escalated", "decided", "actioned")
CASE_ORIGINS = ("reported", "auto_flagged", "appeal", "gold")
ASSIGNMENT_STATES = ("active", "voted", "skipped", "expired")
DECISIONS = ("remove", "keep")
VERDICT_METHODS = ("quorum", "weighted", "lead", "auto")


class Case(Base):
    """The unit of review: one post, one panel, one verdict."""

    __tablename__ = "cases"
    __table_args__ = (
        # One first-round case per post; appeals get later rounds.
        UniqueConstraint("post_id", "review_round"),
        Index("ix_cases_dealing", "state", "priority"),
        # Dealing reads the top of this index only: the open cases with a free seat, by priority.
        Index("ix_cases_open_by_priority", text("priority DESC"), "id",
              postgresql_where=text("state IN ('queued', 'in_review') AND open_seats > 0"),
              sqlite_where=text("state IN ('queued', 'in_review') AND open_seats > 0")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    review_round: Mapped[int] = mapped_column(Integer, default=0)
    origin: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    severity: Mapped[int] = mapped_column(Integer, default=0)
    # Content category (a rule code) for opt-outs and exposure caps: the gravest report
    # reason, else the rule the top model label maps to; None when neither says anything.
    category: Mapped[str | None] = mapped_column(String(32), index=True)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    # priority = base_priority + an age term refreshed by the sweeper.
    base_priority: Mapped[float] = mapped_column(Float, default=0.0)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    panel_size: Mapped[int] = mapped_column(Integer)
    # Seats not yet held by a live lease or a vote; dealing takes one atomically.
    open_seats: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    sla_deadline: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    # Bumped by every vote so concurrent votes on one case serialise on its row.
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    # The critical lane (triage.critical): when the case was found to be a credible threat to life,
    # and what said so; None for every other case.
    critical_at: Mapped[datetime | None] = mapped_column(index=True)
    critical_reason: Mapped[str | None] = mapped_column(String(200))
    # One case per near-duplicate cluster (jury.panels.cluster_verdicts): the cluster this case
    # decides for. Its post is the one the jurors see; the other members waiting for review open no
    # case of their own, their reports add to this one, and its verdict is applied to each of them.
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id"), index=True)

    post: Mapped[Post] = relationship(lazy="joined")


class Assignment(Base):
    """A juror's seat on a case, held under a lease until voted, skipped or expired."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("case_id", "juror_id"),
        Index("ix_assignments_live", "state", "expires_at"),
        # One active seat per juror: two "next case" requests at once (two tabs) get the same seat.
        Index("uq_assignments_one_live_seat", "juror_id", unique=True,
              postgresql_where=text("state = 'active'"), sqlite_where=text("state = 'active'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    juror_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="active")
    leased_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    released_at: Mapped[datetime | None]


class Vote(Base):
    """One juror's blind vote on one case."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("case_id", "juror_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    juror_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    decision: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    cast_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoteDisclosure(Base):
    """A lead was shown a case's votes: they are never dealt a seat on that post again."""

    __tablename__ = "vote_disclosures"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verdict(Base):
    """The decision on a case and how it was reached."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str | None] = mapped_column(String(32))
    tally: Mapped[dict[str, Any]]
    method: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[int] = mapped_column(Integer)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    statement: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # a flood counts recent ones
    # The reliability-weighted P(violates) when decided, and every term behind it
    # (prior, each vote's juror matrix and weight); recorded whatever the method.
    posterior: Mapped[float | None] = mapped_column(Float)
    weights: Mapped[dict[str, Any] | None]
    # The verdict's consequences (network actions, the posterior when the method did not need
    # it, a retraining check) run in a job after the deciding vote: when it was queued, and done.
    follow_up_enqueued_at: Mapped[datetime | None]
    followed_up_at: Mapped[datetime | None] = mapped_column(index=True)
    # The opaque name an appeal link carries (jury.appeal_links): random, so a link reveals no
    # sequential id. Verdicts from before it existed keep links that name their id.
    appeal_ref: Mapped[str | None] = mapped_column(String(32), index=True, unique=True,
                                                   default=lambda: secrets.token_urlsafe(16))
    # A cluster member's verdict (method "cluster"): the verdict on its cluster's case it follows.
    source_verdict_id: Mapped[int | None] = mapped_column(ForeignKey("verdicts.id"), index=True)

    case: Mapped[Case] = relationship()
