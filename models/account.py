"""The authors of posts as accounts on the network, and the strikes their removed posts earned."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# What the network was last asked to do to the account: nothing, a warning, a suspension until
# `suspended_until`, or a permanent suspension.
ACCOUNT_STATES = ("active", "warned", "suspended", "banned")
# Networks spell handles and display names their own way; these caps hold Mastodon's
# "user@domain" (30 + 1 + 253 characters) and any display name a screen can show.
HANDLE_MAX_CHARS = 300
DISPLAY_NAME_MAX_CHARS = 200


class Account(Base):
    """An author on the network, created at intake the first time one of their posts arrives."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The network's id for the account (a post's author_id).
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    handle: Mapped[str | None] = mapped_column(String(HANDLE_MAX_CHARS), index=True)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX_CHARS))
    state: Mapped[str] = mapped_column(String(16), default="active")
    # Set with state "suspended"; a permanent suspension (banned) has none.
    suspended_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Strike(Base):
    """The weight one removal adds to its author's record, until it expires or is withdrawn."""

    __tablename__ = "strikes"
    __table_args__ = (Index("ix_strikes_account_expiry", "account_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # One strike per removal: a verdict processed twice (a job run again) cannot add a second.
    verdict_id: Mapped[int] = mapped_column(ForeignKey("verdicts.id"), unique=True)
    rule: Mapped[str] = mapped_column(String(32))
    weight: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # An overturned removal (an upheld appeal) withdraws its strike; the row stays as history.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
