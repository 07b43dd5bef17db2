"""The Mastodon webhook: `report.created` deliveries, signed with X-Hub-Signature."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from jury.extensions import csrf
from jury.web.signed import MAX_JSON_DEPTH, BadJson, load_json, read_body
from network.mastodon import HUB_SIGNATURE_HEADER, verify_hub_signature
from network.signing import SignatureError
from triage import mastodon

bp = Blueprint("mastodon_webhook", __name__, url_prefix="/api/v1/webhooks")
csrf.exempt(bp)
log = logging.getLogger(__name__)

HANDLED_EVENTS = ("report.created",)


def _error(status: int, message: str):
    return jsonify({"error": message}), status


@bp.post("/mastodon")
def receive():
    """Take one webhook delivery; replays are harmless (reports are stored by their Mastodon ids)."""
    config = current_app.config
    if config.get("NETWORK_ADAPTER") != "mastodon":
        return _error(404, "the Mastodon webhook is off: NETWORK_ADAPTER is not mastodon")
    cap = config["INTAKE_MAX_BYTES"]
    try:
        raw = read_body(cap)
    except RequestEntityTooLarge:
        return _error(413, f"request body over {cap} bytes")
    try:
        verify_hub_signature(config["NETWORK_WEBHOOK_SECRET"], raw, request.headers.get(HUB_SIGNATURE_HEADER))
    except SignatureError as error:
        log.info("rejected Mastodon webhook from %s: %s", request.remote_addr, error)
        return _error(401, f"bad signature: {error}")
    try:
        data = load_json(raw, MAX_JSON_DEPTH)
    except BadJson as error:
        return _error(400, str(error))
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return _error(400, "body must be a JSON object with an event")
    if data["event"] not in HANDLED_EVENTS:
        # Acknowledged so the instance does not retry an event Jury has no use for.
        return jsonify({"ignored": data["event"][:64]}), 200
    report = data.get("object")
    try:
        mastodon.to_intake(report, {})
    except mastodon.ReportShapeError as error:
        return _error(400, f"object: {error}")
    counts = mastodon.ingest([report], actor="mastodon:webhook")
    return jsonify(counts.as_dict()), 202
