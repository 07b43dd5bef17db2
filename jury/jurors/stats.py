"""A juror's own figures for their home page: cases, agreement with verdicts, gold accuracy."""
from __future__ import annotations

from dataclasses import dataclass

from jury.panels.case_view import juror_summary
from models import User
from triage import exclusions, gold
from triage.policy import current_policy


@dataclass(frozen=True)
class JurorStats:
    """What the juror sees about their own work (never other jurors')."""

    votes: int
    decided: int
    agreed: int
    gold_answered: int
    gold_correct: int
    state: str
    state_reason: str | None
    # Progress towards leaving probation or a pause: right answers so far, answers needed, threshold.
    training_answered: int
    training_needed: int
    accuracy_min: float
    # False while the gold set is too small for probation: the first case waives it.
    probation_possible: bool
    # Gold cases this juror can still be dealt; None when not in training.
    training_cases_left: int | None

    @property
    def agreement(self) -> float | None:
        """Share of decided cases where the juror voted as the verdict went."""
        return self.agreed / self.decided if self.decided else None

    @property
    def gold_accuracy(self) -> float | None:
        """Share of known-answer cases answered right."""
        return self.gold_correct / self.gold_answered if self.gold_answered else None


def juror_stats(juror: User) -> JurorStats:
    """Collect the juror's figures."""
    summary = juror_summary(juror)
    policy = current_policy()
    record, rolling = gold.stats_and_rolling(juror, policy)
    return JurorStats(
        votes=summary["votes"], decided=summary["decided"], agreed=summary["agreed"],
        gold_answered=record.answered, gold_correct=record.correct, state=juror.state,
        state_reason=juror.state_reason, training_answered=rolling.answered,
        training_needed=policy.probation_gold_cases, accuracy_min=policy.gold_accuracy_min,
        probation_possible=gold.probation_possible(policy, summary["live_gold_cases"]),
        training_cases_left=(exclusions.gold_cases_left(juror, policy)
                             if juror.state in exclusions.TRAINING_STATES else None),
    )
