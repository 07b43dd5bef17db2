"""Fixtures for the fault tests: private servers to break, and background processes to kill."""
from __future__ import annotations

import pytest

from tests.conftest import service_missing
from tests.integration.servers import PrivatePostgres, PrivateRedis, Processes, ServerUnavailable


@pytest.fixture
def private_redis():
    """A Redis server of the test's own, started; the test may stop and start it again."""
    try:
        server = PrivateRedis()
        server.start()
    except (ServerUnavailable, TimeoutError, OSError) as error:
        service_missing("a private Redis server (redis-server)", error)
    yield server
    server.close()


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory), started."""
    try:
        server = PrivatePostgres()
        server.start()
    except (ServerUnavailable, OSError, TimeoutError) as error:
        service_missing("a private PostgreSQL cluster (initdb, pg_ctl)", error)
    yield server
    server.close()


@pytest.fixture
def processes():
    """Start workers, sweepers and gunicorn; everything still running is stopped at the end."""
    group = Processes()
    yield group
    group.stop_all()
