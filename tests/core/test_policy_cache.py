"""The policy in force is read once per POLICY_CACHE_SECONDS per process, never stale after this process publishes."""
from __future__ import annotations

from sqlalchemy import insert, select

from jury.extensions import db
from jury.policy import DEFAULT_SETTINGS, current_policy, publish_policy
from models import Policy


def published_elsewhere(version: int, panel_size: int) -> None:
    """A version written by another process (another gunicorn worker's lead), behind this one's back."""
    settings = {**DEFAULT_SETTINGS, "panel_size": panel_size}
    with db.engine.begin() as conn:
        conn.execute(insert(Policy).values(version=version, settings=settings, reason="elsewhere"))


def test_a_version_published_here_is_in_force_here_at_once(app):
    assert current_policy().panel_size == 3  # cached now
    publish_policy({**DEFAULT_SETTINGS, "panel_size": 5}, reason="bigger panels", actor="test")
    assert current_policy().panel_size == 5  # the publishing transaction sees its own version
    db.session.commit()
    assert current_policy().version == 2 and current_policy().panel_size == 5


def test_a_rolled_back_publication_leaves_the_version_in_force(app):
    assert current_policy().version == 1
    publish_policy({**DEFAULT_SETTINGS, "panel_size": 4}, reason="never mind", actor="test")
    assert current_policy().panel_size == 4
    db.session.rollback()
    assert current_policy().version == 1 and current_policy().panel_size == 3
    assert db.session.scalar(select(Policy.version).order_by(Policy.version.desc()).limit(1)) == 1


def test_another_process_version_takes_effect_within_the_cache_time(app, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("jury.policy.time.monotonic", lambda: clock[0])
    app.config["POLICY_CACHE_SECONDS"] = 5
    assert current_policy().version == 1
    published_elsewhere(2, panel_size=9)
    db.session.rollback()  # a new request: a new transaction
    clock[0] += 4
    assert current_policy().version == 1  # still within the cache time
    clock[0] += 2
    assert current_policy().version == 2 and current_policy().panel_size == 9


def test_no_cache_when_the_setting_is_zero(app):
    app.config["POLICY_CACHE_SECONDS"] = 0
    assert current_policy().version == 1
    published_elsewhere(2, panel_size=9)
    db.session.rollback()
    assert current_policy().panel_size == 9

