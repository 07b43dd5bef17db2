"""Pages: login, CSRF, roles, escaping of hostile posts, security headers."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import Case, db
from tests.conftest import PASSWORD, post_payload, report_payload
from triage import dealing

HOSTILE = [
    '<script>alert("x")</script>',
    '<img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
    '"><svg onload=alert(1)>',
    "\u202egnp.exe\u202c zero\u200bwidth \u0430pple",  # RTL override, zero-width, Cyrillic homoglyph
]


def test_login_logout_and_wrong_password(client, auth, make_user):
    make_user("ann")
    assert client.get("/").status_code == 302  # login required
    assert auth.login("ann", "wrong password!").status_code == 401
    assert auth.login("nobody", PASSWORD).status_code == 401
    response = auth.login("ann")
    assert response.status_code == 302
    assert "Hello, ann" in client.get("/").get_data(as_text=True)
    auth.logout()
    assert client.get("/").status_code == 302


def test_login_never_redirects_off_site(client, make_user):
    make_user("ann")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(f"/login?next={target}", data={"username": "ann", "password": PASSWORD})
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"]


def test_a_lead_lands_on_the_lead_queue_and_a_juror_on_their_cases(client, auth, make_user):
    make_user("ann")
    make_user("boss", role="lead")
    assert auth.login("ann").headers["Location"] == "/"
    auth.logout()
    assert auth.login("boss").headers["Location"] == "/lead/"
    auth.logout()
    # A page the lead asked for first still wins, and only a same-site one.
    response = client.post("/login?next=/lead/oncall", data={"username": "boss", "password": PASSWORD})
    assert response.headers["Location"] == "/lead/oncall"
    auth.logout()
    response = client.post("/login?next=//evil.example/", data={"username": "boss", "password": PASSWORD})
    assert response.headers["Location"] == "/lead/"


def test_suspended_users_cannot_log_in(client, auth, make_user):
    user = make_user("ann")
    user.state = "suspended"
    db.session.commit()
    assert auth.login("ann").status_code == 401


@pytest.mark.parametrize("path", ["/lead/", "/lead/escalations", "/lead/actions", "/lead/cases/1/decide"])
def test_lead_pages_are_403_for_jurors_and_open_to_leads(client, auth, make_user, path):
    make_user("ann")
    make_user("boss", role="lead")
    auth.login("ann")
    assert client.get(path).status_code == 403
    auth.logout()
    auth.login("boss")
    assert client.get(path).status_code in (200, 404)  # 404: no case 1 to decide


def test_every_form_needs_a_csrf_token(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    make_user("ann")
    client = app.test_client()
    assert client.post("/login", data={"username": "ann", "password": PASSWORD}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token}).status_code == 302
    for path in ("/cases/next", "/cases/1/vote", "/cases/1/skip", "/logout"):
        assert client.post(path, data={"decision": "keep"}).status_code == 400, path


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_posts_are_escaped_on_every_page(client, auth, api, make_user, text):
    api.posts(post_payload("p1", text, author='<b>author</b>', url="https://example.com/?q=<x>"))
    api.reports(report_payload("r1", "p1", comment='<script>evil()</script>'))
    juror = make_user("ann")
    make_user("boss", role="lead")
    assignment = dealing.deal_next(juror)
    auth.login("ann")
    pages = [client.get(f"/cases/{assignment.case_id}").get_data(as_text=True)]
    auth.logout()
    auth.login("boss")
    db.session.execute(db.update(Case).values(state="escalated"))
    db.session.commit()
    pages.append(client.get(f"/lead/cases/{assignment.case_id}/decide").get_data(as_text=True))
    pages.append(client.get("/lead/").get_data(as_text=True))
    for page in pages:
        assert "<script>alert" not in page and "<script>evil" not in page
        assert "<img src=x" not in page and "<svg onload" not in page and "<b>author</b>" not in page
        assert 'href="javascript:' not in page
    assert "&lt;script&gt;evil()&lt;/script&gt;" in pages[0]


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_inline_scripts_in_pages(client, auth, make_user):
    make_user("ann")
    auth.login("ann")
    for path in ("/", "/login", "/sandbox/"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"\son[a-z]+=", page), path


def test_juror_deals_and_votes_through_the_pages(client, auth, api, make_user):
    api.posts(post_payload("p1", "you are an idiot"))
    api.reports(report_payload("r1", "p1"))
    make_user("ann")
    auth.login("ann")
    response = client.post("/cases/next")
    assert response.status_code == 302 and "/cases/" in response.headers["Location"]
    case_page = client.get(response.headers["Location"]).get_data(as_text=True)
    for rule in ("Violence or threats", "Hate", "Harassment", "Spam or scams"):
        assert rule in case_page
    case_id = db.session.scalar(select(Case.id))
    bad = client.post(f"/cases/{case_id}/vote", data={"decision": "remove"})
    assert bad.status_code == 400 and "rule" in bad.get_data(as_text=True)
    ok = client.post(f"/cases/{case_id}/vote", data={"decision": "remove", "rule": "harassment", "note": "rude"})
    assert ok.status_code == 302
    again = client.post(f"/cases/{case_id}/vote", data={"decision": "keep"})
    assert again.status_code == 409
    empty = client.post("/cases/next", follow_redirects=True).get_data(as_text=True)
    assert "No case needs you right now" in empty


def test_healthz(client):
    assert client.get("/healthz").get_json()["status"] == "ok"
