"""POST /api/v1/webhooks/mastodon: `report.created` deliveries, signed with X-Hub-Signature."""
from __future__ import annotations

import logging

from flask import current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from jury.web.api.api_blueprint import bp, error
from jury.web.signed import MAX_JSON_DEPTH, BadJson, load_json, read_body
from network.mastodon import HUB_SIGNATURE_HEADER, verify_hub_signature
from network.signing import SignatureError
from triage import mastodon_reports

log = logging.getLogger(__name__)


@bp.post("/webhooks/mastodon")
def mastodon_webhook():
    """Take one webhook delivery; replays are harmless (reports are stored by their Mastodon ids)."""
    config = current_app.config
    if config.get("NETWORK_ADAPTER") != "mastodon":
        return error(404, "the Mastodon webhook is off: NETWORK_ADAPTER is not mastodon")
    cap = config["INTAKE_MAX_BYTES"]
    try:
        raw = read_body(cap)
        verify_hub_signature(config["NETWORK_WEBHOOK_SECRET"], raw, request.headers.get(HUB_SIGNATURE_HEADER))
        outcome = mastodon_reports.receive_event(load_json(raw, MAX_JSON_DEPTH))
    except RequestEntityTooLarge:
        return error(413, f"request body over {cap} bytes")
    except SignatureError as problem:
        log.info("rejected Mastodon webhook from %s: %s", request.remote_addr, problem)
        return error(401, f"bad signature: {problem}")
    except (BadJson, mastodon_reports.ReportShapeError) as problem:
        return error(400, str(problem))
    if isinstance(outcome, str):
        return jsonify({"ignored": outcome}), 200
    return jsonify(outcome.as_dict()), 202
