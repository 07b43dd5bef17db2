"""The fixed list of rules a post can be removed under, mapped to DSA categories."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One community rule: its code, a juror-facing summary and how grave it is."""

    code: str
    title: str
    summary: str
    dsa_category: str
    severity: int  # 0 low, 1 medium, 2 high, 3 critical


RULES: tuple[Rule, ...] = (
    Rule("violence_threat", "Violence or threats",
         "Threatens, incites or glorifies violence against a person or group.",
         "STATEMENT_CATEGORY_VIOLENCE", 3),
    Rule("hate", "Hate",
         "Attacks people for a protected characteristic (origin, religion, gender, disability...).",
         "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", 2),
    Rule("harassment", "Harassment",
         "Targets a person with insults, intimidation or sustained unwanted contact.",
         "STATEMENT_CATEGORY_CYBER_VIOLENCE", 2),
    Rule("sexual", "Sexual content",
         "Sexual content outside what the network allows, or any sexualisation of minors.",
         "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", 2),
    Rule("self_harm", "Self-harm",
         "Encourages or instructs suicide, self-injury or eating disorders.",
         "STATEMENT_CATEGORY_SELF_HARM", 3),
    Rule("spam", "Spam or scams",
         "Repetitive, deceptive or fraudulent content.",
         "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", 0),
    Rule("illegal", "Illegal content",
         "Content that is unlawful where the network operates (say which law in a note).",
         "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", 3),
    Rule("other", "Other rule",
         "Breaks another of the network's terms (say which in a note).",
         "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", 1),
)

RULES_BY_CODE = {rule.code: rule for rule in RULES}
RULE_CODES = tuple(RULES_BY_CODE)


def rule_severity(code: str | None) -> int:
    """Severity of a rule code; unknown or missing codes count as low."""
    rule = RULES_BY_CODE.get(code or "")
    return rule.severity if rule else 0
