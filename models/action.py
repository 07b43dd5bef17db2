"""The outbox: operations to apply on the network, delivered with retries."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, PortableJSON, utcnow

# pending: waiting for a worker; sending: claimed by one; failed: waiting to retry;
# sent: the network accepted it; dead: the network refused it for good.
ACTION_STATES = ("pending", "sending", "failed", "sent", "dead")


class Action(Base):
    """One network operation (an outbox row) with its idempotency key."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    verdict_id: Mapped[int | None] = mapped_column(ForeignKey("verdicts.id"), index=True)
    type: Mapped[str] = mapped_column(String(24))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    post_external_id: Mapped[str | None] = mapped_column(String(128))
    # Indexed: a removal counts the author's earlier removals (the Mastodon strike ladder).
    account_external_id: Mapped[str | None] = mapped_column(String(128), index=True)
    rule: Mapped[str | None] = mapped_column(String(32))
    statement: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When a job was last handed to the queue or a worker claimed it: lets the
    # sweeper tell a lost job from one still in flight.
    enqueued_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # Account actions only (warn_account, suspend_account, unsuspend_account): the suspension's days
    # (None: permanent, or not a suspension), the account's active strikes behind the measure and
    # the ids of their verdicts (removals), the one that crossed the threshold last.
    duration_days: Mapped[int | None] = mapped_column(Integer)
    strike_count: Mapped[int | None] = mapped_column(Integer)
    verdict_ids: Mapped[list[Any] | None] = mapped_column(PortableJSON)
