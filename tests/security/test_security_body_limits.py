"""Hostile bodies on the signed endpoints: nesting deep enough to break a recursive parser, and
chunked bodies (no Content-Length) over the cap."""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from jury.demo.devserver import LiveServer
from models import db
from network.signing import SIGNATURE_HEADER, sign, sign_v2
from tests.conftest import INTAKE_SECRET, WEBHOOK_SECRET, make_app, post_payload

DEPTH = 1000


def nested(depth: int) -> str:
    """A JSON array nested `depth` levels deep."""
    return "[" * depth + "]" * depth


def deep_bodies(depth: int) -> dict[str, bytes]:
    """For each signed endpoint, a body that is valid but for one deeply nested field."""
    return {
        "/api/v1/posts": json.dumps({"posts": [post_payload("p1")]})[:-3].encode() + b', "x": '
                         + nested(depth).encode() + b"}]}",
        "/api/v1/reports": b'{"reports": ' + nested(depth).encode() + b"}",
        "/api/v1/appeals": b'{"post_id": "p1", "appellant_id": "a", "statement": "s", "x": '
                           + nested(depth).encode() + b"}",
        "/sandbox/moderation/actions": b'{"action_id": "a1", "type": "notify", "account_id": "x", "x": '
                                       + nested(depth).encode() + b"}",
    }


@pytest.mark.parametrize("path", list(deep_bodies(1)))
@pytest.mark.parametrize("depth", [DEPTH, 100_000])
def test_deeply_nested_json_with_a_valid_signature_is_a_json_400(sqlite_app, path, depth):
    body = deep_bodies(depth)[path]
    secret = WEBHOOK_SECRET if path.startswith("/sandbox") else INTAKE_SECRET
    response = sqlite_app.test_client().post(path, data=body, headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: sign_v2(secret, "POST", path, body)})
    assert response.status_code == 400 and response.is_json
    assert "nested too deeply" in response.get_json()["error"]


def test_the_sandbox_refuses_an_action_too_deep_to_store(sqlite_app):
    # Shallow enough to parse, too deep to be written back as JSON in a request.
    body = deep_bodies(500)["/sandbox/moderation/actions"]
    response = sqlite_app.test_client().post("/sandbox/moderation/actions", data=body, headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body)})
    assert response.status_code == 400 and "nested too deeply" in response.get_json()["error"]


def chunked_post(url: str, path: str, chunks: int, chunk: bytes, header: str | None = None):
    """POST with Transfer-Encoding: chunked (no Content-Length); (status, json body or text)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if header:
        headers[SIGNATURE_HEADER] = header
    try:
        connection.request("POST", path, body=(chunk for _ in range(chunks)), headers=headers,
                           encode_chunked=True)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
    except (BrokenPipeError, ConnectionResetError):  # the server may hang up once it has answered
        pytest.fail("the server hung up without an answer")
    finally:
        connection.close()
    return response.status, response.getheader("Content-Type", ""), text


@pytest.mark.parametrize("path, cap", [("/api/v1/posts", 4096), ("/api/v1/reports", 4096),
                                       ("/api/v1/appeals", 4096), ("/sandbox/moderation/actions", 256 * 1024)])
def test_a_chunked_body_over_the_cap_is_413_before_any_signature_check(tmp_path, request, path, cap):
    app = make_app("sqlite", tmp_path, request, INTAKE_MAX_BYTES=4096)
    with app.app_context(), LiveServer(app) as server:
        # Unsigned: only the size can answer, and it must answer 413, not 401.
        status, content_type, text = chunked_post(server.url, path, cap // 1024 + 8, b" " * 1024)
        assert status == 413, text[:200]
        assert content_type.startswith("application/json") and "over" in json.loads(text)["error"]
        # The same route under the cap, chunked, still reaches the signature check.
        status, _, _ = chunked_post(server.url, path, 2, b" " * 100)
        assert status == 401
        db.session.remove()
