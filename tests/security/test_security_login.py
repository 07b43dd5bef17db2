"""Login rate limit per client address, account lockout counted in the database, and unlocking by a lead."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jury import create_app
from jury.jurors import lockout
from models import AuditEvent, User, db, utcnow
from tests.conftest import PASSWORD, base_config, make_app

GENERIC = "Wrong username or password."


def attempt(client, username: str, password: str, ip: str = "192.0.2.1"):
    """One login POST from a given client address."""
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def locked_events() -> int:
    """How many account_locked events the audit chain holds."""
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.event_type == "account_locked"))


@pytest.fixture
def roomy_app(tmp_path, request):
    """An app whose per-address limit is out of the way, to test the per-account lockout alone."""
    app = make_app("sqlite", tmp_path, request, LOGIN_RATE_LIMIT="1000/minute")
    with app.app_context():
        yield app
        db.session.remove()


def test_eleventh_login_post_in_a_minute_is_429(app, client, make_user):
    make_user("ann")
    answers = [attempt(client, "nobody", "wrong password").status_code for _ in range(11)]
    assert answers == [401] * 10 + [429]
    page = attempt(client, "ann", PASSWORD)
    assert page.status_code == 429 and "Too many requests" in page.get_data(as_text=True)
    assert int(page.headers["Retry-After"]) > 0
    assert client.get("/login").status_code == 200  # reading the form is not limited
    assert attempt(client, "ann", PASSWORD, ip="192.0.2.99").status_code == 302  # another address is


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(tmp_path, request):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    untrusted = make_app("sqlite", tmp_path / "a", request, LOGIN_RATE_LIMIT="2/minute")
    with untrusted.app_context():
        client = untrusted.test_client()
        spoofed = [client.post("/login", data={"username": "x", "password": "y"},
                               headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]
        assert spoofed == [401, 401, 429]  # a forged header does not buy a fresh allowance
        db.session.remove()
    trusted = make_app("sqlite", tmp_path / "b", request, LOGIN_RATE_LIMIT="2/minute", TRUSTED_PROXIES=1)
    with trusted.app_context():
        client = trusted.test_client()
        behind_proxy = [client.post("/login", data={"username": "x", "password": "y"},
                                    headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]
        assert behind_proxy == [401, 401, 401]  # each client behind the proxy has its own
        db.session.remove()


@pytest.mark.redis
def test_the_login_limit_is_shared_by_every_process_through_redis(tmp_path, request, redis_url):
    first = make_app("sqlite", tmp_path, request, RATELIMIT_STORAGE_URI=redis_url, LOGIN_RATE_LIMIT="4/minute")
    second = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=first.config["SQLALCHEMY_DATABASE_URI"],
                                    RATELIMIT_STORAGE_URI=redis_url, LOGIN_RATE_LIMIT="4/minute"))
    answers = []
    for app in (first, second, first, second, first):
        with app.app_context():
            answers.append(attempt(app.test_client(), "nobody", "wrong password").status_code)
            db.session.remove()
    assert answers == [401, 401, 401, 401, 429]


def test_logins_still_work_when_the_limit_store_is_down(tmp_path, request):
    app = make_app("sqlite", tmp_path, request, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
    with app.app_context():
        from jury.jurors import users

        users.create_user("ann", PASSWORD)
        assert attempt(app.test_client(), "ann", PASSWORD).status_code == 302
        db.session.remove()


def test_five_failures_lock_the_account_from_any_address(roomy_app):
    from jury.jurors import users

    users.create_user("ann", PASSWORD)
    client = roomy_app.test_client()
    for i in range(5):
        response = attempt(client, "ann", "wrong password", ip=f"198.51.100.{i}")
        assert response.status_code == 401
    user = db.session.scalar(select(User).where(User.username == "ann"))
    db.session.refresh(user)
    assert lockout.is_locked(user) and locked_events() == 1
    # Now even the right password is refused, with the very words an unknown name gets.
    locked = attempt(client, "ann", PASSWORD, ip="198.51.100.200")
    unknown = attempt(client, "nobody", PASSWORD, ip="198.51.100.201")
    wrong = attempt(client, "ann", "wrong password", ip="198.51.100.202")
    assert locked.status_code == unknown.status_code == wrong.status_code == 401
    assert GENERIC in locked.get_data(as_text=True)
    assert locked.get_data(as_text=True) == unknown.get_data(as_text=True).replace("nobody", "ann")
    # Attempts during the lock neither extend it nor add events.
    until = user.locked_until
    db.session.refresh(user)
    assert user.locked_until == until and locked_events() == 1


def test_a_lock_runs_out_and_success_resets_the_count(roomy_app):
    from jury.jurors import users

    user = users.create_user("ann", PASSWORD)
    client = roomy_app.test_client()
    for _ in range(5):
        attempt(client, "ann", "wrong password")
    user.locked_until = utcnow() - timedelta(seconds=1)  # fifteen minutes later
    db.session.commit()
    assert attempt(client, "ann", PASSWORD).status_code == 302
    db.session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None
    for _ in range(4):
        attempt(client, "ann", "wrong password")
    db.session.refresh(user)
    assert not lockout.is_locked(user)  # four is not five


def test_unknown_names_lock_nobody(roomy_app):
    client = roomy_app.test_client()
    for _ in range(8):
        assert attempt(client, "nobody", "wrong password").status_code == 401
    assert locked_events() == 0


def test_a_lead_can_unlock_an_account(roomy_app):
    from jury.jurors import users

    user = users.create_user("ann", PASSWORD)
    lead = users.create_user("boss", PASSWORD, "lead")
    client = roomy_app.test_client()
    for _ in range(5):
        attempt(client, "ann", "wrong password")
    assert attempt(client, "ann", PASSWORD).status_code == 401
    lockout.unlock(user.id, actor=f"user:{lead.id}")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "account_unlocked"))
    assert event.actor == f"user:{lead.id}" and event.payload == {"was_locked": True}
    assert attempt(client, "ann", PASSWORD).status_code == 302


def test_unlocking_nobody_is_not_found(roomy_app):
    from models.errors import NotFound

    with pytest.raises(NotFound):
        lockout.unlock(424242, actor="user:1")


@pytest.mark.postgres
def test_parallel_guesses_lock_once(tmp_path, request):
    app = make_app("postgresql", tmp_path, request)
    with app.app_context():
        from jury.jurors import users

        users.create_user("ann", PASSWORD)
        db.session.remove()
    barrier = threading.Barrier(8)

    def guess():
        with app.app_context():
            barrier.wait()
            users.authenticate("ann", "wrong password")
            db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ann"))
        assert lockout.is_locked(user) and user.failed_logins >= 5
        assert locked_events() == 1
        db.session.remove()
        db.engine.dispose()


def test_flask_users_unlock(roomy_app):
    from jury.jurors import users

    user = users.create_user("ann", PASSWORD)
    client = roomy_app.test_client()
    for _ in range(5):
        attempt(client, "ann", "wrong password")
    runner = roomy_app.test_cli_runner()
    result = runner.invoke(args=["users", "unlock", "ann"])
    assert result.exit_code == 0 and "unlocked ann" in result.output
    db.session.refresh(user)
    assert not lockout.is_locked(user) and user.failed_logins == 0
    assert runner.invoke(args=["users", "unlock", "nobody"]).exit_code != 0
