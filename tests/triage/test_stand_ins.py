"""The hooks a program embedding Jury uses to stand in for its outside world (a simulation): a scorer and
a network per app, background audit sealing per engine, the application clock and a seeded dealer."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

import audit
from jury.demo.surge.world import NetworkRecorder, SimulatedScorer
from models import Case, Post, Score, db, utcnow
from models.base import simulated_clock
from tests.conftest import post_payload
from triage import dealing, outbox


def test_a_scorer_in_the_apps_extensions_scores_every_post_and_its_scores_act(app, api):
    app.extensions["jury_scorer"] = SimulatedScorer([("you will not see morning", 0.97)], 0.85)
    try:
        assert api.posts(post_payload("p1", "you will not see morning"), post_payload("p2", "hello")).status_code == 202
        scores = dict(db.session.execute(select(Post.external_id, Score.labels).join(Score, Score.post_id == Post.id)
                                         .where(Score.model_name == "simulated")).all())
        assert scores["p1"]["threat"] == 0.97 and scores["p2"]["threat"] == 0.0
        # The stand-in's score opened a case, as the configured model's would.
        flagged = db.session.scalars(select(Post.external_id).join(Case, Case.post_id == Post.id)).all()
        assert flagged == ["p1"]
    finally:
        del app.extensions["jury_scorer"]


def test_a_network_in_the_apps_extensions_receives_the_actions(app):
    recorder = NetworkRecorder(clock=lambda: 0.0)
    app.extensions["jury_network"] = recorder
    try:
        assert outbox.network_adapter() is recorder
    finally:
        del app.extensions["jury_network"]
    assert outbox.network_adapter() is not recorder


def test_an_engine_can_leave_the_audit_chain_to_the_sealer(app):
    default = audit.seals_in_background(db.session)
    assert default == (db.engine.dialect.name == "postgresql")
    db.engine.update_execution_options(**{audit.SEAL_IN_BACKGROUND: not default})
    try:
        assert audit.seals_in_background(db.session) is (not default)
    finally:
        db.engine.update_execution_options(**{audit.SEAL_IN_BACKGROUND: None})
    assert audit.seals_in_background(db.session) == default


def test_the_application_clock_runs_on_simulated_time_inside_and_real_time_after():
    start = datetime(2021, 1, 8, tzinfo=UTC)
    minutes = [0.0]
    with simulated_clock(lambda: start + timedelta(minutes=minutes[0])):
        assert utcnow() == start
        minutes[0] = 90
        assert utcnow() == start + timedelta(minutes=90)
        with simulated_clock(lambda: start):
            assert utcnow() == start
        assert utcnow() == start + timedelta(minutes=90)
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_seeded_dealer_repeats_its_draws_and_the_system_one_comes_back():
    with dealing.repeatable(7):
        first = [dealing._rng.random() for _ in range(5)]
    with dealing.repeatable(7):
        again = [dealing._rng.random() for _ in range(5)]
    assert first == again
    assert isinstance(dealing._rng, random.SystemRandom)
