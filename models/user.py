"""Jurors, leads and admins."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

ROLES = ("juror", "lead", "admin")
USER_STATES = ("probation", "active", "paused", "suspended")
LOCALES = ("en", "fr")


class User(Base):
    """A person who logs in: a volunteer juror, a trust-and-safety lead or an admin."""

    __tablename__ = "users"
    # "Juror" and "juror" are one name: a look-alike account must not sit beside the real one.
    __table_args__ = (Index("uq_users_username_lower", text("lower(username)"), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="juror")
    state: Mapped[str] = mapped_column(String(16), default="active")
    # The person's own account on the network, so they are never dealt their own posts
    # or posts they reported.
    network_account_id: Mapped[str | None] = mapped_column(String(128), index=True)
    languages: Mapped[list[str]] = mapped_column(default=lambda: ["en"])
    # Interface language chosen on the profile page; None follows the browser.
    locale: Mapped[str | None] = mapped_column(String(8))
    # Rule codes (content categories) this juror asked never to be dealt.
    opted_out_categories: Mapped[list[str]] = mapped_column(default=list)
    # Why the state last changed (shown to the juror when paused) and when.
    state_reason: Mapped[str | None] = mapped_column(String(255))
    state_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    # Failed logins since the last success or lock, and when a lock ends (jury/jurors/lockout.py).
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    # Part of every session and remember-me cookie of this account (see get_id): a new value on
    # logout, a password change or reset, a suspension or pause, or a role change ends them all.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_urlsafe(24),
                                               server_default="")

    # Flask-Login's protocol, written out so models stay free of Flask.
    @property
    def is_authenticated(self) -> bool:
        """Every stored user is authenticated once loaded by the login manager."""
        return True

    @property
    def is_active(self) -> bool:
        """Suspended users cannot log in."""
        return self.state != "suspended"

    @property
    def is_anonymous(self) -> bool:
        """A stored user is never anonymous."""
        return False

    def get_id(self) -> str:
        """The session key Flask-Login stores: the id and the account's current session token.

        Flask-Login keeps this in the signed session cookie (and the remember-me cookie); the
        loader accepts it only while the token is still the account's (jury.jurors.users.load_user).
        """
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        """Make every session and remember-me cookie issued so far useless (caller commits)."""
        self.session_token = secrets.token_urlsafe(24)

    @property
    def is_lead(self) -> bool:
        """Leads and admins may decide escalations and see dead letters."""
        return self.role in ("lead", "admin")

    def __repr__(self) -> Any:
        return f"<User {self.id} {self.username} {self.role}>"
