"""The on-call page's read model: the critical lane's open cases, most urgent first, and the last day's
decided ones with how long each took. Read-only; every list is capped."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from models import OPEN_CASE_STATES, Action, Case, Post, Verdict, db, utcnow
from network.oncall import ALERT_TYPE

OPEN_SHOWN = 200
RECENT_HOURS = 24
RECENT_SHOWN = 100
# The page reloads itself this often (seconds).
REFRESH_SECONDS = 30


@dataclass(frozen=True)
class Row:
    """One critical case as the on-call lead sees it."""

    case: Case
    post: Post
    minutes_left: float  # negative: overdue
    alert_state: str | None  # the on-call alert's delivery state; None when no URL is set
    hidden: bool  # hidden or removed on the network (as far as Jury knows)
    outcome: str | None = None
    minutes_to_decision: float | None = None


@dataclass(frozen=True)
class Board:
    """The whole page."""

    open: list[Row]
    recent: list[Row]
    overdue: int
    now: datetime
    refresh_seconds: int = REFRESH_SECONDS


def board(now: datetime | None = None) -> Board:
    """The open critical cases by deadline, and those decided in the last RECENT_HOURS."""
    now = now or utcnow()
    open_cases = list(db.session.scalars(
        select(Case).where(Case.critical_at.is_not(None), Case.state.in_(OPEN_CASE_STATES))
        .order_by(Case.sla_deadline, Case.id).limit(OPEN_SHOWN)))
    recent = list(db.session.scalars(
        select(Case).where(Case.critical_at >= now - timedelta(hours=RECENT_HOURS),
                           Case.state.not_in(OPEN_CASE_STATES))
        .order_by(Case.decided_at.desc(), Case.id.desc()).limit(RECENT_SHOWN)))
    alerts = _alert_states([c.id for c in open_cases + recent])
    outcomes = dict(db.session.execute(select(Verdict.case_id, Verdict.outcome)
                                       .where(Verdict.case_id.in_([c.id for c in recent]))).all()) if recent else {}
    rows = [_row(case, now, alerts) for case in open_cases]
    done = [_row(case, now, alerts, outcomes.get(case.id)) for case in recent]
    return Board(rows, done, sum(1 for row in rows if row.minutes_left < 0), now)


def _row(case: Case, now: datetime, alerts: dict[int, str], outcome: str | None = None) -> Row:
    took = ((case.decided_at - case.critical_at).total_seconds() / 60
            if case.decided_at and case.critical_at else None)
    return Row(case, case.post, (case.sla_deadline - now).total_seconds() / 60, alerts.get(case.id),
               case.post.state in ("hidden", "removed"), outcome, took)


def _alert_states(case_ids: list[int]) -> dict[int, str]:
    """The latest on-call alert's state per case."""
    if not case_ids:
        return {}
    rows = db.session.execute(select(Action.case_id, Action.state).where(
        Action.case_id.in_(case_ids), Action.type == ALERT_TYPE).order_by(Action.id))
    return {case_id: state for case_id, state in rows}
