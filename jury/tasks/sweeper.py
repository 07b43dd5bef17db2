"""Find work whose job was lost (Redis down, worker killed) and queue it again; seal the audit chain."""
from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy import and_, or_, select, update

import audit
from jury.panels import cluster_verdicts, juror_reliability, verdicts
from models import Action, Post, Verdict, db, sql, utcnow
from triage import account_measures, cases, dealing, jobs, transaction
from triage.intake import SCORING_CHUNK
from triage.policy import current_policy

log = logging.getLogger(__name__)

LOST_AFTER, lost_after = jobs.LOST_AFTER, jobs.lost_after
BATCH = 1000


def requeue_unscored(now=None) -> int:
    """Queue scoring again for posts whose scoring job never finished."""
    now = now or utcnow()
    with transaction.atomic(durable=True):
        ids = list(db.session.scalars(
            select(Post.id).where(Post.scored_at.is_(None), Post.score_requested_at <= now - lost_after())
            .order_by(Post.id).limit(BATCH)
        ))
        if ids:
            db.session.execute(update(Post).where(Post.id.in_(ids)).values(score_requested_at=now))
            for start in range(0, len(ids), SCORING_CHUNK):
                jobs.defer("scoring", "triage.intake.score_posts", ids[start:start + SCORING_CHUNK])
    return len(ids)


def requeue_actions(now=None) -> int:
    """Queue delivery again for due actions with no live job, and free stuck claims."""
    now = now or utcnow()
    stale = now - lost_after()
    with transaction.atomic(durable=True):
        # A claim older than LOST_AFTER belongs to a worker that died mid-delivery.
        db.session.execute(
            update(Action).where(Action.state == "sending", Action.enqueued_at <= stale)
            .values(state="failed", next_attempt_at=now)
        )
        due = list(db.session.scalars(
            select(Action.id).where(
                Action.state.in_(("pending", "failed")), Action.next_attempt_at <= now,
                # Never queued since it fell due (a retry), or queued so long ago the job is lost.
                or_(Action.enqueued_at.is_(None), Action.enqueued_at <= stale,
                    and_(Action.state == "failed", Action.enqueued_at < Action.next_attempt_at)),
            ).order_by(Action.id).limit(BATCH)
        ))
        if due:
            db.session.execute(update(Action).where(Action.id.in_(due)).values(enqueued_at=now))
            for action_id in due:
                jobs.defer("actions", "triage.outbox.deliver", action_id)
    return len(due)


def requeue_follow_ups(now=None) -> int:
    """Queue again the follow-up of verdicts whose job was lost (no actions were created yet)."""
    now = now or utcnow()
    with transaction.atomic(durable=True):
        ids = list(db.session.scalars(
            select(Verdict.id).where(Verdict.followed_up_at.is_(None),
                                     or_(Verdict.follow_up_enqueued_at.is_(None),
                                         Verdict.follow_up_enqueued_at <= now - lost_after()))
            .order_by(Verdict.id).limit(BATCH)
        ))
        if ids:
            db.session.execute(update(Verdict).where(Verdict.id.in_(ids)).values(follow_up_enqueued_at=now))
            for verdict_id in ids:
                verdicts.queue_follow_up(verdict_id)
    return len(ids)


def sweep() -> dict[str, int]:
    """One pass of every recovery task; safe to run from several processes."""
    expired = dealing.expire_leases()
    unscored = requeue_unscored()
    followed_up = requeue_follow_ups()
    clusters = cluster_verdicts.requeue_lost()
    actions = requeue_actions()
    lifted = account_measures.lift_expired()
    policy = current_policy()
    refreshed = cases.refresh_priorities(policy)
    with transaction.atomic(durable=True):
        reestimating = juror_reliability.schedule_if_due(policy.reestimate_every)
    with transaction.atomic(durable=True):
        analysed = sql.refresh_planner_statistics()  # SQLite only: what PostgreSQL's autovacuum does
    return {"expired_leases": expired, "rescored_posts": unscored, "requeued_follow_ups": followed_up,
            "requeued_cluster_verdicts": clusters, "requeued_actions": actions, "lifted_suspensions": lifted,
            "reprioritised_cases": refreshed, "reliability_reestimated": int(reestimating),
            "analysed_statistics": int(analysed)}


def seal_forever(app: Flask, interval: float, stop: threading.Event) -> None:
    """Seal new audit events every `interval` seconds until stopped."""
    while not stop.is_set():
        try:
            with app.app_context():
                audit.seal(db.session)
        except Exception:  # keep sealing: nothing is lost while the database is away, only delayed
            log.exception("audit sealing failed")
        stop.wait(interval)


def run_forever(app: Flask, interval: float, stop: threading.Event | None = None) -> None:
    """Sweep every `interval` seconds until stopped; a second thread seals audit events meanwhile."""
    stop = stop or threading.Event()
    with app.app_context():
        background = audit.seals_in_background(db.session)
    if background:
        threading.Thread(target=seal_forever, args=(app, app.config["AUDIT_SEAL_SECONDS"], stop),
                         name="audit-sealer", daemon=True).start()
    while not stop.is_set():
        try:
            with app.app_context():
                counts = sweep()
            if any(counts[k] for k in ("expired_leases", "rescored_posts", "requeued_follow_ups",
                                       "requeued_cluster_verdicts", "requeued_actions")):
                log.info("sweep: %s", counts)
        except Exception:  # keep sweeping: a database blip must not end recovery for good
            log.exception("sweep failed")
        stop.wait(interval)


def start_thread(app: Flask, interval: float = 15.0) -> threading.Event:
    """Run the sweeper in a daemon thread (the embedded demo has no separate process)."""
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(app, interval, stop), name="sweeper", daemon=True).start()
    return stop
