"""Account lockout after repeated failed logins, counted in the database so every web process agrees.

The rate limit on POST /login slows one address down; the lockout protects one account from many
addresses. Callers never learn whether an account is locked: the login page says the same thing
for a wrong password, an unknown name and a locked account.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import update

import audit
from models import User, db, utcnow
from models.errors import NotFound
from triage import transaction


def is_locked(user: User) -> bool:
    """Whether the account is inside a lockout period now."""
    return user.locked_until is not None and user.locked_until > utcnow()


def record_failure(user: User) -> None:
    """Count a failed login; the Nth failure in a row locks the account and writes an audit event."""
    if is_locked(user):
        return  # attempts during a lock neither count nor extend it
    with transaction.atomic():
        # An atomic increment: parallel guesses from many addresses must not lose counts.
        db.session.execute(update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1))
        db.session.refresh(user)  # the row as it is now that this transaction holds its lock
        now = utcnow()
        if user.locked_until is not None:
            if user.locked_until > now:
                return  # a parallel attempt locked it meanwhile: one lock, one audit event
            # The previous lock ran out: this failure starts a fresh count.
            user.failed_logins, user.locked_until = 1, None
        if user.failed_logins >= current_app.config["LOGIN_LOCKOUT_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            audit.record(db.session, "account_locked", "user", user.id,
                         {"failures": user.failed_logins, "locked_until": user.locked_until.isoformat()})


def record_success(user: User) -> None:
    """A successful login clears the failure count (written only when there is one)."""
    if user.failed_logins or user.locked_until is not None:
        with transaction.atomic():
            user.failed_logins, user.locked_until = 0, None


def unlock(user_id: int, actor: str) -> User:
    """A lead or admin lifts a lockout (and the failure count) before it ends; audited."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    was_locked = is_locked(user)
    with transaction.atomic():
        user.failed_logins, user.locked_until = 0, None
        audit.record(db.session, "account_unlocked", "user", user.id, {"was_locked": was_locked}, actor=actor)
    return user
