"""Scoring, auto-flagging, interim hiding, priority refresh and recovery of lost scoring jobs."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from jury.tasks import sweeper
from models import Action, Case, Post, Score, db, utcnow
from tests.conftest import aged_cases, case_priorities, post_payload, report_payload
from triage import cases
from triage.policy import current_policy, publish_policy

BENIGN = "Does anyone know a good bakery near the station?"
THREAT = "I know where you live and I will hurt you and your family tonight."
INSULT = "Shut up, you stupid moron. Nobody asked for your garbage opinion."


def test_benign_posts_open_no_case_and_toxic_ones_are_auto_flagged(api):
    api.posts(post_payload("ok", BENIGN), post_payload("bad", INSULT))
    cases = db.session.scalars(select(Case)).all()
    assert [(c.post.external_id, c.origin) for c in cases] == [("bad", "auto_flagged")]
    assert cases[0].severity >= 1 and cases[0].policy_version == 1


def test_the_auto_flag_threshold_comes_from_the_policy(api):
    publish_policy({"auto_flag": {"toxicity": 1.0}, "interim_hide": {}}, reason="no auto-flag", actor="test")
    db.session.commit()
    api.posts(post_payload("bad", INSULT))
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    assert db.session.scalar(select(func.count()).select_from(Score)) == 1


def test_grave_posts_are_hidden_pending_review(api):
    api.posts(post_payload("threat", THREAT))
    case = db.session.scalar(select(Case))
    assert case.severity == 3
    hide = db.session.scalar(select(Action))
    assert hide.type == "hide_post" and hide.verdict_id is None and hide.post_external_id == "threat"


def test_reports_and_scores_combine_into_severity(api):
    api.reports(report_payload("r1", "p1", reason="spam", post=post_payload("p1", BENIGN)))
    case = db.session.scalar(select(Case))
    assert case.severity == 0 and case.origin == "reported"
    api.reports(report_payload("r2", "p1", reporter="other", reason="violence_threat"))
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.severity == 3 and case.report_count == 2
    # A graver report shortens the SLA to the critical one.
    assert case.sla_deadline - case.opened_at <= timedelta(hours=1)


def test_huge_and_odd_texts_score_without_error(api):
    texts = ["", "🙂🙂🙂", "\x00\x01 binary \ufffd", "مرحبا hello 你好", "z" * 19_999]
    api.posts(*[post_payload(f"p{i}", text) for i, text in enumerate(texts)])
    scores = db.session.scalars(select(Score).join(Post).order_by(Post.id)).all()
    assert len(scores) == len(texts)
    assert scores[-1].text_truncated and not scores[0].text_truncated


def test_sweeper_rescores_posts_whose_job_was_lost(app, api):
    api.posts(post_payload("p1", INSULT))
    # Simulate a lost job: the post is stored but was never scored.
    db.session.execute(db.delete(Score))
    db.session.execute(db.delete(Action))
    db.session.execute(db.delete(Case))
    db.session.execute(update(Post).values(scored_at=None, score_requested_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    counts = sweeper.sweep()
    assert counts["rescored_posts"] == 1
    assert db.session.scalar(select(func.count()).select_from(Score)) == 1
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    # A recent request is left alone: its job may still be in the queue.
    db.session.execute(update(Post).values(scored_at=None, score_requested_at=utcnow()))
    db.session.commit()
    assert sweeper.requeue_unscored() == 0


def test_priority_refresh_ages_open_cases(api):
    api.reports(report_payload("r1", "p1", reason="spam", post=post_payload("p1", BENIGN)))
    case = db.session.scalar(select(Case))
    fresh = case.priority
    db.session.execute(update(Case).values(opened_at=utcnow() - timedelta(hours=200),
                                           sla_deadline=utcnow() - timedelta(hours=128)))
    db.session.commit()
    assert sweeper.sweep()["reprioritised_cases"] == 1
    db.session.expire_all()
    assert db.session.get(Case, case.id).priority > fresh + 10


def test_priority_refresh_goes_in_committed_batches_and_reaches_every_open_case(api):
    ids = aged_cases(api, 5)
    fresh = case_priorities()
    assert cases.refresh_priorities(current_policy(), batch=2) == 5
    aged = case_priorities()
    assert all(aged[i] > fresh[i] + 10 for i in ids)
    # A sweep later, their age terms have hardly moved: no row is rewritten for nothing.
    assert cases.refresh_priorities(current_policy(), batch=2) == 0
    assert case_priorities() == aged


def test_language_is_detected_when_the_network_does_not_say(api):
    api.posts(post_payload("fr", "Bonjour à tous, la réunion du jardin est jeudi soir."),
              post_payload("given", "Bonjour à tous, la réunion du jardin est jeudi soir.", lang="en"),
              post_payload("emoji", "🙂🙂"))
    langs = dict(db.session.execute(select(Post.external_id, Post.lang)).all())
    assert langs == {"fr": "fr", "given": "en", "emoji": None}


def test_a_failing_batch_of_waiting_posts_is_handed_to_the_sweeper_and_later_batches_go_on(app, api, monkeypatch):
    from triage import intake

    real_score = intake._score
    calls = []

    def first_batch_fails(posts):
        calls.append([post.external_id for post in posts])
        if len(calls) == 1:
            raise RuntimeError("the model fell over")
        return real_score(posts)

    monkeypatch.setattr(intake, "WAITING_BATCH", 2)
    monkeypatch.setattr(intake, "_score", first_batch_fails)
    api.posts(*(post_payload(f"p{i}", INSULT) for i in range(5)))  # scored inline: the batch of two fails
    assert calls[0] == ["p0", "p1"] and calls[1:] == [["p2", "p3"], ["p4"]]
    unscored = db.session.scalars(select(Post.external_id).where(Post.scored_at.is_(None)).order_by(Post.id)).all()
    assert unscored == ["p0", "p1"]
    # Not retried by every later scoring job: the sweeper takes them at its next pass, by id.
    api.posts(post_payload("p5", BENIGN))
    assert ["p0", "p1"] not in calls[3:]
    assert sweeper.requeue_unscored() == 2
    assert db.session.scalar(select(func.count()).select_from(Post).where(Post.scored_at.is_(None))) == 0


def test_inline_scoring_never_lingers(app, api):
    import time

    app.config["SCORING_LINGER_SECONDS"] = 5.0  # only a job on a real queue waits for company
    start = time.monotonic()
    api.posts(post_payload("ok", BENIGN))
    assert time.monotonic() - start < 2.5
    assert db.session.scalar(select(func.count()).select_from(Score)) == 1


@pytest.mark.parametrize("value, message", [("soon", "not a number"), ("-1", "between 0 and"), ("60", "between 0 and")])
def test_a_bad_scoring_linger_is_refused_at_start_with_its_name(tmp_path, monkeypatch, value, message):
    from jury.config import ConfigError, load_config

    monkeypatch.setenv("SCORING_LINGER_SECONDS", value)
    with pytest.raises(ConfigError, match=f"SCORING_LINGER_SECONDS='{value}' .*{message}"):
        load_config(tmp_path)
    monkeypatch.setenv("SCORING_LINGER_SECONDS", "0")
    assert load_config(tmp_path)["SCORING_LINGER_SECONDS"] == 0.0
