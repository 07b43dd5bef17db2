"""Ping a pooled database connection before use only when it sat idle long enough to go stale.

SQLAlchemy's pool_pre_ping pings on every checkout: one more round trip on every request (about
a tenth of a screen vote's time). A connection in use every few seconds is not stale; one idle
for a while may have been dropped by the server, a proxy or a firewall, and gets the ping. When
the server restarts, the first statement on a connection used just before fails: SQLAlchemy then
recycles every connection of the pool, that one request is answered 503, and the next ones run on
fresh connections (tests/integration/test_integration_faults.py).
"""
from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_CHECKED_IN_AT = "jury_checked_in_at"


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Make `engine`'s pool ping a connection at checkout when it was idle over idle_seconds."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure means the connection is gone
            # The pool drops this connection and checks out another (up to three tries).
            raise exc.DisconnectionError("idle connection failed its ping") from error
