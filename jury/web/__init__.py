"""Blueprints: thin views that parse, call one service, and render or redirect."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy import text

from jury.errors import DomainError
from jury.extensions import db


def register(app: Flask) -> None:
    """Mount every blueprint and the shared error handlers."""
    from jury.web import api, auth, juror, lead, sandbox

    for module in (auth, juror, lead, api, sandbox):
        app.register_blueprint(module.bp)
    app.register_error_handler(DomainError, _domain_error)

    @app.get("/healthz")
    def healthz():
        """Liveness: the database answers."""
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}


def _domain_error(error: DomainError):
    """Domain errors become their HTTP status, as JSON for the API and a page otherwise."""
    if request.path.startswith("/api/"):
        return jsonify({"error": str(error)}), error.status_code
    return render_template("error.html", message=str(error), status=error.status_code), error.status_code

