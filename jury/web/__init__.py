"""Blueprints: thin views that parse, call one service, and render or redirect."""
from __future__ import annotations

from flask import Flask

from jury.web import api, appeal_page, auth, errors, juror, lead, ops, prometheus, sandbox_pages, unavailable, words


def register(app: Flask) -> None:
    """Mount every blueprint and the shared error handlers."""
    # One blueprint per URL space: /login and /join, the juror's pages, /lead, /api/v1, /appeal, ops.
    for module in (auth, juror, lead, api, appeal_page, ops):
        app.register_blueprint(module.bp)
    # The built-in stand-in network exists only where it is the network: elsewhere its pages, and
    # its webhook that anyone with the network's secret could sign for, would be open to all.
    if app.config["NETWORK_ADAPTER"] == "sandbox":
        app.register_blueprint(sandbox_pages.bp)
    errors.register(app)
    words.register(app)
    unavailable.register(app)
    # Security headers come from jury.web.hardening (Talisman). Flask runs after_request hooks in
    # reverse order, so the looser policy rq-dashboard's own pages need, set here, wins there.
    ops.mount_rq_dashboard(app)
    prometheus.instrument(app)

