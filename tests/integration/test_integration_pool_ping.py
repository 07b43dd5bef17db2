"""Pooled PostgreSQL connections: pinged before use only after sitting idle (jury.pool_ping)."""
from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import exc, text

from models import db


@pytest.fixture
def pings(pg_app, monkeypatch):
    """Count the pool's pings of this app's engine."""
    calls = []
    real_ping = db.engine.dialect.do_ping

    def counted(dbapi_connection):
        calls.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(db.engine.dialect, "do_ping", counted)
    return calls


def _backend_pid() -> int:
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    db.session.commit()  # back to the pool
    return pid


def _kill(pid: int) -> None:
    """End that server process from a connection of its own (the pool would lend the victim)."""
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    time.sleep(0.2)


def test_a_connection_used_a_moment_ago_is_not_pinged(pg_app, pings):
    pg_app.config["DB_PING_IDLE_SECONDS"] = 10  # the default
    first = _backend_pid()
    for _ in range(5):
        assert _backend_pid() == first  # the most recently used connection comes back (LIFO)
    assert pings == []


def test_an_idle_connection_that_was_dropped_is_replaced_before_the_request_uses_it(tmp_path, monkeypatch):
    from jury import create_app
    from tests.conftest import PG_URL, base_config

    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=PG_URL, DB_PING_IDLE_SECONDS=0.3))
    with app.app_context():
        try:
            dropped = _backend_pid()
            _kill(dropped)  # as a server timeout, a proxy or a firewall would, while it sat idle
            time.sleep(0.3)
            # No error reaches the request: the ping fails, and the pool connects afresh.
            assert _backend_pid() != dropped
        finally:
            db.session.remove()
            db.engine.dispose()


def test_without_the_ping_a_dropped_connection_fails_one_statement_and_the_pool_recovers(pg_app, pings):
    # A connection used within DB_PING_IDLE_SECONDS is trusted: when the server dropped it anyway
    # (a restart), that one statement fails and SQLAlchemy recycles the pool.
    dropped = _backend_pid()
    _kill(dropped)
    with pytest.raises(exc.OperationalError) as failure:
        db.session.scalar(text("SELECT 1"))
    assert failure.value.connection_invalidated
    db.session.rollback()
    assert _backend_pid() != dropped
    assert pings == []
