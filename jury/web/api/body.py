"""Reading a signed API body: size cap, signature, schema, one endpoint per body, replay."""
from __future__ import annotations

import json
import logging

from flask import current_app, request
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from jury.web import replay
from jury.web.api.api_blueprint import error
from jury.web.signed import BadJson, load_json, read_body, verify_request
from network.signing import SCHEME, SCHEME_V2, SignatureError
from triage.schemas import AppealIn, IntakeError, PayloadTooLarge, PostBatch, ReportBatch, parse

log = logging.getLogger(__name__)
# Intake takes v1 (the body only) and v2 (also the method and path: see network/signing.py).
INTAKE_SCHEMES = (SCHEME, SCHEME_V2)
# Each signed endpoint's body: a body valid at two of them is refused at both.
ENDPOINT_MODELS = {"/api/v1/posts": PostBatch, "/api/v1/reports": ReportBatch, "/api/v1/appeals": AppealIn}


def signed_json(model):
    """Read, size-check, authenticate and validate the body; returns a model or an error response."""
    cap = current_app.config["INTAKE_MAX_BYTES"]
    # Checked before reading, and enforced while reading for chunked bodies (see read_body).
    try:
        raw = read_body(cap)
    except RequestEntityTooLarge:
        return None, error(413, f"request body over {cap} bytes")
    try:
        timestamp = verify_request(current_app.config["INTAKE_SECRET"], raw, INTAKE_SCHEMES)
    except SignatureError as problem:
        log.info("rejected intake request from %s: %s", request.remote_addr, problem)
        return None, error(401, f"bad signature: {problem}")
    try:
        batch = _validated(model, raw)
    except PayloadTooLarge as problem:
        return None, error(413, problem.message, problem.field)
    except IntakeError as problem:
        return None, error(400, problem.message, problem.field)
    try:
        # Last, so only a request about to be stored uses up its signature (see jury/web/replay.py).
        replay.claim(timestamp, raw)
    except replay.Replayed:
        log.info("rejected replayed intake request from %s", request.remote_addr)
        return None, error(409, "this signed request was already accepted; sign it again to resend")
    return batch, None


def _validated(model, raw: bytes):
    """The body as `model`, or IntakeError naming what is wrong with it (never RecursionError)."""
    try:
        data = load_json(raw)
        batch = parse(model, data, current_app.config["INTAKE_MAX_ITEMS"])
        # The schema names a bad field; this catches a lone-surrogate escape (\ud800) anywhere else.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except BadJson as problem:
        raise IntakeError("body", str(problem)) from None
    except RecursionError:
        # Decoded, but too deep for the schema or the re-encoding (ignored fields may nest anything).
        raise IntakeError("body", "body is nested too deeply") from None
    except UnicodeEncodeError:
        raise IntakeError("body", "body holds invalid Unicode (a lone surrogate escape)") from None
    for path, other in ENDPOINT_MODELS.items():
        # A v1 signature covers the body only: a body that two endpoints would take is refused at both.
        if other is not model and _valid_as(other, data):
            raise IntakeError("body", f"this body is also a valid request to POST {path}; "
                                      "send each kind of request on its own")
    return batch


def _valid_as(model, data: object) -> bool:
    """Whether `data` is a valid body for `model` (cheap when it is not: a required key is missing)."""
    try:
        model.model_validate(data)
    except (ValidationError, RecursionError):
        return False
    return True
