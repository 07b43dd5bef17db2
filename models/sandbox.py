"""Storage of the built-in sandbox network (a stand-in for a real social network)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class SandboxPost(Base):
    """A post on the sandbox network and what that network currently shows."""

    __tablename__ = "sandbox_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    author_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="visible")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SandboxAction(Base):
    """A moderation action the sandbox network received, kept once per idempotency key."""

    __tablename__ = "sandbox_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(24))
    post_id: Mapped[str | None] = mapped_column(String(128))
    account_id: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxFollow(Base):
    """One sandbox account following another (the sandbox tells Jury, for fair panels)."""

    __tablename__ = "sandbox_follows"

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[str] = mapped_column(String(128), index=True)
    followed_id: Mapped[str] = mapped_column(String(128), index=True)
