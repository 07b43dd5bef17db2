"""What the lead console's pages read: blind-safe vote histories, verdicts,
agreement and appeals awaiting sign-off; and the jobs a lead may ask for."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from jury.panels import agreement, juror_reliability, verdicts
from jury.panels.case_view import votes_of
from models import (
    VOTES_SHOWN_STATES,
    Action,
    Appeal,
    Case,
    JurorReliability,
    ReliabilityRun,
    User,
    Verdict,
    Vote,
    db,
    utcnow,
)
from models.errors import Conflict, NotFound

FAILED_ACTIONS_SHOWN = 200
RECENT_VERDICTS = 200
# The agreement page reads this many weeks of verdicts, so it stays quick as history grows.
AGREEMENT_WEEKS = 12


def failed_actions() -> list[Action]:
    """Dead letters and actions waiting to be retried, newest first."""
    return list(db.session.scalars(select(Action).where(Action.state.in_(("dead", "failed")))
                                   .order_by(Action.id.desc()).limit(FAILED_ACTIONS_SHOWN)))


def usernames(ids: set[int]) -> dict[int, str]:
    """id → username for the given users."""
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(list(ids)))).all())


@dataclass(frozen=True)
class Escalations:
    cases: list[Case]
    votes: dict[int, list[Vote]]
    names: dict[int, str]


def escalations(lead: User) -> Escalations:
    """Escalated cases with their full vote histories (a panel that escalated is no longer blind)."""
    cases = verdicts.escalated_cases()
    votes = votes_of([case.id for case in cases], lead)
    return Escalations(cases, votes, usernames({v.juror_id for vs in votes.values() for v in vs}))


def vote_history(case_id: int, lead: User) -> tuple[Case, list[Vote], dict[int, str]]:
    """A decided or escalated case's votes and their jurors' names; an open case stays blind."""
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    if case.state not in VOTES_SHOWN_STATES:
        raise Conflict("votes stay hidden until the case is escalated or decided")
    votes = votes_of([case_id], lead)[case_id]
    return case, votes, usernames({v.juror_id for v in votes})


def recent_verdicts() -> list[Verdict]:
    return list(db.session.scalars(select(Verdict).order_by(Verdict.id.desc()).limit(RECENT_VERDICTS)))


def verdict(verdict_id: int) -> Verdict:
    found = db.session.get(Verdict, verdict_id)
    if found is None:
        raise NotFound("no such verdict")
    return found


@dataclass(frozen=True)
class AgreementReport:
    by_rule: list[agreement.AlphaRow]
    by_week: list[agreement.AlphaRow]
    weeks: int
    jurors: list[tuple[str, agreement.JurorAgreement, JurorReliability | None]]
    run: ReliabilityRun | None


def agreement_report() -> AgreementReport:
    """Krippendorff's alpha per rule and per week, and each juror's agreement and reliability."""
    matrices = {row.juror_id: row for row in db.session.scalars(select(JurorReliability))}
    jurors = [(juror_reliability.pseudonym(row.juror_id), row, matrices.get(row.juror_id))
              for row in agreement.juror_agreement()]
    run = db.session.scalar(select(ReliabilityRun).order_by(ReliabilityRun.id.desc()).limit(1))
    since = utcnow() - timedelta(weeks=AGREEMENT_WEEKS)
    return AgreementReport(agreement.alpha_by_rule(since), agreement.alpha_by_week(since), AGREEMENT_WEEKS,
                           jurors, run)


def appeal_details(pending: list[Appeal]) -> dict[int, tuple[Verdict | None, Verdict | None, Case | None]]:
    """For each appeal: the verdict appealed, the appeal panel's verdict and the appeal case."""
    return {appeal.id: (db.session.get(Verdict, appeal.verdict_id),
                        db.session.scalar(select(Verdict).where(Verdict.case_id == appeal.appeal_case_id)),
                        db.session.get(Case, appeal.appeal_case_id))
            for appeal in pending}
