"""A case's content category (a rule code), for juror opt-outs and daily exposure caps."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from models.rules import RULE_CODES, rule_severity

# Which rule each model label points at; toxicity and insults read as harassment.
LABEL_RULES = {
    "threat": "violence_threat",
    "identity_attack": "hate",
    "obscene": "sexual",
    "insult": "harassment",
    "severe_toxicity": "harassment",
    "toxicity": "harassment",
}
# A model label names the category only when it is at least this sure.
LABEL_FLOOR = 0.5


def case_category(report_reasons: Iterable[str], labels: Mapping[str, float] | None) -> str | None:
    """The reason most reports give (ties: the graver), else the rule of the top model label."""
    reasons = Counter(reason for reason in report_reasons if reason in RULE_CODES)
    if reasons:
        return max(reasons.items(), key=lambda item: (item[1], rule_severity(item[0])))[0]
    scored = [(float(value), label) for label, value in (labels or {}).items() if label in LABEL_RULES]
    if not scored:
        return None
    value, label = max(scored)
    return LABEL_RULES[label] if value >= LABEL_FLOOR else None
