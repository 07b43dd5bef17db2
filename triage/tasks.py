"""RQ job entry points: they receive ids, re-read rows, and are safe to run twice."""
from __future__ import annotations

from flask import current_app

from jury import outbox
from triage import jobs, scoring


@jobs.in_app_context
def score_posts(post_ids: list[int]) -> int:
    """Job on the `scoring` queue."""
    return scoring.score_posts(post_ids)


@jobs.in_app_context
def score_waiting() -> int:
    """Job on the `scoring` queue: every post waiting to be scored, in batches (see jobs.defer_coalesced)."""
    # While it lingers its mark still stands, so the posts arriving meanwhile join this job.
    jobs.linger(current_app.config["SCORING_LINGER_SECONDS"])
    jobs.take_coalesced(scoring.WAITING_JOB)
    return scoring.score_waiting()


@jobs.in_app_context
def deliver_action(action_id: int) -> str:
    """Job on the `actions` queue."""
    return outbox.deliver(action_id)


@jobs.in_app_context
def follow_up_verdict(verdict_id: int) -> bool:
    """Job on the `actions` queue: a verdict's actions, posterior and retraining check."""
    from jury import verdicts

    return verdicts.follow_up(verdict_id)


@jobs.in_app_context
def retrain_model(force: bool = False) -> str | None:
    """Job on the `training` queue."""
    from triage import training

    try:
        return training.retrain(force=force)
    finally:
        jobs.finished_once(training.RETRAIN_JOB)


@jobs.in_app_context
def reestimate_reliability() -> int:
    """Job on the `training` queue: full Dawid-Skene re-estimation of juror reliabilities."""
    from jury import weighting

    try:
        return weighting.reestimate().id
    finally:
        jobs.finished_once(weighting.REESTIMATE_JOB)
