"""Accounts: creation, password checks, and loading for Flask-Login."""
from __future__ import annotations

import re

from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

import audit
from jury import lockout
from jury.errors import Conflict, DomainError
from jury.extensions import db
from models import ROLES, User, utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD = 10
# Compared against when the user does not exist, so a login takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


# Built once: every logged-in request runs it (session.get assembles its query each time).
_USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user by id, if still allowed in."""
    if not user_id.isdigit():
        return None
    return db.session.scalar(_USER_BY_ID, {"user_id": int(user_id)})


def create_user(username: str, password: str, role: str = "juror", *, network_account_id: str | None = None,
                languages: list[str] | None = None, actor: str = "admin") -> User:
    """Create an account with a hashed password."""
    if not USERNAME_RE.match(username):
        raise DomainError("usernames are 3-40 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise DomainError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"passwords need at least {MIN_PASSWORD} characters")
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists")
    # New jurors start on probation: gold cases only until they pass (see jury/gold.py).
    state = "probation" if role == "juror" else "active"
    user = User(username=username, password_hash=generate_password_hash(password), role=role, state=state,
                network_account_id=network_account_id, languages=languages or ["en"],
                state_reason="new juror: known-answer cases first" if state == "probation" else None,
                state_changed_at=utcnow())
    db.session.add(user)
    db.session.flush()
    audit.record(db.session, "user_created", "user", user.id, {"username": username, "role": role, "state": state}, actor=actor)
    db.session.commit()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user if the password matches and the account may log in and is not locked out."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    # The hash is checked even for a locked account, so timing does not tell locked from wrong.
    matches = check_password_hash(user.password_hash, password)
    if lockout.is_locked(user):
        return None
    if not matches:
        lockout.record_failure(user)
        return None
    if not user.is_active:
        return None
    lockout.record_success(user)
    return user
