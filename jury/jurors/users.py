"""Accounts: creation, password checks, and loading for Flask-Login."""
from __future__ import annotations

import hmac
import re
import time

from flask import current_app, session
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

import audit
from jury.jurors import lockout
from models import ROLES, User, db, utcnow
from models.errors import Conflict, DomainError, NotFound
from triage import transaction

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# Compared against when the user does not exist, so a login takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


# Built once: every logged-in request runs it (session.get assembles its query each time).
_USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


# When the session began (unix seconds), kept in the signed session cookie beside Flask-Login's id.
SESSION_STARTED = "_jury_auth_at"


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the user whose current session token the cookie carries, if still allowed in.

    The cookie holds "<id>:<token>" (User.get_id). A token replaced since (logout, password change
    or reset, suspension, pause, role change) loads nobody, nor does a session older than its
    role's lifetime, so the browser is sent to the login page.
    """
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.scalar(_USER_BY_ID, {"user_id": int(user_id)})
    if user is None or not user.session_token or not hmac.compare_digest(user.session_token, token):
        return None
    if not user.is_active or _expired(user):
        return None
    return user


def session_lifetime_seconds(user: User) -> float:
    """How long a login lasts for this account's role (SESSION_HOURS, LEAD_SESSION_HOURS)."""
    hours = current_app.config["LEAD_SESSION_HOURS" if user.is_lead else "SESSION_HOURS"]
    return float(hours) * 3600


def _expired(user: User) -> bool:
    started = session.get(SESSION_STARTED)
    if not isinstance(started, int):
        # Every login marks its start (begin_session); a session without it was not made by one
        # (Jury issues no remember-me cookies, so one restored from such a cookie is refused too).
        return True
    return time.time() - started > session_lifetime_seconds(user)


def begin_session(user: User) -> None:
    """Mark the start of a login in the session, with a fresh CSRF token (the view calls login_user)."""
    if not user.session_token:
        with transaction.atomic():
            user.end_sessions()
    # A CSRF token seen before login (on a shared computer, say) must not outlive it.
    session.pop("csrf_token", None)
    session[SESSION_STARTED] = int(time.time())


def end_sessions(user: User, reason: str, actor: str) -> None:
    """End every session of the account, with an audit event (the caller's transaction when it has one)."""
    with transaction.atomic():
        user.end_sessions()
        audit.record(db.session, "sessions_ended", "user", user.id, {"reason": reason}, actor=actor)


def change_password(user: User, current: str, new: str, repeat: str) -> None:
    """The account holder sets a new password; every other session ends, and this browser's starts
    again under the account's new session token (the caller logs the user in again). Commits."""
    if not check_password_hash(user.password_hash, current or ""):
        raise DomainError("the current password is not right")
    if new != repeat:
        raise DomainError("the two new passwords differ")
    if not MIN_PASSWORD <= len(new or "") <= MAX_PASSWORD:
        raise DomainError(f"passwords need {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if check_password_hash(user.password_hash, new):
        raise DomainError("the new password must differ from the current one")
    with transaction.atomic():
        user.password_hash = generate_password_hash(new)
        end_sessions(user, "password_changed", actor=f"user:{user.id}")
        audit.record(db.session, "password_changed", "user", user.id, {}, actor=f"user:{user.id}")
    begin_session(user)


def set_role(username: str, role: str, *, actor: str) -> User:
    """Give an account another role; its sessions end (a lead's powers must not linger). Commits."""
    if role not in ROLES:
        raise DomainError(f"role must be one of {', '.join(ROLES)}")
    user = by_username(username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    if user.role == role:
        return user
    with transaction.atomic():
        before, user.role = user.role, role
        audit.record(db.session, "role_changed", "user", user.id, {"from": before, "to": role}, actor=actor)
        end_sessions(user, "role_changed", actor=actor)
    return user


def by_username(username: str) -> User | None:
    """The account with this name, whatever its case."""
    return db.session.scalar(select(User).where(func.lower(User.username) == (username or "").lower()))


def create_user(username: str, password: str, role: str = "juror", *, network_account_id: str | None = None,
                languages: list[str] | None = None, actor: str = "admin") -> User:
    """Create an account with a hashed password."""
    if not USERNAME_RE.match(username):
        raise DomainError("usernames are 3-40 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise DomainError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"passwords need at least {MIN_PASSWORD} characters")
    if by_username(username) is not None:
        raise Conflict(f"user {username!r} already exists")
    # New jurors start on probation: gold cases only until they pass (see triage/gold.py).
    state = "probation" if role == "juror" else "active"
    user = User(username=username, password_hash=generate_password_hash(password), role=role, state=state,
                network_account_id=network_account_id, languages=languages or ["en"],
                state_reason="new juror: known-answer cases first" if state == "probation" else None,
                state_changed_at=utcnow())
    try:
        with transaction.atomic():
            db.session.add(user)
            db.session.flush()
            audit.record(db.session, "user_created", "user", user.id,
                         {"username": username, "role": role, "state": state}, actor=actor)
    except IntegrityError:
        # Someone took the same name (in any case) at the same moment (rolled back).
        raise Conflict(f"user {username!r} already exists") from None
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user if the password matches and the account may log in and is not locked out."""
    user = by_username(username)
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
