"""Append audit events to a hash chain inside the caller's transaction."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from models import AuditEvent, utcnow

GENESIS_HASH = "0" * 64
# Any constant works; it names the PostgreSQL advisory lock that orders appends.
_CHAIN_LOCK_KEY = 0x4A555259
_PENDING_KEY = "audit_pending_events"


@dataclass(frozen=True)
class EventSpec:
    """What to record: the change, on what, by whom."""

    event_type: str
    subject_type: str
    subject_id: str | int
    payload: dict[str, Any]
    actor: str = "system"


def event_hash(prev_hash: str, created_at: datetime, actor: str, event_type: str,
               subject_type: str, subject_id: str, payload: dict[str, Any]) -> str:
    """Hash an event's content together with the previous event's hash."""
    body = json.dumps(
        {
            "prev": prev_hash,
            "at": created_at.isoformat(),
            "actor": actor,
            "type": event_type,
            "subject": [subject_type, subject_id],
            "payload": payload,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    """Serialise appends so the chain never forks under concurrent transactions.

    The lock is held to the end of the transaction, so it is taken at commit time only.
    SQLite already serialises writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})


def record_many(session: Session, specs: Iterable[EventSpec]) -> None:
    """Add events to the current transaction; they join the chain, in order, when it commits.

    Writing them at commit keeps the chain's global lock to the last moment of each
    transaction instead of from its first state change.
    """
    now = utcnow()
    pending = session.info.setdefault(_PENDING_KEY, [])
    pending.extend((now, spec) for spec in specs)


def record(session: Session, event_type: str, subject_type: str, subject_id: str | int,
           payload: dict[str, Any] | None = None, actor: str = "system") -> None:
    """Add one event to the current transaction (written to the chain at commit)."""
    record_many(session, [EventSpec(event_type, subject_type, subject_id, payload or {}, actor)])


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    """Append the transaction's events to the chain just before it commits."""
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    session.flush()
    _lock_chain(session)
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS_HASH
    rows = []
    for created_at, spec in pending:
        payload = json.loads(json.dumps(spec.payload, default=str))
        digest = event_hash(prev, created_at, spec.actor, spec.event_type, spec.subject_type,
                            str(spec.subject_id), payload)
        rows.append({"created_at": created_at, "actor": spec.actor, "event_type": spec.event_type,
                     "subject_type": spec.subject_type, "subject_id": str(spec.subject_id),
                     "payload": payload, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEvent), rows)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    """Events of a rolled-back transaction never happened."""
    session.info.pop(_PENDING_KEY, None)


def verify_chain(session: Session, batch: int = 5000) -> tuple[int, AuditEvent | None]:
    """Walk the chain in order; return (events checked, first broken event or None)."""
    prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return checked, None
        for event in rows:
            expected = event_hash(prev, event.created_at, event.actor, event.event_type,
                                  event.subject_type, event.subject_id, event.payload)
            if event.prev_hash != prev or event.hash != expected:
                return checked, event
            prev = event.hash
            checked += 1
            last_id = event.id


def chain_head(session: Session) -> tuple[int, str]:
    """(id, hash) of the newest event: printed on every export so a reader can check it later."""
    row = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    return (row.id, row.hash) if row else (0, GENESIS_HASH)
