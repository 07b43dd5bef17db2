import json

import pytest
import requests

from network import ActionRequest, Outcome, WebhookAdapter
from network.signing import SIGNATURE_HEADER


def _request(**overrides):
    fields = dict(
        action_id="act-7c1d",
        type="hide_post",
        post_id="post-42",
        account_id="acct-9",
        case_id="case-3",
        rule="Rule 4: harassment",
        statement_of_reasons="The jury found the post targets a named person. «Ünïcode» too.",
    )
    fields.update(overrides)
    return ActionRequest(**fields)


@pytest.fixture
def adapter(fake_network):
    return WebhookAdapter(fake_network.url, fake_network.secret, timeout=2.0)


def _assert_no_secrets(result, secret, received=()):
    assert secret not in result.detail
    for request in received:
        assert request.headers[SIGNATURE_HEADER.lower()] not in result.detail
    assert len(result.detail) <= 500


@pytest.mark.parametrize("status", [200, 201, 202, 204, 409])
def test_success_and_duplicate_are_done(fake_network, adapter, status):
    fake_network.respond(status, b"" if status == 204 else b'{"receipt":"r-1"}')
    result = adapter.deliver(_request())
    assert result.outcome is Outcome.DONE
    assert result.status_code == status
    assert str(status) in result.detail
    _assert_no_secrets(result, fake_network.secret, fake_network.received)


def test_receipt_is_response_text(fake_network, adapter):
    fake_network.respond(200, b'{"receipt":"r-1"}')
    assert adapter.deliver(_request()).receipt == '{"receipt":"r-1"}'


def test_receipt_truncated(fake_network, adapter):
    fake_network.respond(200, b"x" * 50_000)
    assert adapter.deliver(_request()).receipt == "x" * 2000


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_permanent(fake_network, adapter, status):
    fake_network.respond(status, b'{"error":"no such post"}')
    result = adapter.deliver(_request())
    assert result.outcome is Outcome.PERMANENT
    assert result.status_code == status
    assert result.detail == f"HTTP {status}"
    assert result.receipt == '{"error":"no such post"}'


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_server_errors_are_retried(fake_network, adapter, status):
    fake_network.respond(status)
    result = adapter.deliver(_request())
    assert result.outcome is Outcome.RETRY
    assert result.status_code == status
    assert result.detail == f"HTTP {status}"


def test_redirect_is_not_followed(fake_network, adapter):
    fake_network.respond(301, headers={"Location": "http://elsewhere.test/moderation/actions"})
    result = adapter.deliver(_request())
    assert result.outcome is Outcome.PERMANENT
    assert result.status_code == 301
    assert "redirect" in result.detail
    assert len(fake_network.received) == 1


def test_timeout_is_retried(fake_network):
    fake_network.respond(200, delay=1.0)
    result = WebhookAdapter(fake_network.url, fake_network.secret, timeout=0.2).deliver(_request())
    assert result.outcome is Outcome.RETRY
    assert result.status_code is None
    assert result.detail == "timeout after 0.2s"
    _assert_no_secrets(result, fake_network.secret)


def test_closed_port_is_retried(closed_port_url):
    result = WebhookAdapter(closed_port_url, "closed-port-secret", timeout=2.0).deliver(_request())
    assert result.outcome is Outcome.RETRY
    assert result.status_code is None
    assert result.detail.startswith("connection error")
    assert "refused" in result.detail.lower()
    _assert_no_secrets(result, "closed-port-secret")


def test_server_sees_signed_request_with_contract_headers(fake_network, adapter):
    request = _request(appeal_url="https://jury.example/appeals/case-3")
    adapter.deliver(request)

    [seen] = fake_network.received
    assert seen.path == "/moderation/actions"
    assert seen.signature_error is None
    assert seen.headers["idempotency-key"] == request.action_id
    assert seen.headers["content-type"] == "application/json"
    assert seen.payload == {
        "action_id": "act-7c1d",
        "type": "hide_post",
        "post_id": "post-42",
        "account_id": "acct-9",
        "case_id": "case-3",
        "rule": "Rule 4: harassment",
        "statement_of_reasons": "The jury found the post targets a named person. «Ünïcode» too.",
        "appeal_url": "https://jury.example/appeals/case-3",
    }


def test_body_is_compact_json_without_unset_appeal_url(fake_network, adapter):
    adapter.deliver(_request(post_id=None, type="warn_account"))
    [seen] = fake_network.received
    assert seen.signature_error is None
    assert seen.body == json.dumps(seen.payload, separators=(",", ":")).encode()
    assert "appeal_url" not in seen.payload
    assert seen.payload["post_id"] is None


def test_base_url_trailing_slash_and_path_prefix(fake_network):
    WebhookAdapter(fake_network.url + "/", fake_network.secret).deliver(_request())
    WebhookAdapter(fake_network.url + "/jury/", fake_network.secret).deliver(_request())
    assert [seen.path for seen in fake_network.received] == ["/moderation/actions", "/jury/moderation/actions"]


def test_wrong_secret_is_rejected_by_the_network(fake_network):
    # The fake network answers 401 to a bad signature; a misconfigured secret must dead-letter, not loop.
    result = WebhookAdapter(fake_network.url, "not-the-secret").deliver(_request())
    assert fake_network.received[0].signature_error == "signature does not match the request body"
    assert result.outcome is Outcome.PERMANENT
    assert result.status_code == 401
    assert "not-the-secret" not in result.detail


def test_retries_reuse_the_same_idempotency_key(fake_network, adapter):
    request = _request()
    fake_network.respond(503)
    assert adapter.deliver(request).outcome is Outcome.RETRY
    fake_network.respond(409)
    assert adapter.deliver(request).outcome is Outcome.DONE
    keys = {seen.headers["idempotency-key"] for seen in fake_network.received}
    assert keys == {request.action_id}
    assert all(seen.signature_error is None for seen in fake_network.received)


class _ExplodingSession:
    def __init__(self, exc):
        self.exc = exc

    def post(self, *args, **kwargs):
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("proxy said: whsec-leaky in X-Jury-Signature"),
        requests.exceptions.ChunkedEncodingError("whsec-leaky"),
    ],
)
def test_unexpected_errors_are_retried_and_redacted(exc):
    adapter = WebhookAdapter("https://network.test", "whsec-leaky", session=_ExplodingSession(exc))
    result = adapter.deliver(_request())
    assert result.outcome is Outcome.RETRY
    assert result.status_code is None
    assert "whsec-leaky" not in result.detail
    assert "[redacted]" in result.detail


def test_actions_carry_v1_for_old_receivers_and_v2_bound_to_post_and_the_real_path(fake_network):
    from urllib.parse import unquote

    from network.signing import SCHEME, SCHEME_V2, SignatureError, verify

    WebhookAdapter(fake_network.url + "/jury%20hooks", fake_network.secret).deliver(_request())
    [seen] = fake_network.received
    header = seen.headers[SIGNATURE_HEADER.lower()]
    timestamp, v1, v2 = header.split(",")
    assert v1.startswith("v1=") and v2.startswith("v2=") and seen.signature_error is None
    path = unquote(seen.path)
    assert path == "/jury hooks/moderation/actions"
    assert verify(fake_network.secret, seen.body, f"{timestamp},{v2}", method="POST", path=path,
                  schemes=(SCHEME_V2,)) > 0
    # v2 alone, checked against another path or method, is refused; v1 still checks the body.
    for method, other in (("POST", "/moderation/actions"), ("GET", path)):
        with pytest.raises(SignatureError):
            verify(fake_network.secret, seen.body, f"{timestamp},{v2}", method=method, path=other,
                   schemes=(SCHEME, SCHEME_V2))
