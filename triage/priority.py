"""Severity and priority of a case: pure functions, no database."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from models.rules import rule_severity

# Label thresholds that make a post grave on their own, whatever the reports say.
_SCORE_SEVERITY = (
    (3, {"threat": 0.80, "severe_toxicity": 0.80}),
    (2, {"identity_attack": 0.70, "threat": 0.50, "toxicity": 0.90}),
    (1, {"toxicity": 0.50, "insult": 0.70, "obscene": 0.80}),
)
# Age counts up to three SLAs' worth, so a long-forgotten low case cannot bury a fresh threat.
MAX_AGE_FRACTION = 3.0


def score_severity(labels: Mapping[str, float] | None) -> int:
    """Severity 0-3 suggested by a model's label probabilities."""
    if not labels:
        return 0
    for level, thresholds in _SCORE_SEVERITY:
        if any(float(labels.get(label, 0.0)) >= cut for label, cut in thresholds.items()):
            return level
    return 0


def case_severity(report_reasons: Iterable[str], labels: Mapping[str, float] | None) -> int:
    """Severity 0-3 from the gravest report reason and the model scores."""
    from_reports = max((rule_severity(reason) for reason in report_reasons), default=0)
    return max(from_reports, score_severity(labels))


def base_priority(severity: int, reporters: float, weights: Mapping[str, float]) -> float:
    """The part of the priority that does not change with time. `reporters`: how many distinct
    reporters count (a fraction when their records weigh them, see ``triage.reporters``)."""
    return float(weights["severity"]) * severity + float(weights["reports"]) * math.log2(1 + reporters)


def age_fraction(age_seconds: float, sla_seconds: float) -> float:
    """How much of its SLA a case has used, capped."""
    if sla_seconds <= 0:
        return MAX_AGE_FRACTION
    return max(0.0, min(MAX_AGE_FRACTION, age_seconds / sla_seconds))


def priority(base: float, fraction_of_sla: float, weights: Mapping[str, float]) -> float:
    """Full priority: the base plus a term that grows as the SLA runs out."""
    return base + float(weights["age"]) * fraction_of_sla
