"""Queue health for leads: backlog, decision and action times, SLA breaches, juror activity."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from audit.figures import account_measures
from models import Action, Case, User, Verdict, Vote, db, utcnow
from triage import flood
from triage.policy import SEVERITY_NAMES, current_policy

AGE_BUCKETS = ((1, "< 1 h"), (4, "1–4 h"), (24, "4–24 h"), (72, "1–3 days"), (math.inf, "> 3 days"))
BACKLOG_STATES = ("queued", "in_review", "escalated")
POST_ACTIONS = ("remove_post", "unhide_post")


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (pct in 0–100) of the values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Times:
    """Median, p90 and p99 of a set of durations, in hours."""

    count: int
    median: float | None
    p90: float | None
    p99: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> Times:
        """Summarise durations given in seconds."""
        hours = [s / 3600 for s in seconds]
        return cls(len(hours), percentile(hours, 50), percentile(hours, 90), percentile(hours, 99))


@dataclass
class Day:
    """One day's decision and action times."""

    day: date
    to_verdict: Times
    to_action: Times
    sla_breaches: int
    within_24h: float | None  # share of the day's verdicts reached within 24 h of the case opening


@dataclass(frozen=True)
class Forecast:
    """Where the jurors' queue is heading at the last hour's pace."""

    decided_last_hour: int
    opened_last_hour: int
    waiting: int  # queued and in review: the cases jurors still have to decide
    clears_in_hours: float | None  # None: the queue does not shrink at this pace
    clears_at: datetime | None
    will_breach: int  # open cases within their SLA now whose turn comes after their deadline at this pace

    @property
    def shrinking(self) -> bool:
        """Whether more cases are decided than opened at this pace."""
        return self.clears_in_hours is not None


@dataclass(frozen=True)
class Flood:
    """Whether the queue is a flood now (triage.flood), and what the policy does about it."""

    queue: flood.Queue
    min_open_cases: int
    rule_on: bool  # the policy's flood.enabled: votes cost flood_vote_cost while it is a flood
    vote_cost: float
    flood_vote_cost: float

    @property
    def flooded(self) -> bool:
        """At least min_open_cases open, and more open than the jury decided in the window."""
        return self.queue.is_flood(self.min_open_cases)


def flood_state() -> Flood:
    """The queue read now against the policy's `flood` group."""
    policy = current_policy()
    settings = policy.flood
    return Flood(flood.read(float(settings["queue_hours"])), int(settings["min_open_cases"]), bool(settings["enabled"]),
                 policy.vote_cost, float(settings["vote_cost"]))


@dataclass
class Health:
    """Everything the queue-health page shows."""

    backlog: dict[str, dict[str, int]]  # severity name -> age bucket -> open cases
    backlog_total: int
    open_breaching: int  # open cases already past their SLA deadline
    days: list[Day]
    within_24h: float | None  # share of the window's cases (opened over 24 h ago) decided within 24 h
    actions: dict[str, int]
    active_jurors_1h: int
    active_jurors_24h: int
    votes_last_hour: int
    votes_per_hour_24h: float
    hourly_votes: list[tuple[datetime, int]] = field(default_factory=list)
    # Over the window: accounts warned, suspended and banned, and hours from the removal that
    # crossed a threshold to the measure applied (median_hours_to_account_action, p90_...).
    accounts: dict[str, Any] = field(default_factory=dict)
    forecast: Forecast | None = None
    flood: Flood | None = None


def _bucket(age_hours: float) -> str:
    for limit, name in AGE_BUCKETS:
        if age_hours < limit:
            return name
    return AGE_BUCKETS[-1][1]


def backlog(now: datetime) -> tuple[dict[str, dict[str, int]], int, int]:
    """Open cases by severity and age, their total, and how many are past their SLA."""
    table = {name: {bucket: 0 for _, bucket in AGE_BUCKETS} for name in SEVERITY_NAMES}
    total = breaching = 0
    for severity, opened_at, deadline in db.session.execute(
        select(Case.severity, Case.opened_at, Case.sla_deadline).where(Case.state.in_(BACKLOG_STATES))
    ):
        name = SEVERITY_NAMES[min(max(severity, 0), len(SEVERITY_NAMES) - 1)]
        table[name][_bucket((now - opened_at).total_seconds() / 3600)] += 1
        total += 1
        breaching += deadline < now
    return table, total, breaching


def _applied_at(since: datetime) -> dict[int, datetime]:
    """When each verdict's action on the post landed (or, with no post action, its first notice)."""
    post_sent: dict[int, datetime] = {}
    any_sent: dict[int, datetime] = {}
    for verdict_id, kind, sent_at in db.session.execute(
        select(Action.verdict_id, Action.type, Action.sent_at).join(Verdict, Verdict.id == Action.verdict_id)
        .where(Verdict.decided_at >= since, Action.state == "sent", Action.sent_at.is_not(None))
    ):
        target = post_sent if kind in POST_ACTIONS else any_sent
        target[verdict_id] = min(sent_at, target.get(verdict_id, sent_at))
    return {**any_sent, **post_sent}


def daily(now: datetime, days: int) -> tuple[list[Day], float | None]:
    """Per day of decision (UTC), intake→verdict and intake→applied-action times, breaches, 24 h share."""
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    applied = _applied_at(since)
    to_verdict: dict[date, list[float]] = defaultdict(list)
    to_action: dict[date, list[float]] = defaultdict(list)
    breaches: dict[date, int] = defaultdict(int)
    within: dict[date, list[bool]] = defaultdict(list)
    for verdict_id, decided_at, opened_at, deadline in db.session.execute(
        select(Verdict.id, Verdict.decided_at, Case.opened_at, Case.sla_deadline)
        .join(Case, Case.id == Verdict.case_id).where(Verdict.decided_at >= since)
    ):
        day = decided_at.date()
        seconds = (decided_at - opened_at).total_seconds()
        to_verdict[day].append(seconds)
        within[day].append(seconds <= 24 * 3600)
        breaches[day] += decided_at > deadline
        if verdict_id in applied:
            to_action[day].append((applied[verdict_id] - opened_at).total_seconds())
    result = []
    for offset in range(days):
        day = (since + timedelta(days=offset)).date()
        flags = within.get(day, [])
        result.append(Day(day, Times.of(to_verdict.get(day, [])), Times.of(to_action.get(day, [])),
                          breaches.get(day, 0), sum(flags) / len(flags) if flags else None))
    return result, share_within_24h(since, now)


def share_within_24h(since: datetime, now: datetime) -> float | None:
    """Of the cases opened since `since` whose 24 hours are known (decided, or open over 24 h), the
    share decided within 24 h of opening.

    Cases still open after 24 h count as late, so a growing backlog lowers the share; an open case
    younger than that can still make it and is not counted yet.
    """
    rows = db.session.execute(select(Case.opened_at, Case.decided_at).where(
        Case.opened_at >= since, or_(Case.decided_at.is_not(None), Case.opened_at <= now - timedelta(hours=24)))).all()
    if not rows:
        return None
    quick = sum(1 for opened, decided in rows if decided is not None and decided - opened <= timedelta(hours=24))
    return quick / len(rows)


def forecast(now: datetime) -> Forecast:
    """At the last hour's pace, when the jurors' queue clears and how many cases pass their SLA first.

    The pace is the last hour's verdicts and opened cases. Open cases are taken in priority order,
    as dealing takes them, one every 1/pace hours: a case within its SLA now whose turn comes after
    its deadline will breach it. With no verdict in the last hour, every one of them will.
    """
    hour_ago = now - timedelta(hours=1)
    decided = db.session.scalar(select(func.count()).select_from(Verdict).where(Verdict.decided_at >= hour_ago)) or 0
    opened = db.session.scalar(select(func.count()).select_from(Case).where(Case.opened_at >= hour_ago)) or 0
    deadlines = list(db.session.scalars(select(Case.sla_deadline).where(Case.state.in_(("queued", "in_review")))
                                        .order_by(Case.priority.desc(), Case.id)))
    if decided:
        turn = timedelta(hours=1) / decided
        late = sum(1 for rank, deadline in enumerate(deadlines) if now < deadline < now + turn * (rank + 1))
    else:
        late = sum(1 for deadline in deadlines if deadline > now)
    clears = len(deadlines) / (decided - opened) if decided > opened else None
    if not deadlines:
        clears = 0.0
    return Forecast(decided, opened, len(deadlines), clears,
                    now + timedelta(hours=clears) if clears is not None else None, late)


def health(days: int = 14) -> Health:
    """Compute the whole queue-health picture now."""
    now = utcnow()
    days = max(1, min(int(days), 90))
    table, total, breaching = backlog(now)
    per_day, share = daily(now, days)
    actions = dict(db.session.execute(select(Action.state, func.count()).group_by(Action.state)).all())
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(hours=24)
    votes_24h = list(db.session.execute(select(Vote.juror_id, Vote.cast_at).where(Vote.cast_at >= day_ago)))
    seen_1h = set(db.session.scalars(select(User.id).where(User.last_seen_at >= hour_ago)))
    seen_24h = set(db.session.scalars(select(User.id).where(User.last_seen_at >= day_ago)))
    hourly: dict[datetime, int] = defaultdict(int)
    for _, cast_at in votes_24h:
        hourly[cast_at.replace(minute=0, second=0, microsecond=0)] += 1
    start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    return Health(
        backlog=table, backlog_total=total, open_breaching=breaching, days=per_day, within_24h=share,
        actions={state: actions.get(state, 0) for state in ("pending", "sending", "failed", "sent", "dead")},
        active_jurors_1h=len(seen_1h | {j for j, at in votes_24h if at >= hour_ago}),
        active_jurors_24h=len(seen_24h | {j for j, _ in votes_24h}),
        votes_last_hour=sum(1 for _, at in votes_24h if at >= hour_ago),
        votes_per_hour_24h=len(votes_24h) / 24,
        hourly_votes=[(start + timedelta(hours=h), hourly.get(start + timedelta(hours=h), 0)) for h in range(24)],
        accounts=account_measures(db.session, now - timedelta(days=days), now + timedelta(seconds=1)),
        forecast=forecast(now),
        flood=flood_state(),
    )


def troubled_actions(limit: int = 100) -> list[Action]:
    """Pending, failed and dead actions, the dead first (they need a person)."""
    rows = db.session.scalars(
        select(Action).where(Action.state.in_(("pending", "failed", "dead"))).order_by(Action.id.desc()).limit(limit)
    ).all()
    return sorted(rows, key=lambda action: (action.state != "dead", action.state != "failed", -action.id))
