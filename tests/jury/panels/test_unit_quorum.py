"""The quorum rule, the priority formula and the policy checks: pure functions."""
from __future__ import annotations

import pytest

from jury.panels.quorum import Tally, decide, winning_rule
from triage import priority as prio
from triage.policy import DEFAULT_SETTINGS, PolicyError, validate_settings

DEFAULTS = dict(panel_size=3, widened_panel_size=5, supermajority=0.6667)


def tally(remove: int, keep: int, **rules: int) -> Tally:
    return Tally(remove, keep, rules)


@pytest.mark.parametrize("remove,keep,expected", [
    (0, 0, "pending"), (1, 1, "pending"), (3, 0, "remove"), (2, 1, "remove"), (1, 2, "keep"), (0, 3, "keep"),
])
def test_first_panel_of_three(remove, keep, expected):
    assert decide(tally(remove, keep, spam=remove), **DEFAULTS).kind == expected


def test_a_split_panel_widens_then_escalates():
    strict = dict(panel_size=3, widened_panel_size=5, supermajority=0.75)
    assert decide(tally(2, 1, spam=2), **strict).kind == "widen"
    widened = dict(panel_size=5, widened_panel_size=5, supermajority=0.75)
    assert decide(tally(3, 1, spam=3), **widened).kind == "pending"
    assert decide(tally(3, 2, spam=3), **widened).kind == "escalate"
    assert decide(tally(4, 1, spam=4), **widened).kind == "remove"
    assert decide(tally(1, 4), **widened).kind == "keep"


def test_default_widened_panel_of_five_splits_at_three_to_two():
    assert decide(tally(3, 2, hate=3), panel_size=5, widened_panel_size=5, supermajority=0.6667).kind == "escalate"


def test_the_rule_is_the_one_most_removers_named_and_ties_go_to_the_graver():
    assert decide(tally(3, 0, spam=2, hate=1), **DEFAULTS).rule == "spam"
    assert winning_rule({"spam": 1, "violence_threat": 1}) == "violence_threat"
    assert winning_rule({}) == "other"


def test_tally_counts_votes():
    t = Tally.of([("remove", "hate"), ("keep", None), ("remove", "hate"), ("remove", "spam")])
    assert (t.remove, t.keep, t.rules) == (3, 1, {"hate": 2, "spam": 1})
    assert t.as_dict() == {"remove": 3, "keep": 1, "rules": {"hate": 2, "spam": 1}}


def test_severity_takes_the_graver_of_reports_and_scores():
    assert prio.case_severity([], None) == 0
    assert prio.case_severity(["spam"], {"toxicity": 0.1}) == 0
    assert prio.case_severity(["harassment"], {"toxicity": 0.1}) == 2
    assert prio.case_severity(["spam"], {"threat": 0.95}) == 3
    assert prio.case_severity(["violence_threat"], {}) == 3
    assert prio.case_severity([], {"toxicity": 0.6}) == 1


def test_priority_grows_with_severity_reports_and_age():
    weights = DEFAULT_SETTINGS["priority_weights"]
    low = prio.base_priority(0, 1, weights)
    assert prio.base_priority(3, 1, weights) > prio.base_priority(2, 1, weights) > low
    assert prio.base_priority(0, 10, weights) > low
    young = prio.priority(low, prio.age_fraction(60, 3600), weights)
    old = prio.priority(low, prio.age_fraction(3000, 3600), weights)
    overdue = prio.priority(low, prio.age_fraction(10 ** 7, 3600), weights)
    assert young < old < overdue
    assert overdue == pytest.approx(low + weights["age"] * prio.MAX_AGE_FRACTION)


def test_policy_validation_names_the_bad_setting():
    assert validate_settings({})["panel_size"] == 3
    with pytest.raises(PolicyError, match="unknown"):
        validate_settings({"nope": 1})
    with pytest.raises(PolicyError, match="auto_flag.toxicity"):
        validate_settings({"auto_flag": {"toxicity": 1.5}})
    with pytest.raises(PolicyError, match="panel_size"):
        validate_settings({"panel_size": 7, "widened_panel_size": 5})
    with pytest.raises(PolicyError, match="supermajority"):
        validate_settings({"supermajority": 0.5})
