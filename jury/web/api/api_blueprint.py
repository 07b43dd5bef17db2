"""/api/v1: the one blueprint of the network's signed API (intake, appeals relayed, Mastodon's webhook)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from jury.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # authenticated by signatures, never by a browser session


def error(status: int, message: str, field: str | None = None):
    """The API's error body: {"error": ..., "field": ...} with its status."""
    body = {"error": message}
    if field:
        body["field"] = field
    return jsonify(body), status
