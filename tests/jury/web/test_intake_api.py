"""The signed intake API: counts, idempotency, and every error path."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from models import AuditEvent, Case, Post, Report, Score, db
from tests.conftest import post_payload, report_payload, signed


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_posts_are_accepted_scored_and_counted(api):
    response = api.posts(post_payload("p1"), post_payload("p2", "I will kill you tonight, you are dead"))
    assert response.status_code == 202
    assert response.get_json() == {"received": 2, "created": 2, "duplicates": 0, "posts_created": 0}
    # Jobs run inline: both posts are scored with a recorded model version.
    scores = db.session.scalars(select(Score)).all()
    assert len(scores) == 2 and all(s.model_version for s in scores)
    assert all(set(s.labels) >= {"toxicity", "threat"} for s in scores)


def test_resending_the_same_ids_is_harmless(api):
    assert api.posts(post_payload("p1")).status_code == 202
    again = api.posts(post_payload("p1", "edited text"), post_payload("p1"))
    assert again.status_code == 202
    assert again.get_json()["created"] == 0 and again.get_json()["duplicates"] == 2
    assert count(Post) == 1
    assert db.session.scalar(select(Post.text)) == "Nice weather today."


def test_reports_open_one_case_per_post_and_raise_its_priority(api):
    api.posts(post_payload("p1"))
    first = api.reports(report_payload("r1", "p1"))
    assert first.status_code == 202 and first.get_json()["created"] == 1
    case = db.session.scalar(select(Case))
    priority_one = case.priority
    api.reports(report_payload("r2", "p1", reporter="reporter-2"), report_payload("r3", "p1", reporter="reporter-3"))
    db.session.expire_all()
    cases = db.session.scalars(select(Case)).all()
    assert len(cases) == 1
    assert cases[0].report_count == 3 and cases[0].priority > priority_one
    # A re-sent report changes nothing.
    api.reports(report_payload("r3", "p1", reporter="reporter-3"))
    db.session.expire_all()
    assert db.session.scalar(select(Case.report_count)) == 3


def test_a_report_may_carry_its_post(api):
    response = api.reports(report_payload("r1", "p9", reason="violence_threat",
                                          post=post_payload("p9", "see you soon")))
    assert response.status_code == 202
    assert response.get_json() == {"received": 1, "created": 1, "duplicates": 0, "posts_created": 1}
    case = db.session.scalar(select(Case))
    assert case.origin == "reported" and case.severity == 3  # a threat report is critical


def test_report_for_unknown_post_stores_nothing(api):
    api.posts(post_payload("p1"))
    response = api.reports(report_payload("r1", "p1"), report_payload("r2", "nope"),
                           report_payload("r3", "p3", post=post_payload("p3")))
    assert response.status_code == 400
    assert response.get_json()["field"] == "reports[1].post_id"
    assert count(Report) == 0 and count(Case) == 0 and count(Post) == 1


def test_bad_signature_is_401(api, client):
    body, headers = signed({"posts": [post_payload("p1")]}, secret="wrong")
    assert client.post("/api/v1/posts", data=body, headers=headers).status_code == 401
    assert client.post("/api/v1/posts", json={"posts": [post_payload("p1")]}).status_code == 401
    body, headers = signed({"posts": [post_payload("p1")]})
    assert client.post("/api/v1/posts", data=body + b" ", headers=headers).status_code == 401
    assert count(Post) == 0


def test_old_signature_is_401_even_when_valid(api):
    stale = api.post("/api/v1/posts", {"posts": [post_payload("p1")]}, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401 and "old" in stale.get_json()["error"]
    assert count(Post) == 0


def test_replayed_request_changes_nothing(client):
    body, headers = signed({"posts": [post_payload("p1")]})
    assert client.post("/api/v1/posts", data=body, headers=headers).get_json()["created"] == 1
    replay = client.post("/api/v1/posts", data=body, headers=headers)
    assert replay.status_code == 409  # the same signature twice is refused (jury/web/replay.py)
    assert count(Post) == 1


def test_malformed_bodies_name_the_field(api):
    cases = [
        ({"posts": [post_payload("p1"), {"id": "p2", "author_id": "a"}]}, "posts[1].text"),
        ({"posts": [post_payload("p1", author="")]}, "posts[0].author_id"),
        ({"posts": []}, "posts"),
        ({"nothing": 1}, "posts"),
        ({"posts": [post_payload("p1", url="javascript:alert(1)")]}, "posts[0].url"),
        ({"posts": [post_payload("p1", created_at="yesterday")]}, "posts[0].created_at"),
        ({"posts": [post_payload("bad\nid")]}, "posts[0].id"),
        ([1, 2], "body"),
    ]
    for payload, field in cases:
        response = api.post("/api/v1/posts", payload)
        assert response.status_code == 400, payload
        assert response.get_json()["field"] == field, (payload, response.get_json())
    bad_reason = api.reports(report_payload("r1", "p1", reason="i-dont-like-it"))
    assert bad_reason.status_code == 400 and bad_reason.get_json()["field"] == "reports[0].reason"
    assert count(Post) == 0 and count(Report) == 0


def test_not_json_and_not_utf8_are_400(api):
    for raw in (b"{not json", b"\xff\xfe\x00garbage", b""):
        response = api.post("/api/v1/posts", raw)
        assert response.status_code == 400 and response.get_json()["field"] == "body"


def test_oversized_requests_are_413(app, api):
    app.config["INTAKE_MAX_BYTES"] = 10_000
    big = api.posts(post_payload("p1", "x" * 12_000))
    assert big.status_code == 413
    app.config["INTAKE_MAX_ITEMS"] = 3
    many = api.posts(*[post_payload(f"p{i}") for i in range(4)])
    assert many.status_code == 413 and many.get_json()["field"] == "posts"
    app.config["INTAKE_MAX_BYTES"] = 1_000_000
    too_long = api.posts(post_payload("p1", "y" * 20_001))
    assert too_long.status_code == 400 and too_long.get_json()["field"] == "posts[0].text"
    assert count(Post) == 0


def test_hostile_text_is_stored_verbatim(api):
    hostile = '<script>alert(1)</script>\u202e\u200b"><img src=x onerror=alert(1)> 🙂'
    assert api.posts(post_payload("p1", hostile)).status_code == 202
    assert db.session.scalar(select(Post.text)) == hostile


def test_intake_writes_audit_events(api):
    api.posts(post_payload("p1"))
    api.reports(report_payload("r1", "p1"))
    types = set(db.session.scalars(select(AuditEvent.event_type)))
    assert {"posts_received", "post_scored", "reports_received", "case_opened"} <= types


def test_openapi_document_is_valid(client):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert {"/api/v1/posts", "/api/v1/reports"} <= set(document["paths"])
    post_schema = document["components"]["schemas"]["PostIn"]
    assert post_schema["properties"]["text"]["maxLength"] == 20_000
    assert json.dumps(document)


def test_nul_bytes_are_kept_out_and_lone_surrogates_refused(api, client):
    assert api.posts(post_payload("p1", "before\x00after")).status_code == 202
    assert db.session.scalar(select(Post.text)) == "before\ufffdafter"
    body = b'{"posts": [{"id": "p2", "author_id": "a", "text": "bad \\ud800 half"}]}'
    response = api.post("/api/v1/posts", body)
    assert response.status_code == 400 and response.get_json()["field"] == "posts[0].text"
