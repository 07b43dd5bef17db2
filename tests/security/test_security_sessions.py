"""Sessions end when they should: a cookie copied before logout, a reset, a suspension, a pause or a
role change opens nothing afterwards; leads' logins are shorter; CSRF tokens rotate at login and
expire; usernames are one name whatever their case.

Each client here runs its requests outside any app context of the test, so nothing a previous
request loaded (Flask-Login caches the user on `g`) can stand in for what the cookie really opens.
"""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from jury.jurors import users
from jury.jurors.users import SESSION_STARTED
from models import Assignment, AuditEvent, Case, User, Vote, db
from models.errors import Conflict
from tests.conftest import PASSWORD, make_app, post_payload, report_payload, signed


@pytest.fixture
def web(backend, tmp_path, request):
    """An app whose test clients each get a fresh app context per request."""
    app = make_app(backend, tmp_path, request)
    with app.app_context():
        for name, role in (("ann", "juror"), ("lead", "lead"), ("lead2", "lead")):
            user = users.create_user(name, PASSWORD, role)
            user.state = "active"
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def logged_in(app, username: str, password: str = PASSWORD):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def copy_of(app, client):
    """A second browser holding a copy of `client`'s session cookie (as an attacker would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200 and "/logout" in response.get_data(as_text=True)


def user_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == name))


def test_a_cookie_copied_before_logout_opens_nothing_after_it(web):
    ann = logged_in(web, "ann")
    thief = copy_of(web, ann)
    assert signed_in(thief)  # the copy works while the session lives
    assert ann.post("/logout").status_code == 302
    assert not signed_in(thief)
    assert thief.get("/").headers["Location"].startswith("/login")
    changed = thief.post("/profile", data={"locale": "fr", "languages": "fr"})
    assert changed.status_code == 302 and "/login" in changed.headers["Location"]
    with web.app_context():
        assert db.session.scalar(select(User.locale).where(User.username == "ann")) is None
        assert db.session.scalar(select(AuditEvent.payload).where(AuditEvent.event_type == "sessions_ended")) \
            == {"reason": "logout"}


def test_a_password_reset_by_a_lead_ends_the_jurors_sessions(web):
    ann = logged_in(web, "ann")
    lead = logged_in(web, "lead")
    page = lead.post(f"/lead/jurors/{user_id(web, 'ann')}/reset-password")
    assert page.status_code == 200
    assert not signed_in(ann)
    temporary = re.search(r'<code[^>]*>([^<]+)</code>', page.get_data(as_text=True)).group(1)
    assert signed_in(logged_in(web, "ann", temporary))
    assert signed_in(lead)  # the lead who reset it is not affected


@pytest.mark.parametrize("action, data", [("suspend", {"reason": "leaked a case"}), ("pause", {})])
def test_a_suspended_or_paused_juror_loses_their_session_and_their_dealt_case(web, action, data):
    with web.app_context():
        client = web.test_client()
        body, headers = signed({"posts": [post_payload("p1", "You people are vermin.")]})
        assert client.post("/api/v1/posts", data=body, headers=headers).status_code == 202
        body, headers = signed({"reports": [report_payload("r1", "p1")]})
        assert client.post("/api/v1/reports", data=body, headers=headers).status_code == 202
        db.session.remove()
    ann = logged_in(web, "ann")
    thief = copy_of(web, ann)
    dealt = ann.post("/cases/next")
    case_id = int(re.search(r"/cases/(\d+)", dealt.headers["Location"]).group(1))
    assert thief.get(f"/cases/{case_id}").status_code == 200
    lead = logged_in(web, "lead")
    assert lead.post(f"/lead/jurors/{user_id(web, 'ann')}/{action}", data=data).status_code == 302
    for client in (ann, thief):
        assert not signed_in(client)
        assert client.get(f"/cases/{case_id}").status_code == 302
        vote = client.post(f"/cases/{case_id}/vote", data={"decision": "remove", "rule": "hate_speech"})
        assert vote.status_code in (302, 401)
    with web.app_context():
        assert db.session.scalar(select(Vote.id).where(Vote.case_id == case_id)) is None
        assert db.session.get(Case, case_id).open_seats >= 1
        assert db.session.scalar(select(Assignment.state).where(Assignment.case_id == case_id)) == "expired"


def test_a_role_change_ends_every_session_of_the_account(web):
    lead = logged_in(web, "lead")
    assert lead.get("/lead/").status_code == 200
    result = web.test_cli_runner().invoke(args=["users", "set-role", "LEAD", "juror"])
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    assert lead.get("/lead/").status_code == 302  # to the login page, not a lingering lead session
    assert not signed_in(lead)
    again = logged_in(web, "lead")
    assert again.get("/lead/").status_code == 403  # a juror now
    refused = web.test_cli_runner().invoke(args=["users", "set-role", "nobody", "lead"])
    assert refused.exit_code != 0 and "no user 'nobody'" in refused.output


def test_a_juror_changes_their_own_password_and_other_sessions_end(web):
    here = logged_in(web, "ann")
    elsewhere = logged_in(web, "ann")
    wrong = here.post("/profile/password", data={"current_password": "not it at all",
                                                 "new_password": "a brand new secret", "repeat_password":
                                                 "a brand new secret"})
    assert wrong.status_code == 400 and "current password is not right" in wrong.get_data(as_text=True)
    differ = here.post("/profile/password", data={"current_password": PASSWORD, "new_password": "a brand new secret",
                                                  "repeat_password": "another new secret"})
    assert differ.status_code == 400 and "differ" in differ.get_data(as_text=True)
    short = here.post("/profile/password", data={"current_password": PASSWORD, "new_password": "short",
                                                 "repeat_password": "short"})
    assert short.status_code == 400 and "10 to 256 characters" in short.get_data(as_text=True)
    assert signed_in(elsewhere)  # nothing changed yet
    done = here.post("/profile/password", data={"current_password": PASSWORD, "new_password": "a brand new secret",
                                                "repeat_password": "a brand new secret"})
    assert done.status_code == 302
    assert signed_in(here)  # the browser that changed it stays in
    assert not signed_in(elsewhere)
    assert web.test_client().post("/login", data={"username": "ann", "password": PASSWORD}).status_code == 401
    assert signed_in(logged_in(web, "ann", "a brand new secret"))


def age_session(client, hours: float) -> None:
    with client.session_transaction() as session:
        session[SESSION_STARTED] = int(time.time() - hours * 3600)


def test_a_leads_login_lasts_twelve_hours_and_a_jurors_longer(web):
    lead, ann = logged_in(web, "lead"), logged_in(web, "ann")
    age_session(lead, 11.9)
    age_session(ann, 11.9)
    assert signed_in(lead) and signed_in(ann)
    age_session(lead, 12.1)
    age_session(ann, 12.1)
    assert not signed_in(lead)
    assert signed_in(ann)
    age_session(ann, 7 * 24 + 0.1)
    assert not signed_in(ann)


def test_a_session_without_its_login_mark_is_refused(web):
    """A cookie forged from the old format, or restored without a login, opens nothing."""
    ann = logged_in(web, "ann")
    with ann.session_transaction() as session:
        session.pop(SESSION_STARTED)
    assert not signed_in(ann)
    ann = logged_in(web, "ann")
    with ann.session_transaction() as session:
        session["_user_id"] = str(user_id(web, "ann"))  # the id alone, as before sessions were revocable
    assert not signed_in(ann)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_csrf_token_changes_at_login_and_expires(backend, tmp_path, request):
    app = make_app(backend, tmp_path, request, WTF_CSRF_ENABLED=True, WTF_CSRF_TIME_LIMIT=2)
    with app.app_context():
        users.create_user("ann", PASSWORD, "juror")
        db.session.remove()
    client = app.test_client()

    def token(path: str) -> str:
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                         client.get(path).get_data(as_text=True)).group(1)

    before = token("/login")
    assert client.post("/login", data={"username": "ann", "password": PASSWORD,
                                       "csrf_token": before}).status_code == 302
    stale = client.post("/profile", data={"locale": "fr", "languages": "fr", "csrf_token": before})
    assert stale.status_code == 400  # the token from before the login is no longer the session's
    fresh = token("/profile")
    assert fresh != before
    time.sleep(3)
    expired = client.post("/profile", data={"locale": "fr", "languages": "fr", "csrf_token": fresh})
    assert expired.status_code == 400
    assert client.post("/profile", data={"locale": "fr", "languages": "fr",
                                         "csrf_token": token("/profile")}).status_code == 302


def test_usernames_are_one_name_whatever_their_case(web):
    with web.app_context():
        with pytest.raises(Conflict):
            users.create_user("ANN", PASSWORD, "juror")
        assert db.session.scalar(select(User.username).where(User.username == "ANN")) is None
    assert signed_in(logged_in(web, "Ann"))  # logging in is case-blind too


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_config_refuses_a_nonsense_session_lifetime(backend, tmp_path):
    from jury import create_app
    from jury.config import ConfigError
    from tests.conftest import base_config

    for bad in ("0", "-3", "soon", "inf"):
        with pytest.raises(ConfigError, match="LEAD_SESSION_HOURS"):
            create_app(base_config(tmp_path, LEAD_SESSION_HOURS=bad))


def _old_user(user_id: int, name: str) -> None:
    from sqlalchemy import text

    db.session.execute(text(
        "INSERT INTO users (id, username, password_hash, role, state, languages, opted_out_categories,"
        " created_at, failed_logins) VALUES (:id, :name, 'x', 'juror', 'active', '[\"en\"]', '[]',"
        " CURRENT_TIMESTAMP, 0)"), {"id": user_id, "name": name})


def test_migration_0011_refuses_usernames_that_clash_by_case_and_gives_every_account_a_token(
        fresh_url, tmp_path, capfd):  # noqa: F811
    from flask_migrate import upgrade
    from sqlalchemy import text

    from jury import create_app
    from tests.conftest import base_config

    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=fresh_url))
    with app.app_context():
        upgrade(revision="0010")
        _old_user(1, "Bob")
        _old_user(2, "bob")
        _old_user(3, "carol")
        db.session.commit()
        db.session.remove()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's error and exits 1
            upgrade()
        assert "'bob' (2 accounts)" in capfd.readouterr().err
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0010"
        db.session.execute(text("UPDATE users SET username = 'bob2' WHERE id = 2"))
        db.session.commit()
        db.session.remove()
        upgrade()
        tokens = [row[0] for row in db.session.execute(text("SELECT session_token FROM users"))]
        assert len(tokens) == 3 and all(len(token) >= 30 for token in tokens) and len(set(tokens)) == 3
        db.session.remove()
        db.engine.dispose()


def test_one_name_in_two_cases_raced_on_postgresql_makes_one_account(pg_app):
    """Six requests at once for "Zed", "ZED", "zed"...: the database's case-blind index lets one through."""
    import threading

    names = ["Zed", "ZED", "zed", "zEd", "zeD", "ZeD"]
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(names))

    def create(name: str) -> None:
        with pg_app.app_context():
            start.wait(30)
            try:
                users.create_user(name, PASSWORD, "juror")
                result = "ok"
            except Conflict:
                result = "Conflict"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["Conflict"] * 5 + ["ok"]
    assert db.session.scalar(select(func.count()).select_from(User).where(func.lower(User.username) == "zed")) == 1
