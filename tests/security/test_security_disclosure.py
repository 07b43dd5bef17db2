"""What the app gives away: metrics off the loopback, cached private pages, which case ids exist, bad decisions."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from models import Case, Verdict, db
from tests.conftest import make_app, post_payload, report_payload
from triage import dealing

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


def reported_case(api) -> int:
    assert api.reports(report_payload("r1", "p1", post=post_payload("p1", "you idiot"))).status_code == 202
    return db.session.scalar(select(Case.id))


# /metrics


def test_metrics_answer_loopback_clients_only_without_a_token(client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    refused = client.get("/metrics", environ_base=OUTSIDE)
    assert refused.status_code == 403 and "jury_cases" not in refused.get_data(as_text=True)
    # A proxy on the same host forwarding an outside client, with no TRUSTED_PROXIES: still refused.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403


def test_metrics_behind_trusted_proxies_see_the_real_client(tmp_path, request):
    app = make_app("sqlite", tmp_path, request, TRUSTED_PROXIES=1)
    with app.app_context():
        client = app.test_client()
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
        assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
        db.session.remove()


def test_with_a_token_every_client_needs_it(tmp_path, request):
    app = make_app("sqlite", tmp_path, request, METRICS_TOKEN="s3cret")
    with app.app_context():
        client = app.test_client()
        assert client.get("/metrics").status_code == 401  # loopback too
        assert client.get("/metrics", environ_base=OUTSIDE,
                          headers={"Authorization": "Bearer s3cre"}).status_code == 401
        ok = client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and "jury_cases" in ok.get_data(as_text=True)
        db.session.remove()


# Cache-Control


@pytest.mark.parametrize("role, paths", [
    ("juror", ["/", "/profile", "/guide", "/cases/{case}", "/sandbox/", "/cases/999999"]),
    ("lead", ["/lead/", "/lead/escalations", "/lead/cases/{case}/decide", "/lead/reports",
              "/lead/reports/download/transparency.csv", "/lead/reports/download/statements.csv"]),
])
def test_every_page_for_a_signed_in_user_and_every_export_is_no_store(client, auth, api, make_user, role, paths):
    case_id = reported_case(api)
    user = make_user("someone", role=role)
    if role == "juror":
        dealing.deal_next(user)
    auth.login("someone")
    for path in paths:
        response = client.get(path.format(case=case_id))
        assert response.status_code in (200, 404), path
        assert response.headers.get("Cache-Control") == "no-store", path
    assert "no-store" not in client.get("/static/jury.css").headers.get("Cache-Control", "")
    auth.logout()
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")


# Which case ids exist


def without_csrf_token(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page)


def test_a_case_not_dealt_to_a_juror_answers_like_a_missing_one(client, auth, api, make_user):
    case_id = reported_case(api)
    make_user("ann")
    auth.login("ann")
    existing, missing = client.get(f"/cases/{case_id}"), client.get(f"/cases/{case_id + 1000}")
    assert existing.status_code == missing.status_code == 404
    assert without_csrf_token(existing.get_data(as_text=True)) == without_csrf_token(missing.get_data(as_text=True))
    voted = [client.post(f"/cases/{cid}/vote", data={"decision": "keep"}) for cid in (case_id, case_id + 1000)]
    assert voted[0].status_code == voted[1].status_code == 404
    assert without_csrf_token(voted[0].get_data(as_text=True)) == without_csrf_token(voted[1].get_data(as_text=True))
    skipped = [client.post(f"/cases/{cid}/skip") for cid in (case_id, case_id + 1000)]
    assert skipped[0].status_code == skipped[1].status_code
    assert skipped[0].get_data() == skipped[1].get_data()


# A lead's decision


@pytest.mark.parametrize("form, message", [
    ({"outcome": "remove", "rule": "not-a-rule", "note": "spam"}, "That is not one of the rules"),
    ({"outcome": "remove", "rule": "", "note": "spam"}, "A removal needs one of the rules"),
    ({"outcome": "delete", "rule": "spam", "note": "spam"}, "The decision must be Remove or Keep"),
])
def test_a_lead_decision_with_an_invalid_rule_is_a_400_that_says_why(client, auth, api, make_user, form, message):
    case_id = reported_case(api)
    db.session.execute(update(Case).values(state="escalated"))
    db.session.commit()
    make_user("boss", role="lead")
    auth.login("boss")
    response = client.post(f"/lead/cases/{case_id}/decide", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Verdict)) is None
    ok = client.post(f"/lead/cases/{case_id}/decide", data={"outcome": "remove", "rule": "spam", "note": "spam"})
    assert ok.status_code == 302 and db.session.scalar(select(Verdict.rule)) == "spam"
