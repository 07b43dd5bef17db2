"""Every signature Jury makes is bound to its purpose: a follow-links lookup cannot pass as an action,
a body signed for one intake endpoint is refused at another, and v1 keeps working beside v2."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from jury.demo import sandbox_network as sandbox
from models import Post, Report, SandboxAction, SandboxPost, SignatureNonce, db
from network import SandboxAdapter
from network.signing import SIGNATURE_HEADER, sign, sign_v2
from tests.conftest import INTAKE_SECRET, WEBHOOK_SECRET, post_payload, report_payload

POSTS, REPORTS = "/api/v1/posts", "/api/v1/reports"
ACTIONS = "/sandbox/moderation/actions"


def count(model) -> int:
    """Rows in a table."""
    return db.session.scalar(select(func.count()).select_from(model))


def send(client, path: str, body: bytes, header: str):
    """POST raw bytes with the given signature header."""
    return client.post(path, data=body, headers={"Content-Type": "application/json", SIGNATURE_HEADER: header})


class Captured:
    """A requests session that records what the adapter sends and answers 404."""

    def __init__(self):
        self.sent: list[tuple[str, dict]] = []

    def get(self, url, headers, **_):
        self.sent.append((url, headers))
        return type("Answer", (), {"status_code": 404})()


def test_a_captured_lookup_signature_cannot_be_replayed_as_an_action(app, client):
    sandbox.add_posts([{"id": "s1", "author_id": "victim", "text": "hello"}])
    # An attacker registers an account whose id is an action body, and waits for Jury to look it up.
    evil = json.dumps({"action_id": "evil-1", "type": "remove_post", "post_id": "s1"}, separators=(",", ":"))
    session = Captured()
    SandboxAdapter("http://127.0.0.1:9/sandbox", WEBHOOK_SECRET, session=session).relationships(evil)
    (_, headers), = session.sent
    response = send(client, ACTIONS, evil.encode(), headers[SIGNATURE_HEADER])
    assert response.status_code == 401 and response.is_json
    assert count(SandboxAction) == 0
    assert db.session.scalar(select(SandboxPost.state).where(SandboxPost.external_id == "s1")) == "visible"


def test_the_lookup_answers_only_a_v2_signature_made_for_its_own_path(app, client):
    sandbox.add_follows([("fan", "author-9")])
    path = "/sandbox/accounts/author-9/relationships"
    now = int(time.time())
    for header, status in [
        (sign_v2(WEBHOOK_SECRET, "GET", path, b"", now), 200),
        (sign(WEBHOOK_SECRET, b"author-9", now), 401),  # the old lookup format: v1 over the account id
        (sign_v2(WEBHOOK_SECRET, "GET", "/sandbox/accounts/someone-else/relationships", b"", now), 401),
        (sign_v2(WEBHOOK_SECRET, "POST", path, b"", now), 401),
    ]:
        response = client.get(path, headers={SIGNATURE_HEADER: header})
        assert response.status_code == status, header
    assert client.get(path, headers={SIGNATURE_HEADER: sign_v2(WEBHOOK_SECRET, "GET", path, b"", now)}
                      ).get_json() == {"accounts": ["fan"]}


def test_the_action_receiver_takes_v1_v2_or_both_and_refuses_v2_for_another_path(app, client):
    sandbox.add_posts([{"id": f"s{n}", "author_id": "a", "text": "hi"} for n in range(4)])
    now = int(time.time())

    def action(n: int) -> bytes:
        return json.dumps({"action_id": f"a{n}", "type": "hide_post", "post_id": f"s{n}"}).encode()

    assert send(client, ACTIONS, action(0), sign(WEBHOOK_SECRET, action(0), now)).status_code == 200
    assert send(client, ACTIONS, action(1), sign_v2(WEBHOOK_SECRET, "POST", ACTIONS, action(1), now)).status_code == 200
    both = sign_v2(WEBHOOK_SECRET, "POST", ACTIONS, action(2), now, with_v1=True)
    assert send(client, ACTIONS, action(2), both).status_code == 200
    for method, path in [("POST", "/moderation/actions"), ("PUT", ACTIONS), ("GET", ACTIONS)]:
        refused = send(client, ACTIONS, action(3), sign_v2(WEBHOOK_SECRET, method, path, action(3), now))
        assert refused.status_code == 401, (method, path)
    assert count(SandboxAction) == 3


def test_intake_takes_v2_bound_to_its_endpoint_and_still_takes_v1(client):
    now = int(time.time())
    one, two, three = (json.dumps({"posts": [post_payload(pid)]}).encode() for pid in ("p1", "p2", "p3"))
    assert send(client, POSTS, one, sign(INTAKE_SECRET, one, now)).status_code == 202
    assert send(client, POSTS, two, sign_v2(INTAKE_SECRET, "POST", POSTS, two, now)).status_code == 202
    both = sign_v2(INTAKE_SECRET, "POST", POSTS, three, now, with_v1=True)
    assert send(client, POSTS, three, both).status_code == 202
    assert count(Post) == 3
    # Single use holds for v2 and for a header with both.
    assert send(client, POSTS, two, sign_v2(INTAKE_SECRET, "POST", POSTS, two, now)).status_code == 409
    assert send(client, POSTS, three, both).status_code == 409
    assert count(Post) == 3


@pytest.mark.parametrize("method, path", [
    ("POST", REPORTS), ("POST", "/api/v1/appeals"), ("PUT", POSTS), ("GET", POSTS), ("POST", POSTS + "/"),
    ("POST", "/API/v1/posts"),
])
def test_a_v2_signature_for_another_method_or_path_is_401_and_stores_nothing(client, method, path):
    body = json.dumps({"posts": [post_payload("p1")]}).encode()
    response = send(client, POSTS, body, sign_v2(INTAKE_SECRET, method, path, body))
    assert response.status_code == 401 and "signature" in response.get_json()["error"]
    assert count(Post) == 0 and count(SignatureNonce) == 0
    # The same bytes signed for POST /api/v1/posts are welcome.
    assert send(client, POSTS, body, sign_v2(INTAKE_SECRET, "POST", POSTS, body)).status_code == 202


def test_a_reports_body_signed_v2_for_posts_is_401_at_reports(client):
    body = json.dumps({"reports": [report_payload("r1", "p1", post=post_payload("p1"))]}).encode()
    response = send(client, REPORTS, body, sign_v2(INTAKE_SECRET, "POST", POSTS, body))
    assert response.status_code == 401
    assert count(Report) == 0 and count(Post) == 0
    assert send(client, REPORTS, body, sign_v2(INTAKE_SECRET, "POST", REPORTS, body)).status_code == 202
    assert count(Report) == 1


def test_a_v1_body_valid_at_two_endpoints_is_refused_at_both_and_stores_nothing(client):
    # v1 covers the body alone: a body meant for posts that is also a reports batch must not land in reports.
    body = json.dumps({"posts": [post_payload("p1")],
                       "reports": [report_payload("r1", "p1", post=post_payload("p1"))]}).encode()
    for path in (REPORTS, POSTS):
        response = send(client, path, body, sign(INTAKE_SECRET, body))
        assert response.status_code == 400, path
        assert "also a valid request" in response.get_json()["error"]
    assert count(Report) == 0 and count(Post) == 0 and count(SignatureNonce) == 0


def test_a_network_following_the_published_v2_recipe_is_accepted(client):
    import hashlib
    import hmac

    described = client.get("/api/v1/openapi.json").get_json()["components"]["securitySchemes"]["signature"]
    assert "v2" in described["description"] and "jury-signature-v2" in described["description"]
    body, t = json.dumps({"posts": [post_payload("p1")]}).encode(), int(time.time())
    key = hmac.new(INTAKE_SECRET.encode(), b"jury-signature-v2", hashlib.sha256).digest()
    v2 = hmac.new(key, f"{t}\nPOST\n{POSTS}\n".encode() + body, hashlib.sha256).hexdigest()
    assert send(client, POSTS, body, f"t={t},v2={v2}").status_code == 202


def test_the_lookup_signature_survives_percent_encoding_over_real_http(app, live_server):
    # The adapter signs the decoded path; the server checks the path it decoded from the request line.
    sandbox.add_follows([("fan", "a bé?#%+")])
    adapter = SandboxAdapter(live_server.url + "/sandbox", WEBHOOK_SECRET)
    assert adapter.relationships("a bé?#%+") == {"fan"}
    assert adapter.relationships("nobody at all") == set()
