"""The intake API fuzzed from its own OpenAPI document (schemathesis): no input gets a 5xx.

Every generated request is signed, so the fuzzing reaches validation and storage rather than stopping
at the signature check. Valid and invalid bodies (positive and negative generation) are both sent.
A second, targeted property test puts NUL, lone surrogates, bidi and zero-width characters into
every free-text field, which schemathesis's valid examples never contain.
Bounded for CI: FUZZ_EXAMPLES per operation and backend (default 30).
"""
from __future__ import annotations

import json
import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from jury.web.openapi import openapi_document
from tests.conftest import signed

DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")),
    database="none",  # no example database left behind in the checkout
)


def raw_body(case) -> bytes:
    """The generated body as the bytes that get signed and sent."""
    body = getattr(case, "body", None)
    if body is None or type(body).__name__ == "NotSet":
        return b""
    if isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                 HealthCheck.filter_too_much])
def test_the_api_never_answers_5xx(app, client, case):
    raw = raw_body(case)
    body, headers = signed(raw)
    response = client.open(case.formatted_path, method=case.method.upper(), data=body, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if case.method.upper() != "POST":
        # Negative generation also tries other methods: refused, or the automatic OPTIONS answer.
        assert response.status_code in (405, 200 if case.method.upper() == "OPTIONS" else 405)
        return
    # Every answer is one the OpenAPI document lists for this operation.
    documented = {int(code) for code in DOCUMENT["paths"][case.path][case.method.lower()]["responses"]}
    assert response.status_code in documented, (response.status_code, raw[:200])
    assert response.is_json
    payload = response.get_json()
    if response.status_code == 201:
        assert isinstance(payload, dict) and "error" not in payload
    elif response.status_code == 202:
        assert set(payload) >= {"received", "created", "duplicates"}
    else:
        assert isinstance(payload.get("error"), str)


# Schemathesis keeps valid examples inside the published patterns; this sends any characters at all
# (NUL, surrogates, controls) into every free-text field, behind a valid prefix where one is needed.
SPECIAL = ["\x00", "\ud800", "\udfff", "\u202e", "\u200b", "\ufeff", "\x7f", "\n", " ", "<", '"', "\\"]
_ANY = st.text(alphabet=st.characters(codec=None), max_size=20)
# Each value holds at least one of the characters that break databases, logs or layouts.
FIELD_TEXT = st.builds(lambda head, special, tail: head + special + tail, _ANY, st.sampled_from(SPECIAL), _ANY)


@given(field=st.sampled_from(["id", "author_id", "text", "lang", "url", "created_at", "comment"]),
       value=FIELD_TEXT)
@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")) * 2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_characters_in_any_field_never_5xx(app, client, field, value):
    post = {"id": "p1", "author_id": "a1", "text": "hello", "url": "https://net.example/p/1"}
    if field == "comment":
        payload = {"reports": [{"id": "r1", "post_id": "p1", "reporter_id": "u1", "reason": "spam",
                                "comment": value, "post": post}]}
        path = "/api/v1/reports"
    else:
        post[field] = "https://net.example/" + value if field == "url" else value
        payload, path = {"posts": [post]}, "/api/v1/posts"
    raw = json.dumps(payload).encode()  # ensure_ascii: lone surrogates travel as \\ud800 escapes
    body, headers = signed(raw)
    response = client.post(path, data=body, headers=headers)
    assert response.status_code in (202, 400, 409), (field, value, response.get_data(as_text=True)[:300])
