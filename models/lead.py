"""What the lead console keeps: shadow policies and their decisions, muted reporters, juror invites."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ShadowPolicy(Base):
    """A candidate policy that scores live traffic beside the real one, without acting, for a period."""

    __tablename__ = "shadow_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    settings: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowDecision(Base):
    """What a shadow policy would have done with one scored post, next to what the real policy did."""

    __tablename__ = "shadow_decisions"
    __table_args__ = (UniqueConstraint("shadow_id", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shadow_id: Mapped[int] = mapped_column(ForeignKey("shadow_policies.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    would_flag: Mapped[bool] = mapped_column(Boolean)
    would_hide: Mapped[bool] = mapped_column(Boolean)
    real_flag: Mapped[bool] = mapped_column(Boolean)
    real_hide: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MutedReporter(Base):
    """A network account whose reports are stored but open or raise no case (a spam wave)."""

    __tablename__ = "muted_reporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[str] = mapped_column(String(128), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    muted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    muted_at: Mapped[datetime] = mapped_column(default=utcnow)


class JurorInvite(Base):
    """A signed, expiring, single-use invitation for a new juror."""

    __tablename__ = "juror_invites"
    __table_args__ = (Index("ix_juror_invites_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
