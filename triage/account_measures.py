"""Strikes and the account measures they call for, applied through the outbox.

Each first-instance removal adds one strike to its author's account (the strikes table's unique
verdict key makes a job or delivery that runs twice add nothing). A strike that was new locks the
account row and asks the ladder (`triage.strikes.measure_due`) whether a warning, a suspension
or a ban is due; if one is, the account's state and the `warn_account` / `suspend_account`
action are written in the same transaction, so the measure is taken once. An overturned removal
withdraws its strike: a suspension the rest no longer calls for is lifted (`unsuspend_account`), and a
ban or a longer suspension steps down to the suspension they do call for (`suspend_account` for the
time left, `triage.strikes.after_withdrawal`). The sweeper lifts suspensions whose time is up.
Every function here runs inside the caller's `transaction.atomic()`.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

import audit
from models import Account, Action, Case, Post, Strike, Verdict, db, utcnow
from models.rules import RULES_BY_CODE
from models.sql import insert_ignore
from triage import jobs, outbox, transaction
from triage.appeal_links import APPEAL_WINDOW_MONTHS, REDRESS
from triage.policy import current_policy
from triage.strikes import (
    STRIKING_ORIGINS,
    Measure,
    StrikePolicy,
    after,
    after_withdrawal,
    measure_due,
    removal_confidence,
)

log = logging.getLogger(__name__)

# How many removals a statement names (the rest are counted).
LISTED_REMOVALS = 10
ID_CHARS = 64


def strike_for_removal(verdict: Verdict, case: Case, post: Post, *, actor: str = "system") -> Action | None:
    """A first-instance removal's strike and the measure it calls for; the measure's action, if any,
    which the caller delivers after its commit (outbox.deliver_each). Nothing happens for a verdict
    that is not such a removal, or whose strike already exists."""
    if verdict.outcome != "remove" or case.origin not in STRIKING_ORIGINS:
        return None
    return _strike(verdict, case, post, actor)


def strike_for_appeal_removal(verdict: Verdict, appeal_case: Case, post: Post, *, actor: str) -> None:
    """The strike of a removal an appeal decided (a reporter's appeal of a kept post, confirmed by a
    lead), and the measure it calls for, delivered by a job after the commit."""
    if verdict.outcome != "remove":
        return
    action = _strike(verdict, appeal_case, post, actor)
    if action is not None:
        jobs.defer("actions", "triage.outbox.deliver", action.id)


def _strike(verdict: Verdict, case: Case, post: Post, actor: str) -> Action | None:
    """Add the strike (once per verdict) and, for a new one, take the measure the ladder calls for."""
    policy = current_policy()
    ladder = policy.strikes
    # The account's row lock first: the strike's foreign key takes a share lock on the same row, and
    # two removals that each held one while waiting to lock it for update deadlocked each other.
    account = lock_account(_account_id(post.author_id))
    account_id = account.id
    confidence = removal_confidence(verdict.method, verdict.posterior)
    weight = ladder.weight(verdict.rule, confidence)
    inserted = insert_ignore(Strike, [{
        "account_id": account_id, "verdict_id": verdict.id, "rule": verdict.rule or "other",
        "weight": weight, "created_at": verdict.decided_at,
        "expires_at": ladder.expires(verdict.decided_at),
    }], ("verdict_id",), Strike.id)
    if not inserted:
        return None
    strike_id = inserted[0]
    now = utcnow()
    strikes = active_strikes(account.id, now)
    # The new strike last, as measure_due expects (another removal's strike may have a later id).
    strikes = [s for s in strikes if s.id != strike_id] + [s for s in strikes if s.id == strike_id]
    audit.record(db.session, "strike_added", "account", account.id, {
        "verdict_id": verdict.id, "rule": verdict.rule, "weight": weight,
        "uncertain": weight < ladder.weight(verdict.rule), "active_weight": sum(s.weight for s in strikes)},
        actor=actor)
    measure = measure_due(ladder, [s.weight for s in strikes], 1, account.state, account.suspended_until, now)
    if not measure:
        return None
    return _apply(account, measure, strikes, ladder, policy.version, case, now, actor)


def _account_id(external_id: str) -> int:
    """The account row of an author (created here for a post stored before accounts existed)."""
    insert_ignore(Account, [{"external_id": external_id, "state": "active"}], ("external_id",), None)
    return db.session.scalar(select(Account.id).where(Account.external_id == external_id))


def lock_account(account_id: int) -> Account:
    """The account under its row lock (FOR UPDATE on PostgreSQL; SQLite has one writer at a time),
    as it is now: two removals of one author's posts take their measures one after the other."""
    return db.session.scalars(select(Account).where(Account.id == account_id).with_for_update(),
                              execution_options={"populate_existing": True}).one()


def active_strikes(account_id: int, now: datetime) -> list[Strike]:
    """The account's strikes that still count: not expired, not withdrawn; oldest first."""
    return list(db.session.scalars(
        select(Strike).where(Strike.account_id == account_id, Strike.withdrawn_at.is_(None), Strike.expires_at > now)
        .order_by(Strike.created_at, Strike.id)))


def _apply(account: Account, measure: Measure, strikes: Sequence[Strike], ladder: StrikePolicy,
           policy_version: int, case: Case, now: datetime, actor: str) -> Action:
    """Set the account's new state and queue the measure on the network, with its statement of reasons."""
    before = account.state
    account.state, account.suspended_until = after(measure, now)
    verdict_ids = tuple(s.verdict_id for s in strikes)
    statement = measure_statement(measure, account.suspended_until, strikes, ladder, policy_version)
    spec = outbox.ActionSpec("warn_account" if measure.kind == "warn" else "suspend_account", account.external_id,
                             statement, strikes[-1].rule, duration_days=measure.days if measure.kind == "suspend"
                             else None, strike_count=len(strikes), verdict_ids=verdict_ids)
    action = outbox.add_actions(case, None, [spec], actor=actor)[0]
    audit.record(db.session, "account_measure", "account", account.id, {
        "measure": measure.kind, "days": measure.days, "from_state": before, "to_state": account.state,
        "suspended_until": account.suspended_until.isoformat() if account.suspended_until else None,
        "strike_count": len(strikes), "verdict_ids": list(verdict_ids), "action_id": action.id,
        "policy_version": policy_version}, actor=actor)
    return action


def _measure_words(measure: Measure, until: datetime | None) -> str:
    if measure.kind == "warn":
        return "This is a warning: your account stays open, but further removals can lead to a suspension."
    if measure.kind == "ban":
        return "Your account has been suspended permanently."
    return (f"Your account has been suspended for {measure.days} days, until {until:%Y-%m-%d %H:%M} UTC; "
            "it reopens by itself then.")


def measure_statement(measure: Measure, until: datetime | None, strikes: Sequence[Strike], ladder: StrikePolicy,
                      policy_version: int) -> str:
    """The statement of reasons for an account measure (DSA Art. 17): the measure and its duration,
    the removals and rules behind it, how it was decided, and the redress."""
    rows = db.session.execute(
        select(Strike.verdict_id, Post.external_id, Verdict.decided_at)
        .join(Verdict, Verdict.id == Strike.verdict_id).join(Case, Case.id == Verdict.case_id)
        .join(Post, Post.id == Case.post_id).where(Strike.id.in_([s.id for s in strikes])))
    posts = {verdict_id: (external_id, decided) for verdict_id, external_id, decided in rows}
    listed = []
    for strike in list(strikes)[-LISTED_REMOVALS:]:
        external_id, decided = posts.get(strike.verdict_id, ("?", strike.created_at))
        rule = RULES_BY_CODE.get(strike.rule)
        listed.append(f"post {str(external_id)[:ID_CHARS]} removed on {decided:%Y-%m-%d} under the rule "
                      f"'{rule.title if rule else strike.rule}'")
    more = len(strikes) - len(listed)
    removals = "; ".join(listed) + (f"; and {more} earlier removals" if more > 0 else "")
    total = sum(s.weight for s in strikes)
    return (f"{_measure_words(measure, until)} "
            f"Reason: {len(strikes)} of your posts were removed for breaking the network's rules in the last "
            f"{ladder.window_days} days ({removals}), a strike weight of {total:g}. Under the strike policy "
            f"(version {policy_version}) this weight calls for this measure; it was applied automatically "
            "after each removal was decided by people (volunteer jurors or a trust-and-safety lead). "
            f"You can appeal within {APPEAL_WINDOW_MONTHS} months through the link given with this notice: a fresh "
            "panel reviews the latest removal, and the measure is lifted if it falls. "
            f"{REDRESS}")


def withdraw_strike(verdict: Verdict, reason: str, case: Case, *, actor: str) -> Action | None:
    """An overturned removal's strike stops counting; a suspension or ban the rest no longer calls for
    is lifted or reduced through the network. The `unsuspend_account` or `suspend_account` action
    (queued for after the commit), if any."""
    strike = db.session.scalar(select(Strike).where(Strike.verdict_id == verdict.id))
    if strike is None or strike.withdrawn_at is not None:
        return None
    account = lock_account(strike.account_id)
    now = utcnow()
    done = db.session.execute(update(Strike).where(Strike.id == strike.id, Strike.withdrawn_at.is_(None))
                              .values(withdrawn_at=now, withdrawn_reason=reason[:2000]))
    if not done.rowcount:
        return None
    db.session.refresh(strike)
    rest = active_strikes(account.id, now)
    audit.record(db.session, "strike_withdrawn", "account", account.id,
                 {"verdict_id": verdict.id, "active_weight": sum(s.weight for s in rest)}, actor=actor)
    changed = after_withdrawal(current_policy().strikes, [(s.weight, s.created_at) for s in rest], account.state,
                               account.suspended_until, now)
    if changed is None:
        return None
    if changed[0] == "suspended":
        return _shorten(account, case, changed[1], rest, reason, now, actor)
    statement = ("Your account's suspension has been lifted: a removal behind it was overturned on appeal, and "
                 f"your remaining strikes no longer call for a suspension. {reason}")
    return _lift(account, case, statement, rest, "appeal", actor)


def _shorten(account: Account, case: Case, until: datetime, rest: Sequence[Strike], reason: str, now: datetime,
             actor: str) -> Action:
    """A ban stepped down (or a suspension shortened) to the suspension the remaining strikes call for,
    counted from the last of them: the account's new end, and `suspend_account` for the time left."""
    before, was_until = account.state, account.suspended_until
    account.state, account.suspended_until = "suspended", until
    days = max(1, math.ceil((until - now).total_seconds() / 86400))
    earlier = "permanent suspension" if before == "banned" else "suspension"
    statement = (f"Your account's {earlier} has been reduced: a removal behind it was overturned on appeal, and your "
                 f"remaining strikes call for a suspension until {until:%Y-%m-%d %H:%M} UTC, counted from the last "
                 f"removal that still counts; your account reopens by itself then. {reason}")
    spec = outbox.ActionSpec("suspend_account", account.external_id, statement[:4000], rest[-1].rule,
                             duration_days=days, strike_count=len(rest), verdict_ids=tuple(s.verdict_id for s in rest))
    action = outbox.create_actions(case, None, [spec], actor=actor)[0]
    audit.record(db.session, "account_measure_reduced", "account", account.id, {
        "from_state": before, "from_until": was_until.isoformat() if was_until else None,
        "to_state": "suspended", "suspended_until": until.isoformat(), "days": days, "action_id": action.id,
        "strike_count": len(rest)}, actor=actor)
    return action


def _lift(account: Account, case: Case, statement: str, rest: Sequence[Strike], why: str, actor: str) -> Action:
    """Set the account active again and queue `unsuspend_account` (after the caller's commit)."""
    before = account.state
    account.state, account.suspended_until = "active", None
    spec = outbox.ActionSpec("unsuspend_account", account.external_id, statement[:4000], None,
                             strike_count=len(rest), verdict_ids=tuple(s.verdict_id for s in rest))
    action = outbox.create_actions(case, None, [spec], actor=actor)[0]
    audit.record(db.session, "account_unsuspended", "account", account.id,
                 {"from_state": before, "why": why, "action_id": action.id}, actor=actor)
    return action


def lift_expired(now: datetime | None = None, limit: int = 200) -> int:
    """Lift suspensions whose time is up, once each (the sweeper's task); how many were lifted."""
    now = now or utcnow()
    due = list(db.session.scalars(
        select(Account.id).where(Account.state == "suspended", Account.suspended_until <= now)
        .order_by(Account.id).limit(limit)))
    lifted = 0
    for account_id in due:
        with transaction.atomic():
            account = lock_account(account_id)
            if account.state != "suspended" or account.suspended_until is None or account.suspended_until > now:
                continue  # lifted or changed by another process meanwhile
            case = _case_of_latest_strike(account.id)
            if case is None:
                log.warning("account %s: suspension over but no strike to attach the action to", account.id)
                continue
            ended = f"{account.suspended_until:%Y-%m-%d %H:%M} UTC"
            _lift(account, case, f"Your account's suspension ended on {ended}; your account is open again. "
                  "Further removals can lead to a longer suspension.", active_strikes(account.id, now),
                  "expired", "system")
            lifted += 1
    return lifted


def _case_of_latest_strike(account_id: int) -> Case | None:
    return db.session.scalar(
        select(Case).join(Verdict, Verdict.case_id == Case.id).join(Strike, Strike.verdict_id == Verdict.id)
        .where(Strike.account_id == account_id).order_by(Strike.created_at.desc(), Strike.id.desc()).limit(1))
