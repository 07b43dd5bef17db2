"""The outbox behind a circuit breaker: a failing network is not hammered, and waiting never dead-letters."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

from jury.tasks import sweeper
from models import Action, AuditEvent, db, utcnow
from tests.conftest import post_payload, report_payload
from tests.triage.test_outbox import FlakyNetwork, reach_verdict


@pytest.fixture
def down(app):
    """A network answering 503 to everything, behind a breaker that opens after two failures."""
    network = FlakyNetwork(failures=10_000)
    app.config.update(NETWORK_ADAPTER="webhook", NETWORK_URL=network.url, NETWORK_BREAKER_THRESHOLD=2,
                      NETWORK_BREAKER_COOLDOWN=2.0)
    yield network
    network.close()


def open_cases(api, count):
    for i in range(count):
        api.posts(post_payload(f"p{i}", "hello"))
        api.reports(report_payload(f"r{i}", f"p{i}", reporter=f"reporter-{i}", reason="spam"))


def make_all_due():
    db.session.execute(update(Action).where(Action.state == "failed").values(next_attempt_at=utcnow()))
    db.session.commit()


def test_an_open_breaker_defers_without_calling_and_without_counting(down, app, api, make_user, monkeypatch):
    monkeypatch.setattr("triage.outbox.MAX_ATTEMPTS", 3)
    panels = [[make_user(f"juror{case}-{i}") for i in range(3)] for case in range(3)]
    open_cases(api, 3)
    for panel in panels:
        reach_verdict(panel, rule="spam")
    # A removal and a notice per verdict, and the measures one author's three spam strikes call for
    # (a warning at the first and the second, a suspension at the third); only the first two reached
    # the network.
    assert len(down.seen) == 2
    actions = db.session.scalars(select(Action).order_by(Action.id)).all()
    expected = ["remove_post", "notify"] * 3 + ["warn_account"] * 2 + ["suspend_account"]
    assert sorted(a.type for a in actions) == sorted(expected)
    assert all(a.state == "failed" for a in actions)
    assert [a.attempts for a in actions] == [1, 1] + [0] * (len(actions) - 2)
    assert "circuit breaker open" in actions[-1].last_error
    assert actions[-1].next_attempt_at > utcnow()
    # Sweeps during the outage: the breaker lets one probe out per cool-down, nothing is dead-lettered
    # although the outage outlasts MAX_ATTEMPTS many times over.
    for _ in range(8):
        make_all_due()
        sweeper.requeue_actions()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Action).where(Action.state == "dead")) == 0
    assert len(down.seen) <= 3  # at most one probe in the meantime (the cool-down has not passed twice)
    deferred = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.event_type == "action_deferred"))
    assert deferred >= 4 * 8
    # The network recovers; after the cool-down, a probe closes the breaker and everything goes out once.
    down.failures = 0
    time.sleep(2.1)
    make_all_due()
    sweeper.requeue_actions()
    db.session.expire_all()
    actions = db.session.scalars(select(Action)).all()
    assert {a.state for a in actions} == {"sent"}
    assert {seen["key"] for seen in down.seen} == {a.idempotency_key for a in actions}
    assert max(a.attempts for a in actions) <= 3


def test_a_stalled_delivery_never_overwrites_the_outcome_of_the_worker_that_took_over(down, app, api, make_user,
                                                                                      monkeypatch):
    from network import DeliveryResult, Outcome
    from triage import outbox

    panel = [make_user(f"juror{i}") for i in range(3)]
    open_cases(api, 1)
    reach_verdict(panel, rule="spam")
    action = db.session.scalar(select(Action).where(Action.type == "remove_post"))
    make_all_due()
    real = outbox.network_adapter

    def stalled_adapter():
        adapter = real()

        def deliver(request):
            # Meanwhile the sweeper freed the claim and another worker delivered the action.
            db.session.execute(update(Action).where(Action.id == action.id)
                               .values(state="sent", enqueued_at=utcnow(), last_error=None))
            db.session.commit()
            return DeliveryResult(Outcome.RETRY, None, "timeout after 10s")

        adapter.deliver = deliver
        return adapter

    monkeypatch.setattr(outbox, "network_adapter", stalled_adapter)
    app.config["NETWORK_BREAKER_THRESHOLD"] = 100  # a fresh breaker: this delivery goes out
    assert outbox.deliver(action.id) == "sent"
    db.session.expire_all()
    assert db.session.get(Action, action.id).state == "sent"


def test_no_database_transaction_is_open_while_the_network_is_called(down, app, api, make_user, monkeypatch):
    from triage import outbox

    panel = [make_user(f"juror{i}") for i in range(3)]
    open_cases(api, 1)
    # A removal, a notice and the author's first-strike warning, all failed against the down network.
    reach_verdict(panel, rule="spam")
    ids = list(db.session.scalars(select(Action.id).order_by(Action.id)))
    assert len(ids) == 3
    down.failures = 0
    make_all_due()
    app.config["NETWORK_BREAKER_THRESHOLD"] = 100  # a fresh, closed breaker
    real = outbox.network_adapter
    open_during_call = []

    def watched_adapter():
        adapter = real()
        deliver = adapter.deliver

        def watched(request):
            # A transaction here would stay open (its snapshot, its locks) for the whole call.
            open_during_call.append(db.session().in_transaction())
            return deliver(request)

        adapter.deliver = watched
        return adapter

    monkeypatch.setattr(outbox, "network_adapter", watched_adapter)
    assert outbox.deliver_each(ids) == ["sent"] * 3
    assert open_during_call == [False] * 3
    db.session.expire_all()
    actions = db.session.scalars(select(Action).order_by(Action.id)).all()
    assert [a.state for a in actions] == ["sent"] * 3
    # What was sent was built from the same rows as before: the removal carries its appeal link.
    removal = next(seen for seen in down.seen[-3:] if seen["type"] == "remove_post")
    assert removal["key"] == actions[0].idempotency_key and "/appeal" in removal["appeal_url"]
