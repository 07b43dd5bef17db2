"""Every /lead route, for every role: anonymous → login, juror → 403, lead and admin → served."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask

from models import Action, Case, Cluster, Policy, Post, Score, ShadowPolicy, User, Verdict, db, utcnow
from tests.conftest import make_app, sign_in

# A value for each URL argument of the lead routes (the seeded rows have these ids).
ARGUMENTS = {"case_id": 1, "action_id": 1, "version": 1, "shadow_id": 1, "action": "pause", "appeal_id": 1,
             "kind": "transparency.json", "verdict_id": 1,
             "external_id": "a", "cluster_id": 1}


def lead_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, path) of every route under /lead, arguments filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/lead"):
            continue
        path = rule.rule
        for name in rule.arguments:
            value = ARGUMENTS.get(name, "{juror_id}" if name == "user_id" else None)
            assert value is not None, f"no test value for <{name}> in {rule.rule}: add one to ARGUMENTS"
            path = re.sub(rf"<[^>]*\b{name}>", str(value), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def seed(app: Flask) -> int:
    """A case, an action, a shadow policy and a juror for the routes' arguments; returns the juror's id."""
    from jury.jurors import users

    now = utcnow()
    post = Post(external_id="p1", author_id="a", text="t", content_hash="h")
    db.session.add(post)
    db.session.flush()
    db.session.add(Score(post_id=post.id, model_name="m", model_version="1", labels={"toxicity": 0.5}))
    cluster = Cluster(fingerprint="f", signature=bytes(512), member_count=1, representative_post_id=post.id)
    db.session.add(cluster)
    db.session.flush()
    post.cluster_id = cluster.id
    case = Case(post_id=post.id, origin="reported", state="escalated", panel_size=3, open_seats=0,
                policy_version=1, sla_deadline=now + timedelta(hours=4))
    db.session.add(case)
    db.session.flush()
    db.session.add(Action(case_id=case.id, type="notify", idempotency_key="k1", state="dead"))
    decided = Case(post_id=post.id, review_round=1, origin="reported", state="decided", panel_size=3, open_seats=0,
                   policy_version=1, sla_deadline=now + timedelta(hours=4))
    db.session.add(decided)
    db.session.flush()
    db.session.add(Verdict(case_id=decided.id, outcome="keep", tally={"keep": 3}, method="quorum",
                           policy_version=1, statement="kept"))
    db.session.add(ShadowPolicy(name="s", settings=db.session.get(Policy, 1).settings, reason="r",
                                ends_at=now + timedelta(days=1)))
    db.session.commit()
    for name, role in (("juror", "juror"), ("lead", "lead"), ("admin", "admin")):
        users.create_user(name, "correct horse battery", role)
    # An active juror (new ones start on probation), so the pause and suspend routes have work to do.
    db.session.query(User).filter_by(username="juror").update({"state": "active"})
    db.session.commit()
    return db.session.query(User.id).filter_by(username="juror").scalar()


def log_in(client, username: str | None) -> None:
    if username:
        response = client.post("/login", data={"username": username, "password": "correct horse battery"})
        assert response.status_code == 302


@pytest.fixture
def seeded(app, monkeypatch):
    """Seeded rows; retraining is stubbed (its route only queues a job, which runs inline here)."""
    from triage import training

    monkeypatch.setattr(training, "retrain_job", lambda *args: None)
    return seed(app)


def _all(app, juror_id):
    return [(m, p.replace("{juror_id}", str(juror_id))) for m, p in lead_routes(app)]


def test_the_route_table_is_not_empty(app):
    """The lead console's routes are all found (a renamed prefix would make the test below vacuous)."""
    paths = {path for _, path in lead_routes(app)}
    assert {"/lead/policy", "/lead/tuning", "/lead/health", "/lead/jurors", "/lead/bulk", "/lead/rq"} <= paths
    assert len(paths) >= 25


def test_anonymous_is_sent_to_log_in(app, client, seeded):
    """Every lead route redirects an anonymous visitor to the login page."""
    for method, path in _all(app, seeded):
        response = client.open(path, method=method)
        assert response.status_code == 302, (method, path, response.status_code)
        assert "/login" in response.headers["Location"], (method, path)


def test_jurors_are_forbidden(app, client, seeded):
    """A juror gets 403 on every lead route, GET or POST, and nothing changes."""
    log_in(client, "juror")
    for method, path in _all(app, seeded):
        response = client.open(path, method=method)
        assert response.status_code == 403, (method, path, response.status_code)
    assert db.session.get(User, seeded).state == "active"


@pytest.mark.parametrize("role", ["lead", "admin"])
def test_leads_and_admins_are_served(app, client, seeded, role):
    """GET pages answer 200; POSTs are handled (a redirect or a form error, never 401/403 or a crash)."""
    log_in(client, role)
    for method, path in _all(app, seeded):
        response = client.open(path, method=method, data={})
        if method == "GET":
            assert response.status_code == 200, (method, path, response.status_code)
        else:
            assert response.status_code in (200, 302, 400, 404, 409), (method, path, response.status_code)
            assert "/login" not in response.headers.get("Location", ""), (method, path)


CSRF_FORMS = [
    ("/lead/policy", {"reason": "x", "s:panel_size": "3"}),
    ("/lead/policy/versions/1/rollback", {"reason": "x"}),
    ("/lead/shadow/1/stop", {}),
    ("/lead/jurors/{juror_id}/pause", {"reason": "x"}),
    ("/lead/jurors/{juror_id}/reset-password", {}),
    ("/lead/jurors/invites", {"days": "7"}),
    ("/lead/bulk/close", {"note": "x", "case_id": "1"}),
    ("/lead/reporters/mute", {"reporter": "r", "reason": "x"}),
    ("/lead/reporters/unmute", {"reporter": "r"}),
]


def test_new_forms_refuse_a_post_without_the_csrf_token(tmp_path, request):
    """With CSRF on (as in production), each new form's POST without its token is refused and changes nothing."""
    app = make_app("sqlite", tmp_path, request, WTF_CSRF_ENABLED=True)
    with app.app_context():
        juror_id = seed(app)
        lead_id = db.session.query(User.id).filter_by(username="lead").scalar()
        client = app.test_client()
        with client.session_transaction() as session:
            sign_in(session, lead_id)
        for path, data in CSRF_FORMS:
            response = client.post(path.replace("{juror_id}", str(juror_id)), data=data)
            assert response.status_code == 400, (path, response.status_code)
        assert db.session.query(Policy).count() == 1
        assert db.session.get(User, juror_id).state == "active"
        db.session.remove()


# The RQ dashboard's URL arguments, for its routes under /lead/rq.
RQ_ARGUMENTS = {"instance_number": 0, "queue_name": "scoring", "registry_name": "queued", "per_page": 8,
                "order": "asc", "page": 1, "job_id": "nope", "filename": "css/main.css"}


def test_every_rq_dashboard_route_is_lead_only(tmp_path, request, redis_url):
    """With Redis configured the dashboard is mounted: each of its routes sends anonymous visitors to log in
    and refuses jurors, whatever the method."""
    app = make_app("sqlite", tmp_path, request, REDIS_URL=redis_url)
    with app.app_context():
        from jury.jurors import users

        users.create_user("juror", "correct horse battery", "juror")
        db.session.remove()
    # Outside any app context: each request gets its own `g`, so one client's login cannot leak to another.
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/lead/rq/"):
            path = rule.rule
            for name in rule.arguments:
                path = re.sub(rf"<[^>]*\b{name}>", str(RQ_ARGUMENTS[name]), path)
            routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert len(routes) >= 15
    anonymous, juror = app.test_client(), app.test_client()
    log_in(juror, "juror")
    for method, path in routes:
        response = anonymous.open(path, method=method, follow_redirects=False)
        if response.status_code == 308:  # routing sends an alias to its canonical URL, which is guarded
            path = response.headers["Location"]
            response = anonymous.open(path, method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, path)
        assert juror.open(path, method=method).status_code == 403, (method, path)
