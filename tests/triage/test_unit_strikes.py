"""The strike ladder as pure functions: the measure due, the what-if replay, the settings' checks."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from models.rules import RULE_CODES
from triage.strikes import (
    DEFAULT_STRIKES,
    NO_MEASURE,
    Measure,
    Removal,
    StrikePolicy,
    StrikeSettingsError,
    after,
    after_withdrawal,
    in_force,
    measure_due,
    validate_strikes,
    what_if,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DEFAULT = StrikePolicy.from_settings(DEFAULT_STRIKES)


def due(weights, new=1, state="active", until=None, policy=DEFAULT, now=NOW) -> Measure:
    return measure_due(policy, weights, new, state, until, now)


def test_the_default_ladder_warns_first_and_suspends_at_the_third_removal():
    assert due([1.0]) == Measure("warn")
    assert due([1.0, 1.0], state="warned") == Measure("warn")
    assert due([1.0, 1.0, 1.0], state="warned") == Measure("suspend", 7)
    assert due([3.0] * 2, state="suspended", until=NOW - timedelta(days=1)) == Measure("suspend", 30)
    assert due([3.0] * 3 + [1.0], state="suspended", until=NOW + timedelta(days=20)) == Measure("ban")


def test_a_violent_threat_suspends_at_once_and_hate_at_the_second_removal():
    assert due([DEFAULT.weight("violence_threat")]) == Measure("suspend", 7)
    assert due([DEFAULT.weight("hate")]) == Measure("warn")
    assert due([DEFAULT.weight("hate"), DEFAULT.weight("spam")], state="warned") == Measure("suspend", 7)
    # A rule the policy does not know weighs as "other".
    assert DEFAULT.weight("nonsense") == DEFAULT.weight(None) == DEFAULT.weight("other") == 1.0


def test_no_new_strike_means_no_measure_and_a_banned_account_gets_nothing_more():
    assert due([5.0, 5.0], new=0) == NO_MEASURE
    assert due([1.0] * 20, state="banned") == NO_MEASURE
    assert due([1.0] * 20, state="suspended", until=None) == NO_MEASURE  # a suspension with no end is a ban


def test_never_a_lesser_measure_than_the_suspension_in_force():
    running = NOW + timedelta(days=5)
    # A warning-rung removal during a suspension, or the same rung again: nothing new.
    assert due([1.0], state="suspended", until=running) == NO_MEASURE
    assert due([1.0, 1.0, 1.0, 1.0], state="suspended", until=running) == NO_MEASURE
    # A higher rung that would end sooner than the running suspension: nothing either.
    assert due([3.0, 3.0], state="suspended", until=NOW + timedelta(days=60)) == NO_MEASURE
    assert due([3.0, 3.0], state="suspended", until=running) == Measure("suspend", 30)
    # Once the suspension is over, a new removal at the same rung suspends again.
    assert due([1.0, 1.0, 1.0, 1.0], state="suspended", until=NOW - timedelta(seconds=1)) == Measure("suspend", 7)


def test_in_force_and_after_describe_the_account_state():
    assert in_force("active", None, NOW) == in_force("warned", None, NOW) == NO_MEASURE
    assert in_force("banned", None, NOW) == Measure("ban")
    assert in_force("suspended", NOW + timedelta(hours=30), NOW) == Measure("suspend", 2)
    assert after(Measure("suspend", 7), NOW) == ("suspended", NOW + timedelta(days=7))
    assert after(Measure("ban"), NOW) == ("banned", None)
    assert after(Measure("warn"), NOW) == ("warned", None)


def test_every_measure_is_at_least_the_one_in_force_and_applying_it_settles_the_account():
    """Random strike histories and states: the measure due is never lesser, and re-evaluating adds nothing."""
    rng = random.Random(22)
    states = [("active", None), ("warned", None), ("banned", None),
              ("suspended", NOW + timedelta(days=3)), ("suspended", NOW + timedelta(days=300)),
              ("suspended", NOW - timedelta(days=1))]
    for _ in range(3000):
        weights = [rng.choice([0.0, 0.5, 1.0, 2.0, 3.0]) for _ in range(rng.randint(1, 8))]
        new = rng.randint(1, len(weights))
        state, until = rng.choice(states)
        measure = due(weights, new=new, state=state, until=until)
        current = in_force(state, until, NOW)
        if measure:
            assert measure.rank >= current.rank
            assert measure == DEFAULT.step_for(sum(weights))
            state, until = after(measure, NOW)
        assert due(weights, new=0, state=state, until=until) == NO_MEASURE


def test_any_three_removals_within_90_days_suspend_the_account_by_the_third():
    rng = random.Random(90)
    for _ in range(2000):
        times = sorted(NOW + timedelta(days=rng.uniform(0, 89.9)) for _ in range(3))
        removals = [Removal("a", rng.choice(RULE_CODES), t) for t in times]
        result = what_if(DEFAULT, removals, since=NOW)
        assert {"suspend", "ban"} & {m.kind for m in result.accounts["a"]}, removals


def test_what_if_counts_accounts_per_measure_and_lets_earlier_strikes_carry_in():
    since = NOW - timedelta(days=30)
    removals = [
        Removal("spammer", "spam", since - timedelta(days=20)),  # before the period: carries a strike in
        Removal("spammer", "spam", since - timedelta(days=10)),
        Removal("spammer", "spam", since + timedelta(days=1)),  # the third: suspended in the period
        Removal("threat", "violence_threat", since + timedelta(days=2)),
        Removal("once", "harassment", since + timedelta(days=3)),
        Removal("old", "spam", since - timedelta(days=200)),
        Removal("old", "spam", since + timedelta(days=4)),  # the first one expired long ago: a warning
    ]
    result = what_if(DEFAULT, removals, since)
    assert result.as_dict() == {"warned": 2, "suspended": 2, "banned": 0, "measures": 4, "accounts": 4}
    assert result.accounts["spammer"] == [Measure("suspend", 7)]
    strict = StrikePolicy.from_settings({"ladder": [{"at": 1, "action": "ban"}]})
    # The spammer and "old" were banned before the period, by the removals that only carry in here.
    assert what_if(strict, removals, since).as_dict()["banned"] == 2
    lenient = StrikePolicy.from_settings({"window_days": 1})
    assert what_if(lenient, removals, since).as_dict() == {
        "warned": 3, "suspended": 1, "banned": 0, "measures": 4, "accounts": 4}


def test_an_uncertain_removal_weighs_at_most_the_uncertain_weight():
    careful = StrikePolicy.from_settings({"uncertain_below": 0.95, "uncertain_weight": 1.0})
    assert careful.weight("violence_threat", 0.97) == 3.0  # sure enough: its rule's weight
    assert careful.weight("violence_threat", 0.95) == 3.0  # the bound itself is sure enough
    assert careful.weight("violence_threat", 0.91) == 1.0
    assert careful.weight("spam", 0.91) == 1.0  # never more than its rule's own weight
    assert careful.weight("violence_threat", None) == 3.0  # a lead's decision weighs in full
    halved = StrikePolicy.from_settings({"uncertain_below": 0.95, "uncertain_weight": 0.5})
    assert halved.weight("spam", 0.6) == 0.5
    # Off by default: every removal by its rule, however unsure.
    assert DEFAULT.weight("violence_threat", 0.51) == 3.0


def test_what_if_weighs_each_removal_by_its_confidence():
    since = NOW - timedelta(days=30)
    removals = [Removal("unsure", "violence_threat", since + timedelta(days=d), 0.9) for d in (1, 2, 3)]
    removals += [Removal("sure", "violence_threat", since + timedelta(days=1), 0.99),
                 Removal("lead", "violence_threat", since + timedelta(days=1), None)]
    careful = StrikePolicy.from_settings({"uncertain_below": 0.95})
    result = what_if(careful, removals, since)
    # The unsure threats warn twice, and the third suspends; the sure one and the lead's suspend at once.
    assert result.accounts["unsure"] == [Measure("warn"), Measure("warn"), Measure("suspend", 7)]
    assert result.accounts["sure"] == result.accounts["lead"] == [Measure("suspend", 7)]
    assert what_if(DEFAULT, removals, since).accounts["unsure"][0] == Measure("suspend", 7)


@pytest.mark.parametrize(("group", "message"), [
    ("not a mapping", "strikes must be an object"),
    ({"windw_days": 3}, "unknown strikes setting 'windw_days'"),
    ({"window_days": 0}, "strikes.window_days must be a whole number of days from 1"),
    ({"window_days": 1.5}, "strikes.window_days"),
    ({"window_days": True}, "strikes.window_days"),
    ({"weights": {"spam": -1}}, "strikes.weights.spam must be at least 0"),
    ({"weights": {"spam": float("nan")}}, "strikes.weights.spam must be a number"),
    ({"weights": {"<script>": 1}}, "strikes.weights.<script>: not a rule code"),
    ({"weights": [1, 2]}, "strikes.weights must map rule codes"),
    ({"ladder": []}, "strikes.ladder must be a list of 1 to 10 steps"),
    ({"ladder": [{"at": 1, "action": "warn"}] * 11}, "strikes.ladder must be a list"),
    ({"ladder": [{"at": 0, "action": "warn"}]}, r"strikes.ladder\[0\].at must be over 0"),
    ({"ladder": [{"at": 1, "action": "shout"}]}, r"strikes.ladder\[0\].action must be one of"),
    ({"ladder": [{"at": 1, "action": "suspend"}]}, r"strikes.ladder\[0\].days must be a whole number"),
    ({"uncertain_below": 1.5}, "strikes.uncertain_below must be from 0 to 1"),
    ({"uncertain_below": -0.1}, "strikes.uncertain_below must be at least 0"),
    ({"uncertain_below": "0.9"}, "strikes.uncertain_below must be a number"),
    ({"uncertain_weight": -1}, "strikes.uncertain_weight must be at least 0"),
    ({"uncertain_weight": float("inf")}, "strikes.uncertain_weight must be a number"),
    ({"ladder": [{"at": 1, "action": "ban", "days": 3}]}, "only a suspension has days"),
    ({"ladder": [{"at": 2, "action": "warn"}, {"at": 2, "action": "ban"}]},
     r"strikes.ladder\[1\].at must be over the step before it"),
    ({"ladder": [{"at": 1, "action": "suspend", "days": 7}, {"at": 2, "action": "warn"}]},
     r"strikes.ladder\[1\] must be a graver measure"),
    ({"ladder": [{"at": 1, "action": "suspend", "days": 7}, {"at": 2, "action": "suspend", "days": 7}]},
     r"strikes.ladder\[1\] must be a graver measure"),
    ({"ladder": [{"at": 1, "action": "warn", "extra": 1}]}, r"strikes.ladder\[0\] must be an object"),
])
def test_bad_strike_settings_are_refused_with_the_setting_named(group, message):
    with pytest.raises(StrikeSettingsError, match=message):
        validate_strikes(group)


def test_a_partial_group_is_completed_from_the_defaults():
    checked = validate_strikes({"weights": {"spam": 0.5}})
    assert checked["window_days"] == 90 and checked["ladder"] == DEFAULT_STRIKES["ladder"]
    assert checked["weights"] == {**DEFAULT_STRIKES["weights"], "spam": 0.5}
    assert set(checked["weights"]) == set(RULE_CODES)
    assert StrikePolicy.from_settings(None) == DEFAULT


def test_a_withdrawn_strike_lifts_reduces_or_keeps_the_measure_in_force():
    day = timedelta(days=1)
    # Ladder: warn at 1, suspend 7 days at 3, 30 days at 6, ban at 10.
    banned = ("banned", None)
    # A ban whose rest still reaches 10 stands.
    assert after_withdrawal(DEFAULT, [(3.0, NOW - day)] * 4, *banned, NOW) is None
    # A ban whose rest reaches 6 steps down to 30 days from the last removal that still counts.
    assert after_withdrawal(DEFAULT, [(3.0, NOW - 9 * day), (3.0, NOW - 2 * day)], *banned, NOW) == (
        "suspended", NOW + 28 * day)
    # ... and is lifted when that suspension would already be over.
    assert after_withdrawal(DEFAULT, [(3.0, NOW - 60 * day), (3.0, NOW - 40 * day)], *banned, NOW) == ("active", None)
    # A 30-day suspension whose rest calls for 7 days is shortened; lifted when below the suspension rung.
    until = NOW + 25 * day
    assert after_withdrawal(DEFAULT, [(3.0, NOW - 5 * day)], "suspended", until, NOW) == ("suspended", NOW + 2 * day)
    assert after_withdrawal(DEFAULT, [(1.0, NOW - 5 * day)], "suspended", until, NOW) == ("active", None)
    assert after_withdrawal(DEFAULT, [], "suspended", until, NOW) == ("active", None)
    # A suspension no longer than what the rest calls for stands; a warned or active account has nothing to lift.
    assert after_withdrawal(DEFAULT, [(3.0, NOW - day)], "suspended", NOW + 2 * day, NOW) is None
    assert after_withdrawal(DEFAULT, [(1.0, NOW - day)], "warned", None, NOW) is None
    assert after_withdrawal(DEFAULT, [], "active", None, NOW) is None
    # An ended suspension the sweeper has not lifted yet is not in force: the sweeper lifts it.
    assert after_withdrawal(DEFAULT, [], "suspended", NOW - day, NOW) is None
