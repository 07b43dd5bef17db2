"""Known-answer audits: promoting decided cases to gold, scoring jurors on them, probation and pauses.

Jurors on probation or paused are dealt gold cases only, so their votes never reach a
real verdict; a gold vote itself never creates a verdict or a network action.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

import audit
from models import Case, GoldAnswer, User, Verdict, Vote, db, utcnow
from models.errors import Conflict, DomainError, NotFound
from triage import transaction
from triage.policy import PolicyInForce

# A gold case never expires; its deadline is only there because the column needs one.
GOLD_DEADLINE = timedelta(days=3650)


@dataclass(frozen=True)
class GoldStats:
    """A juror's record on gold cases."""

    answered: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        """Share answered correctly, None before the first answer."""
        return self.correct / self.answered if self.answered else None


def promote(source_case_id: int, lead: User) -> Case:
    """Copy a decided case into the gold set with its verdict as the expected answer; commits."""
    if not lead.is_lead:
        raise DomainError("only leads promote cases to the gold set")
    source = db.session.get(Case, source_case_id)
    if source is None:
        raise NotFound("no such case")
    if source.origin == "gold":
        raise Conflict("this case is already a gold case")
    verdict = db.session.scalar(select(Verdict).where(Verdict.case_id == source.id))
    if verdict is None:
        raise Conflict("only decided cases can join the gold set")
    if db.session.scalar(select(GoldAnswer.case_id).where(GoldAnswer.source_case_id == source.id)):
        raise Conflict("this case is already in the gold set")
    latest_round = db.session.scalar(select(func.max(Case.review_round)).where(Case.post_id == source.post_id))
    now = utcnow()
    with transaction.atomic():
        gold_case = Case(post_id=source.post_id, review_round=(latest_round or 0) + 1, origin="gold", state="gold",
                         severity=source.severity, report_count=source.report_count, category=source.category,
                         base_priority=0.0, priority=0.0, panel_size=0, open_seats=0,
                         policy_version=source.policy_version, opened_at=now, sla_deadline=now + GOLD_DEADLINE)
        db.session.add(gold_case)
        db.session.flush()
        db.session.add(GoldAnswer(case_id=gold_case.id, outcome=verdict.outcome, rule=verdict.rule,
                                  source_case_id=source.id, promoted_by=lead.id, promoted_at=now))
        audit.record(db.session, "gold_promoted", "case", gold_case.id,
                     {"source_case_id": source.id, "outcome": verdict.outcome, "rule": verdict.rule},
                     actor=f"user:{lead.id}")
    return gold_case


def retire(gold_case_id: int, lead: User) -> GoldAnswer:
    """Stop dealing a gold case (an ambiguous one); answers already given keep counting. Commits."""
    if not lead.is_lead:
        raise DomainError("only leads retire gold cases")
    answer = db.session.get(GoldAnswer, gold_case_id)
    if answer is None:
        raise NotFound("no such gold case")
    if answer.retired:
        raise Conflict("this gold case is already retired")
    with transaction.atomic():
        answer.retired = True
        audit.record(db.session, "gold_retired", "case", gold_case_id, {"source_case_id": answer.source_case_id},
                     actor=f"user:{lead.id}")
    return answer


def gold_cases() -> list[tuple[Case, GoldAnswer, int]]:
    """Every gold case with its answer and how many jurors answered it, newest first."""
    answered = (select(Vote.case_id, func.count().label("n")).group_by(Vote.case_id).subquery())
    rows = db.session.execute(
        select(Case, GoldAnswer, func.coalesce(answered.c.n, 0)).join(GoldAnswer, GoldAnswer.case_id == Case.id)
        .outerjoin(answered, answered.c.case_id == Case.id).order_by(Case.id.desc())
    ).all()
    return [tuple(row) for row in rows]


def live_gold_count() -> int:
    """Gold cases that may be dealt."""
    return db.session.scalar(select(func.count()).select_from(GoldAnswer).where(GoldAnswer.retired.is_(False))) or 0


def probation_possible(policy: PolicyInForce, live_gold: int | None = None) -> bool:
    """Whether the gold set is big enough for a newcomer to pass probation on it (count it unless given)."""
    if policy.probation_gold_cases <= 0:
        return False
    return (live_gold_count() if live_gold is None else live_gold) >= policy.probation_gold_cases


def _answers(juror: User, since=None, limit: int | None = None) -> list[bool]:
    """Whether each of the juror's gold answers was right, newest first."""
    statement = (select(Vote.decision, GoldAnswer.outcome).join(GoldAnswer, GoldAnswer.case_id == Vote.case_id)
                 .where(Vote.juror_id == juror.id).order_by(Vote.cast_at.desc(), Vote.id.desc()))
    if since is not None:
        statement = statement.where(Vote.cast_at >= since)
    if limit is not None:
        statement = statement.limit(limit)
    return [decision == outcome for decision, outcome in db.session.execute(statement).all()]


def _window(juror: User, policy: PolicyInForce) -> int:
    """How many recent gold answers the juror's state is judged on."""
    return policy.probation_gold_cases if juror.state in ("probation", "paused") else policy.gold_window


def stats(juror: User) -> GoldStats:
    """The juror's whole gold record (a gold answer is right when keep/remove matches)."""
    answers = _answers(juror)
    return GoldStats(len(answers), sum(answers))


def rolling_stats(juror: User, policy: PolicyInForce) -> GoldStats:
    """The answers the juror's current state is judged on (since the last state change)."""
    answers = _answers(juror, since=juror.state_changed_at, limit=_window(juror, policy))
    return GoldStats(len(answers), sum(answers))


def stats_and_rolling(juror: User, policy: PolicyInForce) -> tuple[GoldStats, GoldStats]:
    """stats and rolling_stats from one read of the juror's gold answers (for their home page)."""
    rows = db.session.execute(
        select(Vote.decision, GoldAnswer.outcome, Vote.cast_at).join(GoldAnswer, GoldAnswer.case_id == Vote.case_id)
        .where(Vote.juror_id == juror.id).order_by(Vote.cast_at.desc(), Vote.id.desc())
    ).all()
    since = juror.state_changed_at
    everything = [decision == outcome for decision, outcome, _ in rows]
    recent = [decision == outcome for decision, outcome, cast_at in rows
              if since is None or cast_at >= since][:_window(juror, policy)]
    return GoldStats(len(everything), sum(everything)), GoldStats(len(recent), sum(recent))


def set_state(juror: User, state: str, reason: str, actor: str) -> None:
    """Change a juror's state with its reason and an audit event (caller commits)."""
    previous = juror.state
    juror.state, juror.state_reason, juror.state_changed_at = state, reason[:255], utcnow()
    audit.record(db.session, "juror_state_changed", "user", juror.id,
                 {"from": previous, "to": state, "reason": reason[:255]}, actor=actor)


def waive_probation(juror: User, policy: PolicyInForce) -> None:
    """Activate a newcomer when the gold set is too small to test them on (with the deal that finds it)."""
    with transaction.atomic():
        set_state(juror, "active", f"probation waived: the gold set holds fewer than "
                                   f"{policy.probation_gold_cases} cases", actor="system")


def after_gold_vote(juror: User, case: Case, decision: str, policy: PolicyInForce) -> bool:
    """Score a gold answer and move the juror between probation, active and paused; caller commits."""
    answer = db.session.get(GoldAnswer, case.id)
    correct = answer is not None and answer.outcome == decision
    audit.record(db.session, "gold_answered", "case", case.id, {"juror": juror.id, "correct": correct},
                 actor=f"user:{juror.id}")
    db.session.flush()
    record = rolling_stats(juror, policy)
    needed, threshold = policy.probation_gold_cases, policy.gold_accuracy_min
    if juror.state in ("probation", "paused"):
        if record.answered >= needed and record.accuracy >= threshold:
            set_state(juror, "active", f"passed {record.correct} of {record.answered} known-answer cases",
                      actor="system")
    elif juror.state == "active" and record.answered >= max(needed, 1) and record.accuracy < threshold:
        set_state(juror, "paused", f"agreed with {record.correct} of the last {record.answered} known-answer "
                                   f"cases (below {threshold:.0%})", actor="system")
    return correct
