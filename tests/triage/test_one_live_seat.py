"""One active seat per juror (uq_assignments_one_live_seat): dealing, a run-out lease, migration 0010."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

import audit
from jury import create_app
from models import Assignment, AuditEvent, Case, Post, db, utcnow
from tests.conftest import base_config, post_payload, report_payload
from triage import dealing


def _open_cases(api, count: int) -> list[int]:
    api.posts(*[post_payload(f"p{i}", f"post number {i}") for i in range(count)])
    api.reports(*[report_payload(f"r{i}", f"p{i}") for i in range(count)])
    return list(db.session.scalars(select(Case.id).order_by(Case.id)))


def _active_seats(juror_id: int) -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(Assignment.case_id).where(
        Assignment.juror_id == juror_id, Assignment.state == "active")))


def test_the_database_refuses_a_second_active_seat_for_a_juror(api, make_user):
    ids = _open_cases(api, 2)
    ann = make_user("ann")
    first = dealing.deal_next(ann)
    now = utcnow()
    other = next(i for i in ids if i != first.case_id)
    db.session.add(Assignment(case_id=other, juror_id=ann.id, state="active", leased_at=now,
                              expires_at=now + timedelta(minutes=5)))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Held seats that are over (voted, skipped, expired) do not count.
    db.session.add(Assignment(case_id=other, juror_id=ann.id, state="skipped", leased_at=now, expires_at=now))
    db.session.commit()
    assert _active_seats(ann.id) == [first.case_id]


def test_a_juror_whose_lease_ran_out_unswept_is_dealt_anew_and_the_old_seat_goes_back(api, make_user):
    ids = _open_cases(api, 3)
    ann = make_user("ann")
    first = dealing.deal_next(ann)
    panel = db.session.get(Case, first.case_id).panel_size
    db.session.execute(text("UPDATE assignments SET expires_at = :past"), {"past": utcnow() - timedelta(minutes=1)})
    db.session.commit()
    assert dealing.active_assignment(ann) is None  # run out, though no sweep has given it back yet
    second = dealing.deal_next(ann)
    assert second is not None and second.case_id != first.case_id
    assert _active_seats(ann.id) == [second.case_id]
    released = db.session.scalar(select(Assignment).where(Assignment.case_id == first.case_id,
                                                          Assignment.juror_id == ann.id))
    assert released.state == "expired" and released.released_at is not None
    assert db.session.get(Case, first.case_id).open_seats == panel  # the seat went back
    assert db.session.get(Case, second.case_id).open_seats == panel - 1
    events = [(e.event_type, e.subject_id, e.payload) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.event_type == "seat_expired"))]
    assert events == [("seat_expired", str(first.case_id), {"juror": ann.id})]
    assert len(ids) == 3


def test_migration_0010_keeps_each_jurors_newest_active_seat_and_gives_the_others_back(fresh_url, tmp_path):  # noqa: F811
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=fresh_url))
    with app.app_context():
        upgrade(revision="0009")
        now = utcnow()
        # Users as the schema of 0009 holds them (the model has columns of later migrations).
        for user_id, name in ((1, "ann"), (2, "bob")):
            db.session.execute(text(
                "INSERT INTO users (id, username, password_hash, role, state, languages, opted_out_categories,"
                " created_at, failed_logins) VALUES (:id, :name, 'x', 'juror', 'active', '[\"en\"]', '[]',"
                " CURRENT_TIMESTAMP, 0)"), {"id": user_id, "name": name})
        # Posts too: only the columns 0009 has (the model has the clusters' since 0016).
        db.session.execute(insert(Post.__table__), [{
            "id": i, "external_id": f"p{i}", "author_id": "a", "text": "t", "content_hash": f"h{i}", "state": "visible",
            "received_at": now} for i in (1, 2, 3)])
        # Cases as well (the model has the critical lane's columns since 0015).
        db.session.execute(insert(Case.__table__), [{
            "id": i, "post_id": i, "review_round": 0, "origin": "reported", "state": "in_review", "severity": 0,
            "report_count": 0, "base_priority": 0.0, "priority": 0.0, "panel_size": 3, "open_seats": 2,
            "policy_version": 1, "opened_at": now, "sla_deadline": now, "lock_version": 0} for i in (1, 2, 3)])
        db.session.flush()
        # Ann was dealt two seats at once (two tabs); Bob holds one.
        for seat_id, case_id, juror_id, leased in [(1, 1, 1, now - timedelta(seconds=5)), (2, 2, 1, now),
                                                   (3, 3, 2, now)]:
            db.session.add(Assignment(id=seat_id, case_id=case_id, juror_id=juror_id, state="active",
                                      leased_at=leased, expires_at=now + timedelta(minutes=10)))
        db.session.commit()
        upgrade()
        rows = dict(db.session.execute(text("SELECT id, state FROM assignments")).all())
        assert rows == {1: "expired", 2: "active", 3: "active"}
        assert dict(db.session.execute(text("SELECT id, open_seats FROM cases")).all()) == {1: 3, 2: 2, 3: 2}
        assert [(e.event_type, e.subject_id, e.payload) for e in db.session.scalars(select(AuditEvent))] == [
            ("seat_expired", "1", {"juror": 1})]
        audit.seal(db.session)
        assert audit.verify_chain(db.session) == (1, None)
        assert db.session.scalar(select(func.count()).select_from(Assignment).where(
            Assignment.state == "active")) == 2
        db.session.remove()
        db.engine.dispose()
