"""The screen vote on PostgreSQL: one transaction for the vote, the next deal and its page.

SQLite keeps the vote and the deal apart (there is nothing to gain there); what both backends
share, a failed deal or page never taking the vote with it, is in tests/jury/panels/test_screen_vote_transaction.py.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from models import Vote, db
from tests.jury.panels.test_screen_vote_transaction import (
    JSON,
    _active_seats,
    _dealt_case,
    _open_cases,
    _seat_dealt_events,
    _seats_add_up,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_app):
    """Prepared statements, savepoints and row locks are PostgreSQL's."""
    return pg_app


@pytest.fixture
def ann(make_user):
    return make_user("ann", network_account_id="ann-account")


def test_a_screen_vote_commits_once_with_its_next_deal_on_postgresql(api, client, ann, auth):
    _open_cases(api, 3)
    auth.login("ann")
    first = _dealt_case(client)
    ends = {"commit": 0, "rollback": 0}

    def count(kind):
        def listener(_conn):
            ends[kind] += 1
        return listener

    listeners = [("commit", count("commit")), ("rollback", count("rollback"))]
    for name, listener in listeners:
        event.listen(db.engine, name, listener)
    try:
        data = client.post(f"/cases/{first}/vote", data={"decision": "keep"}, headers=JSON).get_json()
    finally:
        for name, listener in listeners:
            event.remove(db.engine, name, listener)
    assert data["case_id"] not in (None, first)
    # Before: the vote, the deal and the page each ended their own transaction (two commits, a rollback).
    assert ends == {"commit": 1, "rollback": 0}
    assert db.session.scalar(db.select(Vote.decision).where(Vote.case_id == first, Vote.juror_id == ann.id)) == "keep"
    assert _active_seats(ann.id) == [data["case_id"]]
    assert _seat_dealt_events(ann.id) == 2
    _seats_add_up()


def test_the_dealing_query_stays_prepared_across_screen_votes(api, client, ann, auth):
    # Every deal runs the dealing query, and each screen vote ends in a COMMIT: no closing rollback,
    # which makes psycopg drop every prepared statement of the connection (and PostgreSQL replan).
    _open_cases(api, 40)
    connections = []

    def remember(conn, _cursor, statement, *_args):
        if statement.startswith("SELECT cases.id, cases.priority"):
            connections.append(conn.connection.dbapi_connection)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        auth.login("ann")
        case_id = _dealt_case(client)
        for _ in range(12):
            voted = client.post(f"/cases/{case_id}/vote", data={"decision": "keep"}, headers=JSON)
            case_id = voted.get_json()["case_id"]
            assert case_id is not None
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    db.session.remove()
    raw = connections[-1]
    plans = raw.execute(text("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                             "WHERE statement LIKE 'SELECT cases.id, cases.priority%'").text).fetchall()
    raw.rollback()
    # Prepared, and run on a plan made once (generic). On 100,000 cases that plan is as good as a
    # fresh one only because the query's constants are in its text (see exclusions.constant).
    assert plans and plans[0][0] > 0, plans
