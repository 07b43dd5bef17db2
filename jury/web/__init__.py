"""Blueprints: thin views that parse, call one service, and render or redirect."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request

from jury.errors import DomainError


def register(app: Flask) -> None:
    """Mount every blueprint and the shared error handlers."""
    from jury import metrics
    from jury.web import api, appeals, auth, invite, juror, lead, mastodon, ops, panels, reliability, sandbox, unavailable

    for module in (auth, juror, lead, panels, reliability, api, mastodon, sandbox, appeals, ops, invite):
        app.register_blueprint(module.bp)
    app.register_error_handler(DomainError, _domain_error)
    unavailable.register(app)
    app.after_request(_security_headers)
    # After _security_headers, so its looser policy for rq-dashboard's pages runs first.
    ops.mount_rq_dashboard(app)
    metrics.instrument(app)


def _domain_error(error: DomainError):
    """Domain errors become their HTTP status, as JSON for the API and a page otherwise."""
    if request.path.startswith("/api/"):
        return jsonify({"error": str(error)}), error.status_code
    return render_template("error.html", message=str(error), status=error.status_code), error.status_code


def _security_headers(response):
    """Headers every page gets: no framing, no sniffing, no inline script."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    return response
