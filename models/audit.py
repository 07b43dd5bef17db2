"""The append-only, hash-chained audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class AuditEvent(Base):
    """One state change; once sealed, `hash` covers its content and the previous event's hash.

    An event is written unsealed (no `seq`, `prev_hash` or `hash`) in the transaction of its change;
    the sealer then gives it the next place in the chain (see `audit.log`).
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        # Finds the unsealed tail without scanning the chain.
        Index("ix_audit_events_unsealed", "id", postgresql_where=text("seq IS NULL"), sqlite_where=text("seq IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(48), index=True)
    subject_type: Mapped[str] = mapped_column(String(24))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]]
    # Place in the chain, given by the sealer; the chain is walked in this order, not by id.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)
