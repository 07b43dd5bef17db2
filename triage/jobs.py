"""Jobs deferred until the commit that makes their rows visible (triage.transaction queues them)."""
from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from models import db

log = logging.getLogger(__name__)

QUEUES = ("scoring", "actions", "training")
_PENDING_KEY = "jury_pending_jobs"
# The coalesced scoring job's mark (see defer_coalesced): intake and scoring share it.
SCORE_WAITING_KEY = "score-waiting"
# A job not finished after this long is taken to be lost; running it twice is harmless.
LOST_AFTER = timedelta(minutes=5)


def lost_after() -> timedelta:
    """JOB_LOST_AFTER from the settings (LOST_AFTER by default)."""
    return timedelta(seconds=float(current_app.config.get("JOB_LOST_AFTER", LOST_AFTER.total_seconds())))


def _check(queue: str, name: str) -> None:
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    if not isinstance(name, str) or "." not in name:
        raise ValueError(f"a job is named by its dotted path (module.function), not {name!r}")


def defer(queue: str, name: str, *args: Any) -> None:
    """Remember a job, by the dotted name of its function, to enqueue once the transaction commits.

    Enqueuing before the commit lets a fast worker read rows that do not exist yet. Jobs are named,
    not imported: queuing work imports nothing (a job is the service function that does the work,
    `triage.outbox.deliver` or `jury.panels.verdicts.follow_up`, queued from whichever layer).
    """
    _check(queue, name)
    db.session.info.setdefault(_PENDING_KEY, []).append((queue, name, args))


_ONCE_PREFIX = "jury:queued:"


def defer_once(queue: str, name: str, *args: Any, key: str, ttl: int = 900) -> bool:
    """Defer a job unless the same one is already queued or running; True if deferred.

    For jobs that every verdict or sweep may ask for (retraining, re-estimation): without this,
    a busy jury queued one per verdict while the first was still training. A Redis marker
    says one is on its way; the job clears it with `finished_once` when done. Should the job
    be lost, the marker expires after `ttl` seconds and the next request queues it again.
    """
    connection = redis_connection()
    if connection is not None:
        try:
            if not connection.set(_ONCE_PREFIX + key, "1", nx=True, ex=ttl):
                return False
        except Exception as exc:  # Redis down: defer anyway; enqueuing will fail and be retried later
            log.warning("could not mark job %s as queued: %s", key, type(exc).__name__)
    defer(queue, name, *args)
    return True


_COALESCED_KEY = "jury_coalesced_jobs"


def defer_coalesced(queue: str, name: str, *, key: str, ttl: int = 30) -> None:
    """Queue the job `name()` after the commit, unless one is already waiting to start.

    For a job that takes whatever work is waiting (`score_waiting`): the more work piles up while
    the workers are busy, the larger its batches, and the less each item costs. The job calls
    `take_coalesced(key)` when it starts, so work committed after that queues the next one. The
    mark is set after the commit, never before it: a job that starts in between still sees the
    work. Should the job be lost, the mark expires after `ttl` seconds (and the sweeper finds
    the work anyway).
    """
    _check(queue, name)
    db.session.info.setdefault(_COALESCED_KEY, {})[key] = (queue, name, ttl)


def linger(seconds: float) -> float:
    """In an RQ job, wait until `seconds` after it was queued; return the seconds waited.

    For a coalesced job: work that arrives while it lingers joins its batch instead of making a
    batch of its own (scoring 20 posts costs nearly what 100 do). A job that already waited that
    long in the queue goes on at once, and a job run inline (no Redis) never waits.
    """
    from rq import get_current_job

    job = get_current_job()
    if seconds <= 0 or job is None or job.enqueued_at is None:
        return 0.0
    queued = job.enqueued_at.replace(tzinfo=UTC) if job.enqueued_at.tzinfo is None else job.enqueued_at
    wait = min(seconds, seconds - (datetime.now(UTC) - queued).total_seconds())
    if wait > 0:
        time.sleep(wait)
    return max(wait, 0.0)


def take_coalesced(key: str) -> None:
    """The coalesced job has started: the next piece of work queues another one."""
    finished_once(key)


def _dispatch_coalesced(jobs: dict[str, tuple[str, str, int]]) -> list[tuple[str, tuple]]:
    """Queue each coalesced job unless one is waiting to start; without Redis, the jobs to run inline."""
    connection = redis_connection()
    if connection is None:
        return [(name, ()) for _queue, name, _ttl in jobs.values()]
    for key, (queue, name, ttl) in jobs.items():
        try:
            if not connection.set(_ONCE_PREFIX + key, "1", nx=True, ex=ttl):
                continue  # one is waiting to start: it will see this work
        except Exception as exc:  # Redis down: the sweeper re-queues the work later
            log.warning("could not queue %s: %s", name, type(exc).__name__)
            continue
        if not _enqueue_many(queue, [(name, ())]):
            finished_once(key)
    return []


def finished_once(key: str) -> None:
    """Let `defer_once` queue the job again (called by the job when it ends)."""
    connection = redis_connection()
    if connection is None:
        return
    try:
        connection.delete(_ONCE_PREFIX + key)
    except Exception as exc:  # the marker expires by itself
        log.warning("could not clear the queued mark of %s: %s", key, type(exc).__name__)


def dispatch_deferred() -> list[tuple[str, tuple]]:
    """Hand the committed transaction's deferred jobs to their queues (triage.transaction calls this
    after the commit). Without Redis, returns them instead, in order, for the caller to run inline."""
    inline = []
    coalesced = db.session.info.pop(_COALESCED_KEY, None)
    if coalesced:
        inline.extend(_dispatch_coalesced(coalesced))
    pending = db.session.info.pop(_PENDING_KEY, [])
    if not pending:
        return inline
    if redis_connection() is None:
        return inline + [(name, args) for _queue, name, args in pending]
    by_queue: dict[str, list[tuple[str, tuple]]] = {}
    for queue, name, args in pending:
        by_queue.setdefault(queue, []).append((name, args))
    for queue, calls in by_queue.items():
        _enqueue_many(queue, calls)
    return inline


def drop_deferred() -> None:
    """Forget the deferred jobs of a transaction that rolled back."""
    db.session.info.pop(_PENDING_KEY, None)
    db.session.info.pop(_COALESCED_KEY, None)


def deferred_mark() -> tuple[int, dict[str, tuple[str, str, int]]]:
    """Where the transaction's deferred jobs stand now (for a savepoint to go back to)."""
    return len(db.session.info.get(_PENDING_KEY, [])), dict(db.session.info.get(_COALESCED_KEY, {}))


def rewind_deferred(mark: tuple[int, dict[str, tuple[str, str, int]]]) -> None:
    """Forget the jobs deferred since `mark` (their savepoint was rolled back)."""
    count, coalesced = mark
    del db.session.info.get(_PENDING_KEY, [])[count:]
    if coalesced:
        db.session.info[_COALESCED_KEY] = coalesced
    else:
        db.session.info.pop(_COALESCED_KEY, None)


_clients: dict[str, Any] = {}


def redis_connection():
    """The process's Redis client for REDIS_URL (its pool is reused), or None when jobs run inline."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    if url not in _clients:
        from redis import Redis

        # redis-py's pool notices a fork and reconnects, so RQ's job processes can share this.
        _clients[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return _clients[url]


def job_function(name: str) -> Callable[..., Any]:
    """The function a job name stands for, as an RQ worker finds it (module path, then attribute)."""
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def _enqueue_many(queue: str, calls: list[tuple[str, tuple]]) -> bool:
    """Put jobs on one RQ queue in a single round trip; False (logged) if Redis is unreachable."""
    from rq import Queue

    rq_queue = Queue(queue, connection=redis_connection())
    try:
        rq_queue.enqueue_many([
            Queue.prepare_data(name, args, timeout=300, result_ttl=3600, failure_ttl=7 * 24 * 3600)
            for name, args in calls
        ])
    except Exception as exc:  # Redis down: the sweeper re-enqueues from the database
        log.warning("could not enqueue %d job(s) on %s: %s", len(calls), queue, type(exc).__name__)
        return False
    return True
