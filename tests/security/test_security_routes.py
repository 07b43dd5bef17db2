"""Every route in the app × every role: who may reach it, and that no form POST works without a CSRF token.

A route the ACCESS table does not classify fails the test: new routes get their access rule on purpose.
"""
from __future__ import annotations

import re

import pytest
from flask import g

from tests.conftest import make_app, sign_in

ROLES = ("anonymous", "juror", "lead", "admin")
# First match wins. public: anyone; login: any signed-in role; lead: leads and admins only;
# signed: no session counts, only a valid HMAC signature (the intake API and webhooks);
# absent: mounted only for another network adapter, so 404 under the sandbox adapter these tests use.
ACCESS = [
    (r"^/static/", "public"),
    (r"^/favicon\.ico$", "public"),
    (r"^/login$", "public"),
    (r"^/healthz$", "public"),
    (r"^/metrics$", "public"),  # loopback only unless METRICS_TOKEN is set (tests/security/test_security_disclosure.py)
    (r"^/appeal/", "public"),  # the author's signed appeal link is the key, not a session
    (r"^/join/", "public"),  # a lead's signed invitation is the key
    (r"^/api/v1/openapi\.json$", "public"),
    (r"^/api/v1/webhooks/mastodon$", "absent"),  # its signatures: tests/network/test_network_mastodon_intake.py
    (r"^/api/v1/", "signed"),
    (r"^/sandbox/moderation/actions$", "signed"),
    (r"^/sandbox/accounts/", "signed"),  # follow links, asked for by Jury's own signed adapter
    (r"^/sandbox/", "public"),  # the built-in stand-in network: its pages are public by design
    (r"^/lead/", "lead"),
    (r"^/$", "login"),
    (r"^/logout$", "login"),
    (r"^/cases/", "login"),
    (r"^/guide$", "login"),
    (r"^/profile$", "login"),
    (r"^/profile/password$", "login"),
]
ARGUMENTS = {"filename": "jury.css", "external_id": "no-such-post", "action": "pause", "kind": "transparency.json",
             "token": "not-a-token"}
MISSING_ID = 999_999  # ids that exist nowhere: the role check must answer before any lookup


def classify(rule: str) -> str | None:
    """The access class of a URL rule, or None when the table does not know it."""
    for pattern, access in ACCESS:
        if re.search(pattern, rule):
            return access
    return None


def build_path(rule) -> str:
    """A concrete URL for a rule: missing ids for ints, fixed values for strings."""
    path = rule.rule
    for name in rule.arguments:
        value = ARGUMENTS.get(name, MISSING_ID)
        path = re.sub(rf"<(?:[^:>]+:)?{name}>", str(value), path)
    return path


@pytest.fixture
def route_app(tmp_path, request, monkeypatch):
    """The app on SQLite with one user per role; retraining is stubbed so a lead's POST has no heavy effect."""
    from jury.jurors import users
    from models import db

    monkeypatch.setattr("triage.jobs.defer", lambda *args, **kwargs: None)
    app = make_app("sqlite", tmp_path, request)
    with app.app_context():
        ids = {role: users.create_user(f"user-{role}", "correct horse battery", role).id
               for role in ("juror", "lead", "admin")}
        app.config["ROLE_IDS"] = ids
        yield app
        db.session.remove()


def client_as(app, role: str):
    """A test client signed in as `role` (the session set directly: the login form is rate-limited)."""
    # Requests reuse the fixture's app context, so Flask-Login's per-request user cache in `g` would leak
    # from one client to the next.
    g.pop("_login_user", None)
    client = app.test_client()
    if role != "anonymous":
        with client.session_transaction() as session:
            sign_in(session, app.config["ROLE_IDS"][role])
    return client


def routes(app):
    """(rule, method) for every route and method it answers, HEAD and OPTIONS aside."""
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_is_classified(route_app):
    unknown = sorted({rule.rule for rule, _ in routes(route_app) if classify(rule.rule) is None})
    assert not unknown, f"add these routes to ACCESS in {__file__}: {unknown}"


def _goes_to_login(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_every_route_answers_each_role_as_its_class_says(route_app):
    failures = []
    for rule, method in routes(route_app):
        access, path = classify(rule.rule), build_path(rule)
        if access is None:
            continue  # reported by test_every_route_is_classified
        for role in ROLES:
            response = client_as(route_app, role).open(path, method=method)
            status = response.status_code
            why = None
            if status >= 500:
                why = "server error"
            elif access == "absent":
                if status != 404:
                    why = "must not be mounted for this network adapter"
            elif access == "signed":
                if status != 401:
                    why = "an unsigned request must be 401 whatever the session"
            elif access == "public":
                if status in (401, 403) or _goes_to_login(response):
                    why = "public route refused"
            elif role == "anonymous":
                if not _goes_to_login(response):
                    why = "anonymous must be sent to the login page"
            elif access == "lead" and role == "juror":
                if status != 403:
                    why = "jurors must get 403 on lead routes"
            elif status in (401, 403) or (_goes_to_login(response) and rule.endpoint != "auth.logout"):
                why = "allowed role refused"
            if why:
                failures.append(f"{method} {path} as {role} ({access}): {status}: {why}")
    assert not failures, "\n".join(failures)


def test_no_form_post_works_without_a_csrf_token(route_app):
    route_app.config["WTF_CSRF_ENABLED"] = True
    failures = []
    for rule, method in routes(route_app):
        if method != "POST":
            continue
        access, path = classify(rule.rule), build_path(rule)
        # Signed routes are exempt from CSRF, not from signatures; absent ones are not mounted at all.
        expected = {"signed": 401, "absent": 404}.get(access, 400)
        for role in ROLES:
            status = client_as(route_app, role).post(path, data={"decision": "keep", "reason": "spam"}).status_code
            if status != expected:
                failures.append(f"POST {path} as {role}: {status}, expected {expected}")
    assert not failures, "\n".join(failures)


def test_the_table_knows_the_routes_other_parts_will_add():
    # Lead pages under /lead/ and webhooks under /api/v1/ are classified by prefix, so they are checked at once.
    assert classify("/lead/users/<int:user_id>/unlock") == "lead"
    assert classify("/api/v1/webhooks/mastodon") == "absent"
    assert classify("/admin/secret") is None
