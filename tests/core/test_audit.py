"""The hash-chained audit log: written at commit, dropped on rollback, tamper-evident."""
from __future__ import annotations

from sqlalchemy import delete, func, select

import audit
from jury.extensions import db
from models import AuditEvent


def events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_events_join_the_chain_at_commit_and_vanish_on_rollback(app):
    before = len(events())
    audit.record(db.session, "test_event", "thing", 1, {"n": 1})
    db.session.rollback()
    assert len(events()) == before
    audit.record(db.session, "test_event", "thing", 2, {"n": 2})
    audit.record(db.session, "test_event", "thing", 3, {"n": 3})
    db.session.commit()
    chain = events()
    assert [e.subject_id for e in chain[before:]] == ["2", "3"]
    assert chain[-1].prev_hash == chain[-2].hash
    assert audit.verify_chain(db.session) == (len(chain), None)


def test_a_deleted_event_breaks_the_chain_at_the_next_one(app):
    for n in range(4):
        audit.record(db.session, "test_event", "thing", n, {"n": n})
        db.session.commit()
    chain = events()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == chain[-3].id))
    db.session.commit()
    checked, broken = audit.verify_chain(db.session)
    assert broken.id == chain[-2].id and checked == len(chain) - 3


def test_a_forged_payload_is_detected(app):
    audit.record(db.session, "verdict_reached", "case", 7, {"outcome": "remove"})
    db.session.commit()
    forged = events()[-1]
    forged.payload = {"outcome": "keep"}
    db.session.commit()
    assert audit.verify_chain(db.session)[1].id == forged.id
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 1
