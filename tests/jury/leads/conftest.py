"""Fixtures of the lead console's tests."""
from __future__ import annotations

import pytest

from tests.conftest import sign_in


@pytest.fixture
def lead(app, client, make_user):
    """A lead, signed in on the test client (modules that want the client itself define their own)."""
    user = make_user("lead", role="lead")
    with client.session_transaction() as session:
        sign_in(session, user.id)
    return user
