"""Apply moderation actions to the network reliably: outbox rows, claims, retries, dead letters."""
from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

import audit
from models import Action, Case, Post, Verdict, db, utcnow
from network import ActionRequest, DeliveryResult, NetworkAdapter, Outcome, make_adapter
from network.backoff import MAX_ATTEMPTS, retry_delay
from network.breaker import CircuitBreaker
from network.contract import MAX_VERDICT_IDS
from network.oncall import ALERT_TYPE, CriticalAlert, OnCallWebhook
from triage import jobs, transaction
from triage.appeal_links import appeal_url

log = logging.getLogger(__name__)

# What the network shows once an action on a post has been applied.
# Account measures that can be appealed (through the removal that called for them).
MEASURE_TYPES = ("warn_account", "suspend_account")
POST_STATE_AFTER = {"remove_post": "removed", "hide_post": "hidden", "unhide_post": "visible",
                    "restore_post": "restored"}


def network_adapter() -> NetworkAdapter:
    """The adapter configured by NETWORK_ADAPTER / NETWORK_URL / secrets, built once per process and settings.

    Reused because each adapter holds an HTTP session: a new one per delivery cost a TCP
    connection and about a millisecond of set-up, for every action. An adapter an embedding program
    put in `app.extensions["jury_network"]` is used instead (a simulation's recording network).
    """
    stand_in = current_app.extensions.get("jury_network")
    if stand_in is not None:
        return stand_in
    config = current_app.config
    options = {key: value for key, value in config.items() if key.startswith("MASTODON_")}
    settings = (config["NETWORK_ADAPTER"], config["NETWORK_URL"], config["NETWORK_WEBHOOK_SECRET"],
                config.get("NETWORK_TOKEN"), float(config["NETWORK_TIMEOUT"]), tuple(sorted(options.items())))
    cached = current_app.extensions.get("jury_network_adapter")
    if cached is not None and cached[0] == settings:
        return cached[1]
    adapter = make_adapter(settings[0], url=settings[1], secret=settings[2], token=settings[3], options=options)
    if hasattr(adapter, "timeout"):
        adapter.timeout = settings[4]
    current_app.extensions["jury_network_adapter"] = (settings, adapter)
    return adapter


def oncall_adapter() -> OnCallWebhook | None:
    """The on-call alert's sender (ONCALL_WEBHOOK_URL / _SECRET), built once per process; None when unset."""
    config = current_app.config
    settings = (config.get("ONCALL_WEBHOOK_URL"), config.get("ONCALL_WEBHOOK_SECRET"), float(config["NETWORK_TIMEOUT"]))
    if not settings[0] or not settings[1]:
        return None
    cached = current_app.extensions.get("jury_oncall_adapter")
    if cached is None or cached[0] != settings:
        cached = current_app.extensions["jury_oncall_adapter"] = (
            settings, OnCallWebhook(settings[0], settings[1], timeout=settings[2]))
    return cached[1]


def circuit_breaker() -> CircuitBreaker:
    """The app's breaker for network deliveries; its state is in Redis (shared by workers) when REDIS_URL is set."""
    config = current_app.config
    settings = (config.get("REDIS_URL"), int(config["NETWORK_BREAKER_THRESHOLD"]),
                float(config["NETWORK_BREAKER_COOLDOWN"]))
    cached = current_app.extensions.get("jury_breaker")
    if cached is None or cached[0] != settings:
        breaker = CircuitBreaker(threshold=settings[1], cooldown=settings[2], redis=jobs.redis_connection())
        cached = current_app.extensions["jury_breaker"] = (settings, breaker)
    return cached[1]


@dataclass(frozen=True)
class ActionSpec:
    """One operation to apply on the network about a case."""

    type: str
    account_id: str | None
    statement: str
    rule: str | None = None
    # Account actions: the suspension's days (None: permanent), the active strikes behind the
    # measure and their verdicts' ids (the one that crossed the threshold last).
    duration_days: int | None = None
    strike_count: int | None = None
    verdict_ids: tuple[int, ...] | None = None


def create_actions(case: Case, post: Post | None, specs: list[ActionSpec], *, actor: str,
                   verdict_id: int | None = None) -> list[Action]:
    """Add outbox rows (add_actions) and queue a delivery job for each, for after the commit."""
    actions = add_actions(case, post, specs, actor=actor, verdict_id=verdict_id)
    for action in actions:
        jobs.defer("actions", "triage.outbox.deliver", action.id)
    return actions


def add_actions(case: Case, post: Post | None, specs: list[ActionSpec], *, actor: str,
                verdict_id: int | None = None) -> list[Action]:
    """Add outbox rows (one flush for all) that the caller delivers itself after its commit
    (`deliver_each`); the rows are marked as handed over now, so the sweeper re-queues them only if
    that is lost.
    """
    now = utcnow()
    actions = [Action(case_id=case.id, verdict_id=verdict_id, type=spec.type, idempotency_key=uuid.uuid4().hex,
                      post_external_id=post.external_id if post else None, account_external_id=spec.account_id,
                      rule=spec.rule, statement=spec.statement, state="pending", next_attempt_at=now,
                      enqueued_at=now, duration_days=spec.duration_days, strike_count=spec.strike_count,
                      verdict_ids=list(spec.verdict_ids) if spec.verdict_ids is not None else None)
               for spec in specs]
    db.session.add_all(actions)
    db.session.flush()
    audit.record_many(db.session, [
        audit.EventSpec("action_queued", "action", action.id,
                        {"case_id": case.id, "type": action.type, "key": action.idempotency_key}, actor)
        for action in actions
    ])
    return actions


def _claim(action_ids: list[int]) -> list[Action]:
    """Take these actions for this worker, in the order given: those not done, dead, in flight or not due.

    One statement for the batch. The claim is committed before the network call, so no database
    lock is held while waiting on the network (the sandbox network writes to the same database).
    """
    now = utcnow()
    with transaction.atomic(durable=True) as tx:
        claimed = db.session.scalars(
            update(Action)
            .where(Action.id.in_(action_ids), Action.state.in_(("pending", "failed")), Action.next_attempt_at <= now)
            .values(state="sending", attempts=Action.attempts + 1, enqueued_at=now).returning(Action),
            execution_options={"populate_existing": True, "synchronize_session": False},
        ).all()
        tx.keep(*claimed)
    order = {action_id: index for index, action_id in enumerate(action_ids)}
    claimed.sort(key=lambda action: order[action.id])
    return claimed


def deliver(action_id: int) -> str:
    """Send one action to the network and record the outcome; returns the new state."""
    return deliver_each([action_id])[0]


def deliver_each(action_ids: list[int]) -> list[str]:
    """Send actions to the network one after another and record every outcome; returns their states.

    A verdict's actions (its removal and a notice per reporter) go together: one claim, one read
    of their cases, one transaction for the outcomes. As a job each, RQ's bookkeeping alone cost
    about 5 ms of CPU per action, and each delivery two transactions of its own. An action that
    cannot be claimed (done, dead, in flight elsewhere or not due) is left alone; should this
    process die half-way, the sweeper frees the claims, as for any lost delivery job.
    """
    claimed = _claim(action_ids)
    attempts = _send(claimed) if claimed else []
    states = _record_outcomes(attempts) if attempts else {}
    if len(states) < len(action_ids):
        for action_id, state in db.session.execute(
                select(Action.id, Action.state).where(Action.id.in_([i for i in action_ids if i not in states]))):
            states[action_id] = state
    return [states.get(action_id, "missing") for action_id in action_ids]


@dataclass
class _Attempt:
    """One claimed action and what became of it: a network answer, or put off by the open breaker."""

    action: Action
    case: Case | None
    claimed_at: object
    result: object | None = None  # network.DeliveryResult
    put_off_for: float = 0.0


def _send(claimed: list[Action]) -> list[_Attempt]:
    """The network calls, one per claimed action, with the circuit breaker consulted before each
    (the on-call alerts go to their own URL, with a breaker of their own)."""
    breaker = circuit_breaker()
    # The reads end before calling out: a transaction left open across the calls (up to
    # NETWORK_TIMEOUT each) would hold its snapshot and its table locks for as long.
    with transaction.atomic(keep=claimed, durable=True) as tx:
        cases = {case.id: case for case in db.session.scalars(
            select(Case).where(Case.id.in_({action.case_id for action in claimed})))}
        prepared = [(_Attempt(action, cases.get(action.case_id), action.enqueued_at),
                     _request(action, cases.get(action.case_id))) for action in claimed]
        tx.keep(*cases.values())
    attempts = []
    # Each adapter once for the batch (the network's only when one of its actions is in it).
    adapters = {kind: (oncall_adapter() if kind == ALERT_TYPE else network_adapter())
                for kind in {ALERT_TYPE if a.type == ALERT_TYPE else "network" for a in claimed}}
    for attempt, request in prepared:
        attempts.append(attempt)
        adapter = adapters[ALERT_TYPE if attempt.action.type == ALERT_TYPE else "network"]
        if adapter is None:
            attempt.result = DeliveryResult(Outcome.PERMANENT, None, "ONCALL_WEBHOOK_URL is not set: set it (and "
                                            "ONCALL_WEBHOOK_SECRET) and retry this alert")
            continue
        endpoint = str(getattr(adapter, "endpoint", adapter.name))
        gate = breaker.before(endpoint)
        if not gate.allowed:
            attempt.put_off_for = gate.retry_after
            continue
        attempt.result = adapter.deliver(request)
        if attempt.result.outcome is Outcome.RETRY:
            breaker.record_failure(endpoint)
        else:  # an answer, even a refusal, shows the network is up
            breaker.record_success(endpoint)
    return attempts


def _request(action: Action, case: Case | None) -> ActionRequest | CriticalAlert:
    """What goes over the wire for one action: the webhook contract's body, or an on-call alert."""
    if action.type == ALERT_TYPE:
        base = current_app.config["PUBLIC_URL"].rstrip("/")
        return CriticalAlert(
            action_id=action.idempotency_key, case_id=str(action.case_id), post_id=action.post_external_id,
            account_id=action.account_external_id, reason=action.statement,
            opened_at=(case.critical_at or case.opened_at).isoformat() if case else "",
            due_at=case.sla_deadline.isoformat() if case else "", case_url=f"{base}/cases/{action.case_id}",
            oncall_url=f"{base}/lead/oncall")
    return ActionRequest(
        action_id=action.idempotency_key, type=action.type, post_id=action.post_external_id,
        account_id=action.account_external_id, case_id=str(action.case_id), rule=action.rule,
        statement_of_reasons=action.statement, appeal_url=_appeal_url(action, case),
        duration_days=action.duration_days if action.type == "suspend_account" else None,
        strike_count=action.strike_count or 0,
        verdict_ids=tuple(str(v) for v in (action.verdict_ids or ())[-MAX_VERDICT_IDS:]),
    )


def _record_outcomes(attempts: list[_Attempt]) -> dict[int, str]:
    """Write every attempt's outcome in one transaction; returns each action's state."""
    states: dict[int, str] = {}
    with transaction.atomic(durable=True):
        # Lock the actions (in id order, like every other locker) before their cases.
        locked = {action.id: action for action in db.session.scalars(
            select(Action).where(Action.id.in_([a.action.id for a in attempts])).order_by(Action.id)
            .with_for_update(), execution_options={"populate_existing": True})}
        done_cases: dict[int, Case] = {}
        for attempt in attempts:
            action = locked.get(attempt.action.id)
            if action is None:
                continue
            # A worker that stalled past JOB_LOST_AFTER lost its claim to the sweeper; another worker
            # may have finished the action since. Its late outcome must not overwrite theirs.
            if action.state != "sending" or action.enqueued_at != attempt.claimed_at:
                log.info("action %s was re-claimed while this delivery ran; its outcome is left to the new claim",
                         action.id)
            elif attempt.result is None:
                _put_off(action, attempt.put_off_for)
            elif _apply_result(action, attempt.case, attempt.result) and attempt.case is not None:
                done_cases[attempt.case.id] = attempt.case
            states[action.id] = action.state
        for case_id in sorted(done_cases):
            _mark_case_actioned(done_cases[case_id])
    return states


def _apply_result(action: Action, case: Case | None, result) -> bool:
    """Record the network's answer on the action (the caller commits); True if it was applied."""
    now = utcnow()
    action.last_error = None if result.outcome is Outcome.DONE else result.detail
    if result.outcome is Outcome.DONE:
        action.state, action.sent_at, action.receipt = "sent", now, result.receipt
        _apply_to_post(action, case)
        audit.record(db.session, "action_sent", "action", action.id,
                     {"type": action.type, "status": result.status_code, "attempts": action.attempts})
        return True
    if result.outcome is Outcome.RETRY and action.attempts < MAX_ATTEMPTS:
        action.state = "failed"
        # A rate limit's reset time is a floor: retrying before it only earns another 429.
        delay = max(retry_delay(action.attempts, base=current_app.config["ACTION_RETRY_BASE"],
                                cap=current_app.config["ACTION_RETRY_CAP"]), result.retry_after or 0.0)
        action.next_attempt_at = now + timedelta(seconds=delay)
        audit.record(db.session, "action_retry_scheduled", "action", action.id,
                     {"detail": result.detail, "attempts": action.attempts,
                      "next_attempt_at": action.next_attempt_at.isoformat()})
    else:
        action.state = "dead"
        audit.record(db.session, "action_dead", "action", action.id,
                     {"detail": result.detail, "status": result.status_code, "attempts": action.attempts})
        log.warning("action %s is dead after %s attempts: %s", action.id, action.attempts, result.detail)
    return False


def _appeal_url(action: Action, case: Case | None) -> str | None:
    """Every first-instance removal carries its signed appeal link, dated by the decision; a warning or
    suspension carries the link of the removal that crossed the threshold (overturned, it lifts the
    measure when the rest of the strikes fall below it)."""
    if action.type in MEASURE_TYPES and action.verdict_ids:
        verdict_id = action.verdict_ids[-1]
    elif action.type != "remove_post" or action.verdict_id is None or case is None or case.origin == "appeal":
        return None
    else:
        verdict_id = action.verdict_id
    verdict = db.session.get(Verdict, verdict_id)
    if verdict is None:
        return None
    return appeal_url(verdict.id, issued_at=verdict.decided_at.timestamp(), ref=verdict.appeal_ref)


def _put_off(action: Action, wait: float) -> str:
    """The breaker is open: give the claim back untried, due again after the cool-down (the caller commits).

    The attempt is not counted, so a long outage never dead-letters an action.
    """
    action.state, action.attempts = "failed", action.attempts - 1
    # Jitter, so a backlog does not come back all at once when the breaker closes.
    action.next_attempt_at = utcnow() + timedelta(seconds=wait * random.uniform(1.0, 1.25))  # noqa: S311 - jitter, not a secret
    action.last_error = "circuit breaker open: the network failed repeatedly; not tried"
    audit.record(db.session, "action_deferred", "action", action.id,
                 {"reason": "circuit_open", "next_attempt_at": action.next_attempt_at.isoformat()})
    return action.state


def _apply_to_post(action: Action, case: Case) -> None:
    """Mirror the network's new state of the post."""
    new_state = POST_STATE_AFTER.get(action.type)
    if new_state and case is not None:
        post = db.session.get(Post, case.post_id)
        post.state = new_state


def _mark_case_actioned(case: Case) -> None:
    """A decided case becomes actioned once every action of its verdict has been sent."""
    if case is None or case.state != "decided":
        return
    # Two workers sending a verdict's two actions at once each saw the other still unsent, and
    # neither closed the case. Taking the case's row lock first makes the second wait for the
    # first's commit; its count below then sees it (each statement reads afresh).
    db.session.execute(update(Case).where(Case.id == case.id).values(lock_version=Case.lock_version + 1))
    db.session.refresh(case)
    if case.state != "decided":
        return
    unsent = db.session.scalar(
        select(func.count()).select_from(Action).where(
            Action.case_id == case.id, Action.verdict_id.is_not(None), Action.state != "sent")
    )
    if not unsent:
        case.state = "actioned"
        audit.record(db.session, "case_actioned", "case", case.id, {})


def retry_dead(action_id: int, actor: str) -> Action:
    """Put a dead or failed action back in line (a lead's retry button)."""
    action = db.session.get(Action, action_id)
    if action is None:
        raise LookupError(f"no action {action_id}")
    if action.state not in ("dead", "failed"):
        raise ValueError(f"action {action_id} is {action.state}; only dead or failed actions are retried")
    with transaction.atomic():
        action.state, action.attempts, action.next_attempt_at = "pending", 0, utcnow()
        action.enqueued_at = utcnow()
        audit.record(db.session, "action_requeued", "action", action.id, {}, actor=actor)
        jobs.defer("actions", "triage.outbox.deliver", action.id)
    return action
