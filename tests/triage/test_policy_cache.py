"""The policy in force is read once per POLICY_CACHE_SECONDS per process, never stale after this process publishes."""
from __future__ import annotations

from sqlalchemy import insert, select

from models import Policy, db
from triage.policy import DEFAULT_SETTINGS, current_policy, publish_policy


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
    monkeypatch.setattr("triage.policy.time.monotonic", lambda: clock[0])
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



def test_the_lead_console_edits_the_version_in_force_not_this_process_copy(app, client, make_user):
    """Saving the form from a stale copy would silently undo another lead's change."""
    from jury.leads import policy_versions
    from tests.conftest import PASSWORD

    app.config["POLICY_CACHE_SECONDS"] = 3600
    assert current_policy().version == 1  # this process caches version 1
    published_elsewhere(2, panel_size=4)
    db.session.rollback()
    assert current_policy().version == 1  # jurors' requests may still use the cached copy
    assert policy_versions.editable_settings()["panel_size"] == 4
    make_user("lea", role="lead")
    client.post("/login", data={"username": "lea", "password": PASSWORD})
    html = client.get("/lead/policy").get_data(as_text=True)
    assert 'name="s:panel_size" value="4"' in html


def test_two_processes_starting_at_once_create_the_first_version_once(pg_app):
    import threading
    import time

    from sqlalchemy import delete, func

    db.session.execute(delete(Policy))
    db.session.commit()
    pg_app.extensions.pop("jury.policy_cache", None)
    first_created = threading.Event()
    errors: list[BaseException] = []

    def other_process():
        # Another gunicorn worker's first request, while this one's transaction is still open.
        first_created.wait(10)
        with pg_app.app_context():
            try:
                assert current_policy(fresh=True).version == 1
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                errors.append(error)
            finally:
                db.session.remove()

    thread = threading.Thread(target=other_process)
    thread.start()
    assert current_policy(fresh=True).version == 1  # created here, not yet committed
    first_created.set()
    time.sleep(0.5)  # the other request reaches the database meanwhile
    db.session.commit()
    thread.join(15)
    assert errors == []
    assert db.session.scalar(select(func.count()).select_from(Policy)) == 1
