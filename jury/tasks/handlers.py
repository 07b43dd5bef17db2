"""RQ job entry points: they receive ids, re-read rows, and are safe to run twice.

Every layer queues them by name (`jobs.defer("actions", "jury.tasks.handlers.deliver_action", id)`), so
queuing work imports nothing from here; an RQ worker finds each by the same name.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context

from jury import create_app
from jury.panels import juror_reliability, verdicts
from triage import jobs, outbox, scoring, training

_worker_app: Flask | None = None


def in_app_context(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a job inside a fresh app context (its own database session).

    Inline jobs reuse the caller's app; an `rq worker` process builds one app once.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _worker_app
        if has_app_context():
            app = current_app._get_current_object()
        else:
            if _worker_app is None:
                _worker_app = create_app()
            app = _worker_app
        with app.app_context():
            return func(*args, **kwargs)

    return wrapper


@in_app_context
def score_posts(post_ids: list[int]) -> int:
    """Job on the `scoring` queue."""
    return scoring.score_posts(post_ids)


@in_app_context
def score_waiting() -> int:
    """Job on the `scoring` queue: every post waiting to be scored, in batches (see jobs.defer_coalesced)."""
    # While it lingers its mark still stands, so the posts arriving meanwhile join this job.
    jobs.linger(current_app.config["SCORING_LINGER_SECONDS"])
    jobs.take_coalesced(scoring.WAITING_JOB)
    return scoring.score_waiting()


@in_app_context
def deliver_action(action_id: int) -> str:
    """Job on the `actions` queue."""
    return outbox.deliver(action_id)


@in_app_context
def follow_up_verdict(verdict_id: int) -> bool:
    """Job on the `actions` queue: a verdict's actions, posterior and retraining check."""
    return verdicts.follow_up(verdict_id)


@in_app_context
def retrain_model(force: bool = False) -> str | None:
    """Job on the `training` queue."""
    try:
        return training.retrain(force=force)
    finally:
        jobs.finished_once(training.RETRAIN_JOB)


@in_app_context
def reestimate_reliability() -> int:
    """Job on the `training` queue: full Dawid-Skene re-estimation of juror reliabilities."""
    try:
        return juror_reliability.reestimate().id
    finally:
        jobs.finished_once(juror_reliability.REESTIMATE_JOB)
