"""The intake API fuzzed from its own OpenAPI document (schemathesis): no input gets a 5xx.

Every generated request is signed, so the fuzzing reaches validation and storage rather than stopping
at the signature check. Valid and invalid bodies (positive and negative generation) are both sent.
Bounded for CI: FUZZ_EXAMPLES per operation and backend (default 30).
"""
from __future__ import annotations

import json
import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from jury.openapi import openapi_document
from tests.conftest import signed

DOCUMENTED = {202, 400, 401, 409, 413, 429}
schema = schemathesis.openapi.from_dict(openapi_document())
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
    assert response.status_code in DOCUMENTED, (response.status_code, raw[:200])
    assert response.is_json
    payload = response.get_json()
    if response.status_code == 202:
        assert set(payload) >= {"received", "created", "duplicates"}
    else:
        assert isinstance(payload.get("error"), str)
