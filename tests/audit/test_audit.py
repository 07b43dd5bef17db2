"""The hash-chained audit log: written at commit, dropped on rollback, sealed into a chain, tamper-evident."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

import audit
import audit.log as audit_log
from models import AuditEvent, db


def events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_events_are_written_at_commit_vanish_on_rollback_and_join_the_chain_when_sealed(app):
    before = len(events())
    audit.record(db.session, "test_event", "thing", 1, {"n": 1})
    db.session.rollback()
    assert len(events()) == before
    audit.record(db.session, "test_event", "thing", 2, {"n": 2})
    audit.record(db.session, "test_event", "thing", 3, {"n": 3})
    db.session.commit()
    chain = events()
    assert [e.subject_id for e in chain[before:]] == ["2", "3"]
    if audit.seals_in_background(db.session):
        # PostgreSQL: written in the change's transaction, chained later by the sealer.
        assert [e.hash for e in chain[before:]] == [None, None]
        assert audit.unsealed_count(db.session) == len(chain)
        assert audit.verify_chain(db.session) == (0, None)
        assert audit.seal(db.session) == len(chain)
        chain = events()
    assert audit.unsealed_count(db.session) == 0 and audit.seal(db.session) == 0
    assert chain[-1].prev_hash == chain[-2].hash and chain[-1].seq == chain[-2].seq + 1
    assert audit.verify_chain(db.session) == (len(chain), None)


def test_a_deleted_event_breaks_the_chain_at_the_next_one(app):
    for n in range(4):
        audit.record(db.session, "test_event", "thing", n, {"n": n})
        db.session.commit()
    audit.seal(db.session)
    chain = events()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == chain[-3].id))
    db.session.commit()
    checked, broken = audit.verify_chain(db.session)
    assert broken.id == chain[-2].id and checked == len(chain) - 3


def test_a_forged_payload_is_detected(app):
    audit.record(db.session, "verdict_reached", "case", 7, {"outcome": "remove"})
    db.session.commit()
    audit.seal(db.session)
    forged = events()[-1]
    forged.payload = {"outcome": "keep"}
    db.session.commit()
    assert audit.verify_chain(db.session)[1].id == forged.id
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) >= 1


def test_sealing_on_postgresql_writes_nothing_when_an_event_in_the_batch_was_already_sealed(pg_app):
    # The batch UPDATE only touches unsealed rows; a sealer outside the chain's lock would make the
    # counts differ, and then the whole batch must be refused rather than half-written.
    audit.record(db.session, "test_event", "thing", 1, {"n": 1})
    db.session.commit()
    audit.seal(db.session)
    sealed_already = events()[-1]
    audit.record(db.session, "test_event", "thing", 2, {"n": 2})
    db.session.commit()
    fresh = events()[-1]
    rows = [{"id": sealed_already.id, "seq": 999, "prev_hash": "x" * 64, "hash": "y" * 64},
            {"id": fresh.id, "seq": 1000, "prev_hash": "y" * 64, "hash": "z" * 64}]
    with pytest.raises(RuntimeError, match="sealed 1 of 2"):
        audit_log._write_seals(db.session, rows)
    db.session.rollback()
    assert audit.unsealed_count(db.session) == 1
    assert audit.seal(db.session) == 1
    assert audit.verify_chain(db.session) == (len(events()), None)
