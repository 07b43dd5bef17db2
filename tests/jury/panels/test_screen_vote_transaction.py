"""The keyboard screen's vote: the vote, the next deal and that case's page in one transaction.

On PostgreSQL they share one transaction (tests/integration/test_integration_screen_vote.py); a deal or a page read
that fails after the vote never takes the vote with it, on either backend.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from jury.panels import screen
from models import Assignment, AuditEvent, Case, Vote, db, utcnow
from tests.conftest import post_payload, report_payload
from triage import dealing

JSON = {"Accept": "application/json"}


@pytest.fixture
def ann(make_user):
    return make_user("ann", network_account_id="ann-account")


def _open_cases(api, count: int) -> None:
    api.posts(*[post_payload(f"p{i}", f"post number {i}") for i in range(count)])
    api.reports(*[report_payload(f"r{i}", f"p{i}") for i in range(count)])


def _dealt_case(client) -> int:
    response = client.post("/cases/next")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _seats_add_up() -> None:
    """Every case's free seats plus its live and voted seats make its panel."""
    db.session.expire_all()
    for case in db.session.scalars(select(Case)):
        held = db.session.scalar(select(func.count()).select_from(Assignment).where(
            Assignment.case_id == case.id, Assignment.state.in_(("active", "voted"))))
        assert case.open_seats + held == case.panel_size, case.id


def _active_seats(juror_id: int) -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(Assignment.case_id).where(
        Assignment.juror_id == juror_id, Assignment.state == "active")))


def _seat_dealt_events(juror_id: int) -> int:
    return sum(1 for payload in db.session.scalars(
        select(AuditEvent.payload).where(AuditEvent.event_type == "seat_dealt")) if payload["juror"] == juror_id)


def test_a_deal_that_fails_after_the_vote_leaves_the_vote_stored(app, backend, api, client, ann, auth, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the juror gets a 500 page, as in production
    _open_cases(api, 4)
    auth.login("ann")
    first = _dealt_case(client)
    real_lease = dealing._lease
    calls = []

    def lease_then_fail(*args):
        calls.append(args[0])
        dealt = real_lease(*args)
        if len(calls) == 1:  # the seat is taken and the lease written: now the deal breaks
            raise RuntimeError("the deal broke after its writes")
        return dealt

    monkeypatch.setattr(dealing, "_lease", lease_then_fail)
    response = client.post(f"/cases/{first}/vote", data={"decision": "keep"}, headers=JSON)
    assert db.session.scalar(select(Vote.decision).where(Vote.case_id == first, Vote.juror_id == ann.id)) == "keep"
    if backend == "postgresql":
        # The broken deal was undone to its savepoint, the vote committed alone, and a fresh deal made.
        assert response.status_code == 200
        dealt = response.get_json()["case_id"]
        assert dealt not in (None, first) and _active_seats(ann.id) == [dealt]
        assert _seat_dealt_events(ann.id) == 2  # the first deal's and this one's, not the undone one's
    else:
        # SQLite commits the vote before dealing; the broken deal is rolled back and reported.
        assert response.status_code == 500
        assert _active_seats(ann.id) == []
    _seats_add_up()


def test_a_page_that_fails_after_the_vote_leaves_the_vote_and_frees_the_seat(app, api, client, ann, auth,
                                                                           monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _open_cases(api, 3)
    auth.login("ann")
    first = _dealt_case(client)

    def broken_view(case_id, viewer):
        raise RuntimeError("the page could not be read")

    monkeypatch.setattr(screen, "case_view", broken_view)  # the screen reads the next case's page
    response = client.post(f"/cases/{first}/vote", data={"decision": "remove", "rule": "spam"}, headers=JSON)
    assert response.status_code == 500
    assert db.session.scalar(select(Vote.rule).where(Vote.case_id == first, Vote.juror_id == ann.id)) == "spam"
    assert _active_seats(ann.id) == []  # the seat dealt for the page that failed went back
    assert _seat_dealt_events(ann.id) == 1
    _seats_add_up()
    monkeypatch.undo()
    # The juror carries on: the next case is dealt as usual.
    assert _dealt_case(client) != first


def test_a_vote_whose_next_window_is_all_held_commits_first_and_then_deals(backend, api, client, ann, auth,
                                                                          monkeypatch):
    _open_cases(api, 3)
    auth.login("ann")
    first = _dealt_case(client)
    real_take = dealing._take_a_seat
    tries = []

    def held_once(candidates, wait):
        tries.append(wait)
        if len(tries) == 1:
            return None  # as when another transaction holds every candidate row
        return real_take(candidates, wait)

    monkeypatch.setattr(dealing, "_take_a_seat", held_once)
    data = client.post(f"/cases/{first}/vote", data={"decision": "keep"}, headers=JSON).get_json()
    assert data["case_id"] not in (None, first)
    assert db.session.scalar(select(func.count()).select_from(Vote).where(Vote.juror_id == ann.id)) == 1
    assert _active_seats(ann.id) == [data["case_id"]]
    _seats_add_up()


def test_a_late_vote_by_a_juror_holding_a_newer_seat_answers_with_that_seat(backend, api, client, ann, auth):
    # Ann's first lease ran out and the sweep gave it back; she was dealt another case, then cast
    # the late vote on the first from the old page. She still holds one seat (the newer one), and
    # the screen shows it: on PostgreSQL the deal made alongside the vote broke the one-live-seat
    # index, was undone to its savepoint, and dealt again after the vote's commit.
    _open_cases(api, 4)
    auth.login("ann")
    first = _dealt_case(client)
    db.session.execute(update(Assignment).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert dealing.expire_leases() == 1
    newer = _dealt_case(client)
    assert newer != first
    data = client.post(f"/cases/{first}/vote", data={"decision": "keep"}, headers=JSON).get_json()
    assert data["case_id"] == newer
    assert db.session.scalar(select(Vote.decision).where(Vote.case_id == first, Vote.juror_id == ann.id)) == "keep"
    assert _active_seats(ann.id) == [newer]
    assert _seat_dealt_events(ann.id) == 2  # the first and the newer, not the undone one
    _seats_add_up()
