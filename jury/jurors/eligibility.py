"""Read models for the lead's panels page: who may sit on a case, and the jurors' gold records."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import Case, GoldAnswer, User, Verdict, db
from models.errors import NotFound
from triage import gold
from triage.exclusions import Exclusion, explain
from triage.policy import current_policy

# The page lists at most this many jurors; a lead can look one up by name beyond that.
MAX_JURORS_LISTED = 500


@dataclass(frozen=True)
class JurorEligibility:
    """One juror and every reason they may not sit on the case."""

    user: User
    reasons: list[Exclusion]


@dataclass(frozen=True)
class CasePanel:
    """A case, whether it can join the gold set, and each juror's eligibility."""

    case: Case
    verdict: Verdict | None
    gold_answer: GoldAnswer | None
    promoted_as: int | None  # id of the gold case made from this one
    jurors: list[JurorEligibility]
    truncated: bool


def case_panel(case_id: int, username: str | None = None) -> CasePanel:
    """Eligibility of every juror (or of the one named) for a case."""
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    policy = current_policy()
    statement = select(User).order_by(User.username)
    if username:
        statement = statement.where(User.username == username[:40])
    users = list(db.session.scalars(statement.limit(MAX_JURORS_LISTED + 1)))
    return CasePanel(
        case=case,
        verdict=db.session.scalar(select(Verdict).where(Verdict.case_id == case.id)),
        gold_answer=db.session.get(GoldAnswer, case.id),
        promoted_as=db.session.scalar(select(GoldAnswer.case_id).where(GoldAnswer.source_case_id == case.id)),
        jurors=[JurorEligibility(user, explain(case, user, policy)) for user in users[:MAX_JURORS_LISTED]],
        truncated=len(users) > MAX_JURORS_LISTED,
    )


def juror_records() -> list[tuple[User, gold.GoldStats]]:
    """Every juror with their gold record, those needing attention (paused, probation) first."""
    order = {"paused": 0, "probation": 1, "active": 2, "suspended": 3}
    jurors = db.session.scalars(select(User).where(User.role == "juror").limit(MAX_JURORS_LISTED)).all()
    return sorted(((user, gold.stats(user)) for user in jurors), key=lambda row: (order.get(row[0].state, 9),
                                                                                 row[0].username))


def recently_decided(limit: int = 25) -> list[tuple[Case, Verdict, int | None]]:
    """The latest decided cases, with the id of their gold copy if promoted (candidates for the gold set)."""
    rows = db.session.execute(
        select(Case, Verdict, GoldAnswer.case_id).join(Verdict, Verdict.case_id == Case.id)
        .outerjoin(GoldAnswer, GoldAnswer.source_case_id == Case.id)
        .order_by(Verdict.decided_at.desc()).limit(limit)
    ).all()
    return [tuple(row) for row in rows]
