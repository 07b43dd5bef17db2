"""Managing jurors: states, metrics, password resets and invitations."""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

import audit
from jury.jurors import users
from jury.jurors.users import MAX_PASSWORD, MIN_PASSWORD, USERNAME_RE
from models import Assignment, Case, GoldAnswer, JurorInvite, User, Verdict, Vote, db, utcnow
from models.errors import Conflict, DomainError, Forbidden, NotFound
from triage import dealing, transaction
from triage.exclusions import EXPOSURE_WINDOW

INVITE_SALT = "jury-juror-invite"
INVITE_DAYS_MAX = 30
# (action, states it may start from, state it leads to, a reason is required)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "approve": (("probation",), "active", False),
    "pause": (("probation", "active"), "paused", False),
    "resume": (("paused",), "active", False),
    "suspend": (("probation", "active", "paused"), "suspended", True),
    "reinstate": (("suspended",), "active", True),
}


def juror_metrics(juror_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per juror: votes, agreement with verdicts, last activity; gold accuracy and exposure when known.

    The one place the jurors page reads figures from: measures added later (gold accuracy,
    exposure per category) fill the keys that are None or empty here.
    """
    ids = list(juror_ids)
    result: dict[int, dict[str, Any]] = {
        juror_id: {"votes": 0, "decided_votes": 0, "agreement": None, "gold_accuracy": None,
                   "exposure": {}, "last_vote_at": None, "last_seat_at": None}
        for juror_id in ids
    }
    if not ids:
        return result
    for juror_id, votes, last in db.session.execute(
        select(Vote.juror_id, func.count(), func.max(Vote.cast_at)).where(Vote.juror_id.in_(ids))
        .group_by(Vote.juror_id)
    ):
        result[juror_id].update(votes=votes, last_vote_at=last)
    for juror_id, decided, agreed in db.session.execute(
        select(Vote.juror_id, func.count(), func.sum(case((Vote.decision == Verdict.outcome, 1), else_=0)))
        .join(Verdict, Verdict.case_id == Vote.case_id).where(Vote.juror_id.in_(ids)).group_by(Vote.juror_id)
    ):
        result[juror_id].update(decided_votes=decided, agreement=(agreed or 0) / decided if decided else None)
    for juror_id, last in db.session.execute(
        select(Assignment.juror_id, func.max(Assignment.leased_at)).where(Assignment.juror_id.in_(ids))
        .group_by(Assignment.juror_id)
    ):
        result[juror_id]["last_seat_at"] = last
    # Gold accuracy: the share of the juror's votes on gold cases that match the expected answer.
    for juror_id, answered, right in db.session.execute(
        select(Vote.juror_id, func.count(), func.sum(case((Vote.decision == GoldAnswer.outcome, 1), else_=0)))
        .join(GoldAnswer, GoldAnswer.case_id == Vote.case_id).where(Vote.juror_id.in_(ids)).group_by(Vote.juror_id)
    ):
        result[juror_id]["gold_accuracy"] = (right or 0) / answered if answered else None
    # Exposure: cases dealt per content category over the window the daily caps count.
    for juror_id, category, dealt in db.session.execute(
        select(Assignment.juror_id, Case.category, func.count()).join(Case, Case.id == Assignment.case_id)
        .where(Assignment.juror_id.in_(ids), Case.category.is_not(None),
               Assignment.leased_at > utcnow() - EXPOSURE_WINDOW)
        .group_by(Assignment.juror_id, Case.category)
    ):
        result[juror_id]["exposure"][category] = dealt
    return result


@dataclass(frozen=True)
class JurorRow:
    """A juror as the list shows them."""

    user: User
    metrics: dict[str, Any]

    @property
    def last_seen(self) -> datetime | None:
        """The latest sign of life: a login recorded, a seat taken or a vote cast."""
        seen = [t for t in (self.user.last_seen_at, self.metrics["last_vote_at"], self.metrics["last_seat_at"]) if t]
        return max(seen) if seen else None


def list_jurors(state: str | None = None, limit: int = 500) -> list[JurorRow]:
    """Jurors (not leads or admins), optionally of one state, by name."""
    query = select(User).where(User.role == "juror").order_by(User.username).limit(limit)
    if state:
        query = query.where(User.state == state)
    users = list(db.session.scalars(query))
    metrics = juror_metrics([u.id for u in users])
    return [JurorRow(u, metrics[u.id]) for u in users]


def _juror(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("no such juror")
    if user.role != "juror":
        raise Forbidden("only juror accounts are managed here")
    return user


def change_state(user_id: int, action: str, *, reason: str, actor_id: int) -> User:
    """Approve, pause, resume, suspend or reinstate a juror, and commit; leases of a stopped juror end."""
    if action not in TRANSITIONS:
        raise DomainError(f"unknown action {action!r}")
    sources, target, needs_reason = TRANSITIONS[action]
    reason = (reason or "").strip()[:2000]
    if needs_reason and not reason:
        raise DomainError(f"to {action} a juror, give a reason")
    user = _juror(user_id)
    if user.state not in sources:
        raise Conflict(f"{user.username} is {user.state}: cannot {action}")
    with transaction.atomic():
        before = user.state
        user.state = target
        if target in ("paused", "suspended"):
            # Signed out everywhere: a copied cookie must not keep voting for a stopped juror.
            users.end_sessions(user, f"juror_{action}", actor=f"user:{actor_id}")
            # Their seats go back to the cases at once rather than when the lease runs out.
            for seat in db.session.scalars(select(Assignment).where(
                    Assignment.juror_id == user.id, Assignment.state == "active")).all():
                dealing.release(seat, "expired", actor=f"user:{actor_id}")
        audit.record(db.session, f"juror_{action}", "user", user.id,
                     {"from": before, "to": target, "reason": reason}, actor=f"user:{actor_id}")
    return user


def reset_password(user_id: int, *, actor_id: int) -> tuple[User, str]:
    """Set a random temporary password; the juror and the password (shown once, never stored in clear)."""
    user = _juror(user_id)
    temporary = secrets.token_urlsafe(12)
    with transaction.atomic():
        user.password_hash = generate_password_hash(temporary)
        audit.record(db.session, "juror_password_reset", "user", user.id, {}, actor=f"user:{actor_id}")
        users.end_sessions(user, "password_reset", actor=f"user:{actor_id}")
    return user, temporary


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=INVITE_SALT)


def create_invite(secret_key: str, *, note: str, days: int, actor_id: int) -> tuple[JurorInvite, str]:
    """A new invitation and its signed token (the link carries the token; the row makes it single-use)."""
    if not 1 <= int(days) <= INVITE_DAYS_MAX:
        raise DomainError(f"an invitation lasts 1 to {INVITE_DAYS_MAX} days")
    now = utcnow()
    invite = JurorInvite(nonce=secrets.token_urlsafe(24), note=(note or "").strip()[:200], created_by_id=actor_id,
                         created_at=now, expires_at=now + timedelta(days=int(days)))
    with transaction.atomic():
        db.session.add(invite)
        db.session.flush()
        audit.record(db.session, "juror_invited", "invite", invite.id,
                     {"note": invite.note, "expires_at": invite.expires_at.isoformat()}, actor=f"user:{actor_id}")
    return invite, _serializer(secret_key).dumps({"n": invite.nonce})


def check_invite(secret_key: str, token: str) -> JurorInvite:
    """The open invitation a token names; DomainError if forged, expired or used."""
    try:
        data = _serializer(secret_key).loads(token[:500], max_age=INVITE_DAYS_MAX * 86400)
    except SignatureExpired:
        raise DomainError("this invitation has expired") from None
    except BadSignature:
        raise NotFound("this invitation link is not valid") from None
    invite = db.session.scalar(select(JurorInvite).where(JurorInvite.nonce == str(data.get("n", ""))))
    if invite is None:
        raise NotFound("this invitation link is not valid")
    if invite.used_at is not None:
        raise Conflict("this invitation was already used")
    if invite.expires_at <= utcnow():
        raise DomainError("this invitation has expired")
    return invite


def redeem_invite(secret_key: str, token: str, username: str, password: str) -> User:
    """Create a juror on probation from an invitation, once; commits."""
    invite = check_invite(secret_key, token)
    if not USERNAME_RE.match(username or ""):
        raise DomainError("usernames are 3-40 letters, digits, '.', '_' or '-'")
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise DomainError(f"passwords need {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    try:
        with transaction.atomic():
            if users.by_username(username) is not None:
                raise Conflict(f"the username {username!r} is taken")
            user = User(username=username, password_hash=generate_password_hash(password), role="juror",
                        state="probation", languages=["en"])
            db.session.add(user)
            db.session.flush()
            # The guarded update makes the invitation single-use even when two people race on it.
            taken = db.session.execute(update(JurorInvite).where(
                JurorInvite.id == invite.id, JurorInvite.used_at.is_(None)
            ).values(used_at=utcnow(), used_by_id=user.id)).rowcount
            if not taken:
                raise Conflict("this invitation was already used")
            audit.record(db.session, "user_created", "user", user.id,
                         {"username": username, "role": "juror", "state": "probation", "invite": invite.id},
                         actor=f"invite:{invite.id}")
    except IntegrityError:
        # Someone took the same name (in any case) at the same moment (rolled back).
        raise Conflict(f"the username {username!r} is taken") from None
    return user


def recent_invites(limit: int = 50) -> list[JurorInvite]:
    """Invitations, newest first."""
    return list(db.session.scalars(select(JurorInvite).order_by(JurorInvite.id.desc()).limit(limit)))
