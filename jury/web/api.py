"""The signed intake API and its OpenAPI document."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from jury import replay
from jury.extensions import csrf
from jury.openapi import openapi_document
from network.signing import SIGNATURE_HEADER, SignatureError, verify
from triage import intake
from triage.schemas import IntakeError, PayloadTooLarge, PostBatch, ReportBatch, parse

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
log = logging.getLogger(__name__)


def _error(status: int, message: str, field: str | None = None):
    body = {"error": message}
    if field:
        body["field"] = field
    return jsonify(body), status


def _signed_json(model):
    """Read, size-check, authenticate and validate the body; returns a model or an error response."""
    cap = current_app.config["INTAKE_MAX_BYTES"]
    # Checked before reading, and enforced while reading for bodies without a length.
    request.max_content_length = cap
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None, _error(413, f"request body over {cap} bytes")
    try:
        timestamp = verify(current_app.config["INTAKE_SECRET"], raw, request.headers.get(SIGNATURE_HEADER))
    except SignatureError as error:
        log.info("rejected intake request from %s: %s", request.remote_addr, error)
        return None, _error(401, f"bad signature: {error}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, _error(400, "body is not valid UTF-8 JSON", "body")
    try:
        batch = parse(model, data, current_app.config["INTAKE_MAX_ITEMS"])
    except PayloadTooLarge as error:
        return None, _error(413, error.message, error.field)
    except IntakeError as error:
        return None, _error(400, error.message, error.field)
    try:
        # The schema names a bad field; this catches a lone-surrogate escape (\ud800) anywhere else.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return None, _error(400, "body holds invalid Unicode (a lone surrogate escape)", "body")
    try:
        # Last, so only a request about to be stored uses up its signature (see jury/replay.py).
        replay.claim(timestamp, raw)
    except replay.Replayed:
        log.info("rejected replayed intake request from %s", request.remote_addr)
        return None, _error(409, "this signed request was already accepted; sign it again to resend")
    return batch, None


@bp.post("/posts")
def posts():
    """Receive a batch of posts."""
    batch, failure = _signed_json(PostBatch)
    if failure:
        return failure
    return jsonify(intake.ingest_posts(batch.posts).as_dict()), 202


@bp.post("/reports")
def reports():
    """Receive a batch of reports (each may carry its post)."""
    batch, failure = _signed_json(ReportBatch)
    if failure:
        return failure
    try:
        counts = intake.ingest_reports(batch.reports)
    except IntakeError as error:
        return _error(400, error.message, error.field)
    return jsonify(counts.as_dict()), 202


@bp.get("/openapi.json")
def openapi():
    """The API's OpenAPI 3.1 description."""
    return jsonify(openapi_document())
