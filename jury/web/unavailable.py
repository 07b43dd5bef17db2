"""The database is unreachable (restart, failover, network): answer 503 cleanly, never a traceback.

The pool's pre-ping replaces dead connections once the database is back, so the app
recovers on its own; a client that got 503 may retry (the intake API is idempotent).
"""
from __future__ import annotations

import contextlib
import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from jury.web.errors import offline_error_page
from models import db
from triage import transaction

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


def register(app: Flask) -> None:
    """Turn lost-database errors into 503 responses."""
    for error in (OperationalError, InterfaceError):
        app.register_error_handler(error, _database_unavailable)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first (Flask runs them in reverse).
    app.teardown_appcontext(_close_session_quietly)


def _close_session_quietly(_error: BaseException | None) -> None:
    """Give the connection back; if the database went away mid-request, drop it without a traceback.

    The response is already decided by then; a ROLLBACK on a connection the server just closed
    would otherwise raise from the teardown and print a traceback for an outage the app handled.
    """
    try:
        db.session.remove()
    except DBAPIError as error:
        log.warning("connection lost while closing the request's session: %s", type(error.orig).__name__)
        with contextlib.suppress(Exception):
            db.session.invalidate()
        with contextlib.suppress(Exception):
            db.session.remove()


def _database_unavailable(error: Exception):
    """503 as JSON for the API, a page (that does not touch the database) otherwise."""
    # The original error names the server, never request data; enough to tell an outage in the logs.
    log.warning("database unavailable during %s %s: %s", request.method, request.path,
                type(getattr(error, "orig", error)).__name__)
    transaction.abandon()  # the transaction is gone with its connection; nothing was half-written
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        return jsonify({"error": "service temporarily unavailable; retry later"}), 503, headers
    # The app's error page, drawn without the database (Flask-Login would load the user from it again).
    return offline_error_page(503, headers=headers)
