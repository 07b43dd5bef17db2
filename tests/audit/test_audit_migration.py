"""Migration 0009 keeps a chain written before it verifiable, and refuses a downgrade that would lose events."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, text

import audit
from audit.log import GENESIS_HASH, event_hash
from jury import create_app
from models import AuditEvent, db, utcnow
from tests.conftest import base_config


def old_chain(n: int) -> None:
    """Events as the release before 0009 wrote them: chained at insert, in id order."""
    prev = GENESIS_HASH
    for index in range(n):
        created, payload = utcnow(), {"n": index}
        digest = event_hash(prev, created, "system", "old_event", "thing", str(index), payload)
        db.session.execute(insert(AuditEvent.__table__), [{
            "created_at": created, "actor": "system", "event_type": "old_event", "subject_type": "thing",
            "subject_id": str(index), "payload": payload, "prev_hash": prev, "hash": digest}])
        prev = digest
    db.session.commit()


def test_a_chain_from_before_sealing_still_verifies_and_new_events_extend_it(fresh_url, tmp_path, capfd):
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=fresh_url))
    with app.app_context():
        upgrade(revision="0008")
        old_chain(5)
        upgrade()
        assert audit.unsealed_count(db.session) == 0
        assert audit.verify_chain(db.session) == (5, None)
        audit.record(db.session, "new_event", "thing", "after", {})
        db.session.commit()
        audit.seal(db.session)
        checked, broken = audit.verify_chain(db.session)
        assert (checked, broken) == (6, None)
        head_id, head_hash = audit.chain_head(db.session)
        assert db.session.get(AuditEvent, head_id).prev_hash == db.session.get(AuditEvent, head_id - 1).hash
        if audit.seals_in_background(db.session):
            # An unsealed event cannot be kept by the older schema: the downgrade stops and says why.
            audit.record(db.session, "new_event", "thing", "unsealed", {})
            db.session.commit()
            db.session.remove()
            with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's error and exits 1
                downgrade(revision="0008")
            assert "1 audit events are not sealed yet: run `flask audit seal` first" in capfd.readouterr().err
            audit.seal(db.session)
            db.session.remove()
        downgrade(revision="0008")
        count = db.session.execute(text("SELECT count(*) FROM audit_events")).scalar()
        assert count == (7 if audit.seals_in_background(db.session) else 6)
        db.session.remove()
        db.engine.dispose()
