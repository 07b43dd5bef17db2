"""One word for one verdict method: "quorum", in policies as in verdicts; the old word still reads."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, select

import audit
from jury import create_app
from models import AuditEvent, Policy, ShadowPolicy, db
from tests.conftest import base_config
from triage.policy import DEFAULT_SETTINGS, PolicyError, current_policy, publish_policy


def test_a_policy_written_with_the_old_word_is_stored_and_read_as_quorum(app):
    publish_policy({**DEFAULT_SETTINGS, "verdict_method": "majority"}, reason="an old client", actor="test")
    db.session.commit()
    assert current_policy().verdict_method == "quorum"
    assert db.session.scalar(select(Policy).order_by(Policy.version.desc())).settings["verdict_method"] == "quorum"
    with pytest.raises(PolicyError, match="quorum, weighted"):
        publish_policy({**DEFAULT_SETTINGS, "verdict_method": "plurality"}, reason="no", actor="test")


def test_migration_0012_rewrites_stored_policies_and_says_so(fresh_url, tmp_path):  # noqa: F811
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=fresh_url))
    with app.app_context():
        upgrade(revision="0011")
        now = datetime.now(UTC)
        old = {**DEFAULT_SETTINGS, "verdict_method": "majority"}
        old.pop("cascade_band")
        db.session.execute(insert(Policy.__table__), [
            {"version": 1, "settings": old, "reason": "defaults", "created_at": now},
            {"version": 2, "settings": {**old, "verdict_method": "weighted"}, "reason": "weighted",
             "created_at": now}])
        db.session.execute(insert(ShadowPolicy.__table__), [
            {"name": "trial", "settings": old, "reason": "try", "starts_at": now, "ends_at": now + timedelta(days=1),
             "created_at": now}])
        db.session.commit()
        db.session.remove()
        upgrade()
        methods = [p.settings["verdict_method"] for p in db.session.scalars(select(Policy).order_by(Policy.version))]
        assert methods == ["quorum", "weighted"]
        assert db.session.scalar(select(ShadowPolicy.settings))["verdict_method"] == "quorum"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "policy_vocabulary_changed"))
        assert event.payload["policy_ids"] == [1] and len(event.payload["shadow_ids"]) == 1
        audit.seal(db.session)
        assert audit.verify_chain(db.session)[1] is None
        db.session.remove()
        downgrade(revision="0011")
        assert db.session.scalar(select(Policy.settings).where(Policy.version == 1))["verdict_method"] == "majority"
        db.session.remove()
        db.engine.dispose()
