"""Blueprints: thin views that parse, call one service, and render or redirect."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request

from jury.web import api, appeal_page, auth, juror, lead, ops, prometheus, sandbox_pages, unavailable
from models.errors import DomainError


def register(app: Flask) -> None:
    """Mount every blueprint and the shared error handlers."""
    # One blueprint per URL space: /login and /join, the juror's pages, /lead, /api/v1, /appeal, ops.
    for module in (auth, juror, lead, api, appeal_page, ops):
        app.register_blueprint(module.bp)
    # The built-in stand-in network exists only where it is the network: elsewhere its pages, and
    # its webhook that anyone with the network's secret could sign for, would be open to all.
    if app.config["NETWORK_ADAPTER"] == "sandbox":
        app.register_blueprint(sandbox_pages.bp)
    app.register_error_handler(DomainError, _domain_error)
    unavailable.register(app)
    # Security headers come from jury.web.hardening (Talisman). Flask runs after_request hooks in
    # reverse order, so the looser policy rq-dashboard's own pages need, set here, wins there.
    ops.mount_rq_dashboard(app)
    prometheus.instrument(app)


def _domain_error(error: DomainError):
    """Domain errors become their HTTP status, as JSON for the API and a page otherwise."""
    if request.path.startswith("/api/"):
        return jsonify({"error": str(error)}), error.status_code
    return render_template("error.html", message=str(error), status=error.status_code), error.status_code

