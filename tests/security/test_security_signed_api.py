"""Forged, stale, future, replayed and re-ordered signed intake requests; the API's rate limit."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jury.web import replay
from models import AuditEvent, Post, SignatureNonce, db, utcnow
from network.signing import SIGNATURE_HEADER, sign
from tests.conftest import INTAKE_SECRET, make_app, post_payload, signed

POSTS = "/api/v1/posts"


def count(model) -> int:
    """Rows in a table."""
    return db.session.scalar(select(func.count()).select_from(model))


def send(client, body: bytes, header: str | None, path: str = POSTS):
    """POST raw bytes with the given signature header."""
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[SIGNATURE_HEADER] = header
    return client.post(path, data=body, headers=headers)


def body_of(*ids: str) -> bytes:
    """A posts batch as bytes."""
    return json.dumps({"posts": [post_payload(pid) for pid in ids]}).encode()


@pytest.mark.parametrize("forge", [
    "wrong secret", "body changed", "timestamp changed", "no header", "empty header", "not hex", "no v1",
    "two timestamps", "signature of another body",
])
def test_forged_requests_are_401_and_store_nothing(client, forge):
    body, now = body_of("p1"), int(time.time())
    good = sign(INTAKE_SECRET, body, now)
    header = {
        "wrong secret": sign("not-the-secret", body, now),
        "body changed": good,
        "timestamp changed": good.replace(f"t={now}", f"t={now - 1}"),
        "no header": None,
        "empty header": "",
        "not hex": f"t={now},v1=" + "z" * 64,
        "no v1": f"t={now}",
        "two timestamps": f"t={now},t={now},{good.split(',')[1]}",
        "signature of another body": sign(INTAKE_SECRET, body_of("p2"), now),
    }[forge]
    sent = body.replace(b"p1", b"p9") if forge == "body changed" else body
    response = send(client, sent, header)
    assert response.status_code == 401 and "signature" in response.get_json()["error"]
    assert count(Post) == 0 and count(SignatureNonce) == 0


@pytest.mark.parametrize("offset", [-301, -3600, 301, 86_400])
def test_stale_and_future_timestamps_are_401(client, offset):
    body = body_of("p1")
    response = send(client, body, sign(INTAKE_SECRET, body, int(time.time()) + offset))
    assert response.status_code == 401
    assert count(Post) == 0


def test_a_replayed_request_is_409_and_changes_nothing(client):
    body, headers = signed({"posts": [post_payload("p1")]})
    assert client.post(POSTS, data=body, headers=headers).status_code == 202
    events = count(AuditEvent)
    for _ in range(3):
        again = client.post(POSTS, data=body, headers=headers)
        assert again.status_code == 409 and "already accepted" in again.get_json()["error"]
    assert count(Post) == 1 and count(AuditEvent) == events
    # Re-signed, the same ids are welcome again: intake stays idempotent on ids.
    resent = client.post(POSTS, data=body, headers=signed(body, timestamp=int(time.time()) - 30)[1])
    assert resent.status_code == 202 and resent.get_json()["duplicates"] == 1


def test_a_signature_cannot_be_replayed_on_another_endpoint(client):
    body, headers = signed({"posts": [post_payload("p1")], "reports": []})
    assert client.post(POSTS, data=body, headers=headers).status_code == 202
    # The signature covers the body, not the path; the replay cache covers both endpoints.
    assert client.post("/api/v1/reports", data=body, headers=headers).status_code in (400, 409)


def test_requests_out_of_order_inside_the_window_are_accepted(client):
    now = int(time.time())
    newer, older = body_of("p-new"), body_of("p-old")
    assert send(client, newer, sign(INTAKE_SECRET, newer, now - 10)).status_code == 202
    # Sent later but signed earlier (a slower worker of the network): still inside five minutes.
    assert send(client, older, sign(INTAKE_SECRET, older, now - 250)).status_code == 202
    assert send(client, older, sign(INTAKE_SECRET, older, now - 250)).status_code == 409
    assert count(Post) == 2


def test_a_request_that_failed_may_be_sent_again_unchanged(client, monkeypatch):
    from triage import intake

    real = intake._store_posts
    calls = []

    def flaky(posts):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(posts)

    monkeypatch.setattr(intake, "_store_posts", flaky)
    body, headers = signed({"posts": [post_payload("p1")]})
    with pytest.raises(RuntimeError):
        client.post(POSTS, data=body, headers=headers)  # a 500 in production
    assert count(SignatureNonce) == 0  # rolled back with the batch
    assert client.post(POSTS, data=body, headers=headers).status_code == 202
    assert client.post(POSTS, data=body, headers=headers).status_code == 409


def test_a_refused_body_does_not_use_up_its_signature(client):
    body, headers = signed({"posts": [{"id": "p1"}]})
    assert client.post(POSTS, data=body, headers=headers).status_code == 400
    assert count(SignatureNonce) == 0


def test_expired_signatures_are_forgotten(app, client, monkeypatch):
    db.session.add(SignatureNonce(digest="0" * 64, expires_at=utcnow() - timedelta(seconds=1)))
    db.session.add(SignatureNonce(digest="1" * 64, expires_at=utcnow() + timedelta(minutes=5)))
    db.session.commit()
    monkeypatch.setattr(replay, "_last_purge", 0.0)
    body, headers = signed({"posts": [post_payload("p1")]})
    assert client.post(POSTS, data=body, headers=headers).status_code == 202
    assert set(db.session.scalars(select(SignatureNonce.digest))) == {"1" * 64, replay.request_digest(
        int(headers[SIGNATURE_HEADER].split(",")[0][2:]), body)}


@pytest.mark.postgres
def test_the_same_request_sent_in_parallel_is_stored_once(pg_app):
    body, headers = signed({"posts": [post_payload("p1"), post_payload("p2")]})
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def one():
        with pg_app.app_context():
            client = pg_app.test_client()
            barrier.wait()
            statuses.append(client.post(POSTS, data=body, headers=headers).status_code)
            db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] + [409] * 7
    assert count(Post) == 2


def test_the_api_is_rate_limited_with_json_429(tmp_path, request):
    app = make_app("sqlite", tmp_path, request, API_RATE_LIMIT="3/minute")
    with app.app_context():
        client = app.test_client()
        answers = [client.post(POSTS, data=b"{}", headers={"Content-Type": "application/json"}) for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert answers[-1].is_json and "Too many requests" in answers[-1].get_json()["error"]
        assert int(answers[-1].headers["Retry-After"]) > 0
        # Another network address has its own allowance.
        other = client.post(POSTS, data=b"{}", environ_base={"REMOTE_ADDR": "10.0.0.2"})
        assert other.status_code == 401
        db.session.remove()
