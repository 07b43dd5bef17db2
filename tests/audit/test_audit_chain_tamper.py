"""`flask audit verify` names the first broken event after an edit, a deletion, a reordering or a forged insert.

The chain's order is each event's `seq` (its place, given when it is sealed), so the forgeries below
move and forge `seq` as an attacker with write access to the table would.
"""
from __future__ import annotations

from sqlalchemy import delete, insert, select, update

import audit
from audit.log import event_hash
from models import AuditEvent, db, utcnow


def chain(n: int = 6) -> list[AuditEvent]:
    """n committed events, one transaction each, like real state changes."""
    for index in range(n):
        audit.record(db.session, "test_event", "thing", index, {"n": index, "note": f"event {index}"})
        db.session.commit()
    audit.seal(db.session)
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def verify(runner):
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_an_intact_chain_passes_and_prints_its_head(app, runner):
    events = chain()
    code, output = verify(runner)
    assert code == 0, output
    assert f"intact: {len(events)} events" in output and events[-1].hash in output


def test_an_edited_event_is_named(app, runner):
    events = chain()
    target = events[2]
    db.session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(payload={"n": 99}))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"broken at event {target.id} (test_event)" in output
    assert "2 events before it are intact" in output


def test_an_edited_actor_or_timestamp_is_named(app, runner):
    events = chain()
    db.session.execute(update(AuditEvent).where(AuditEvent.id == events[4].id).values(actor="user:666"))
    db.session.commit()
    assert f"broken at event {events[4].id}" in verify(runner)[1]
    db.session.execute(update(AuditEvent).where(AuditEvent.id == events[1].id)
                       .values(created_at=events[1].created_at.replace(year=2020)))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"broken at event {events[1].id}" in output


def test_a_deleted_event_is_named_at_its_successor(app, runner):
    events = chain()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == events[3].id))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"broken at event {events[4].id}" in output


def test_deleting_the_newest_event_changes_the_published_head(app, runner):
    events = chain()
    published = audit.chain_head(db.session)
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == events[-1].id))
    db.session.commit()
    # The walk cannot see a truncated tail; the head printed on earlier exports can.
    assert verify(runner)[0] == 0
    assert audit.chain_head(db.session) != published


def test_two_swapped_events_are_named(app, runner):
    events = chain()
    first, second, free = events[2], events[3], events[-1].seq + 1000
    # Swap the two rows' places in the chain (their seq) through a free place.
    for event_id, seq in ((first.id, free), (second.id, first.seq), (first.id, second.seq)):
        db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(seq=seq))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"broken at event {second.id}" in output


def test_an_event_inserted_out_of_order_is_named(app, runner):
    events = chain()
    # A forged event that claims to follow event 2, appended at the end with a self-consistent hash.
    created = utcnow()
    payload = {"n": "forged"}
    forged_hash = event_hash(events[1].hash, created, "system", "test_event", "thing", "forged", payload)
    db.session.execute(insert(AuditEvent).values(
        created_at=created, actor="system", event_type="test_event", subject_type="thing", subject_id="forged",
        payload=payload, seq=events[-1].seq + 1, prev_hash=events[1].hash, hash=forged_hash))
    db.session.commit()
    forged = db.session.scalar(select(AuditEvent).where(AuditEvent.subject_id == "forged"))
    code, output = verify(runner)
    assert code == 1 and f"broken at event {forged.id}" in output
    assert f"{len(events)} events before it are intact" in output


def test_an_event_inserted_in_the_middle_is_named(app, runner):
    events = chain()
    # Make room between events 3 and 4 by moving the tail's places up, then slip a forged row into the gap.
    for event in reversed(events[3:]):
        db.session.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(seq=event.seq + 100))
    created = utcnow()
    forged_hash = event_hash(events[2].hash, created, "system", "test_event", "thing", "slipped", {})
    db.session.execute(insert(AuditEvent).values(
        seq=events[2].seq + 1, created_at=created, actor="system", event_type="test_event", subject_type="thing",
        subject_id="slipped", payload={}, prev_hash=events[2].hash, hash=forged_hash))
    db.session.commit()
    # The forged row chains onto event 3, so the walk breaks at the genuine event after it.
    code, output = verify(runner)
    assert code == 1 and f"broken at event {events[3].id}" in output
