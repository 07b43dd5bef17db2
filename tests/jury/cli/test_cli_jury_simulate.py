"""`flask jury simulate`: the real dealing and verdict code against simulated jurors."""
from __future__ import annotations

import json

import pytest

from jury.demo.simulation import settings_over
from triage.policy import DEFAULT_SETTINGS

ARGS = ["jury", "simulate", "--jurors", "20", "--cases", "60", "--juror-accuracy", "0.95-0.95",
        "--spammer-share", "0.5", "--model-auc", "0.8", "--seed", "3", "--json"]
KEYS = {"decided_at_leaning_rate", "settings",
        "votes_per_verdict", "accuracy", "escalation_rate", "median_minutes_to_verdict", "jurors", "cases",
        "juror_accuracy", "spammer_share", "model_auc", "policy", "seed", "cases_decided", "jury_accuracy",
        "accuracy_without_leads"}


@pytest.fixture
def runner(sqlite_app):
    """The simulation builds its own throwaway database: one backend is enough."""
    return sqlite_app.test_cli_runner()


# The weighted rule that adds seats until its confidence and then escalates (vote_cost 0). The default,
# which weighs what one more vote is worth, is measured on its own below.
FIXED_RULE = ["--set", "vote_cost=0", "--set", "max_panel_size=6"]


def simulate(runner, policy: str, *extra: str) -> dict:
    result = runner.invoke(args=ARGS + ["--policy", policy, *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_weighted_beats_majority_when_half_the_jurors_are_spammers(runner):
    quorum = simulate(runner, "quorum")
    weighted = simulate(runner, "weighted", *FIXED_RULE)
    for figures in (quorum, weighted):
        assert KEYS <= set(figures)
        assert figures["cases_decided"] == 60 and figures["jurors"] == 20
        assert figures["juror_accuracy"] == [0.95, 0.95]
        assert 0 <= figures["escalation_rate"] <= 1 and figures["median_minutes_to_verdict"] > 0
    # Three votes a case under a quorum; the half of them from spammers costs it dearly.
    assert quorum["votes_per_verdict"] == 3.0 and quorum["escalation_rate"] == 0
    assert weighted["accuracy"] > quorum["accuracy"]
    # Not only thanks to the leads: the jury's own verdicts are better too.
    assert weighted["jury_accuracy"] > quorum["jury_accuracy"]
    # The same seed gives the same run.
    same_time = pytest.approx(quorum["wall_seconds"], abs=1e9)
    assert simulate(runner, "quorum") == {**quorum, "wall_seconds": same_time}


@pytest.mark.parametrize("bad", [["--juror-accuracy", "0.9"], ["--juror-accuracy", "0.9-0.6"],
                                 ["--juror-accuracy", "a-b"], ["--model-auc", "1.5"], ["--jurors", "1"],
                                 ["--policy", "dictator"], ["--spammer-share", "-0.1"],
                                 ["--oracle", "--policy", "quorum"], ["--set", "vote_cost"],
                                 ["--set", "vote_cost=0.7"], ["--set", "no_such_setting=1"],
                                 ["--set", "verdict_method=quorum"], ["--set", "critical.nope=1"],
                                 ["--set", "vote_cost.x=1"], ["--set", "a.b.c=1"]])
def test_bad_inputs_are_refused(runner, bad):
    result = runner.invoke(args=["jury", "simulate", "--cases", "5", "--jurors", "5"] + bad)
    assert result.exit_code == 2


def test_a_group_key_sets_one_setting_of_the_group_and_keeps_the_rest(runner):
    figures = simulate(runner, "weighted", "--set", "critical.threat_score=0.85")
    assert figures["settings"] == {"critical.threat_score": 0.85}
    assert settings_over(DEFAULT_SETTINGS, {"critical.threat_score": 0.85})["critical"] == {
        **DEFAULT_SETTINGS["critical"], "threat_score": 0.85}
    # A group given whole replaces it, whatever order the options came in; a key then goes into it.
    assert settings_over(DEFAULT_SETTINGS, {"interim_hide.threat": 0.95, "interim_hide": {}})["interim_hide"] == {
        "threat": 0.95}


def test_the_summary_shows_the_jury_on_its_own_first(runner):
    args = [arg for arg in ARGS if arg != "--json"]
    result = runner.invoke(args=args[:args.index("--cases") + 1] + ["20"] + args[args.index("--cases") + 2:])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("The jury on its own (escalated cases counted at the panel's leaning):")
    assert [line.split()[0] for line in lines[start + 1:start + 4]] == ["accuracy", "votes", "cases"]
    assert "cases_decided" in result.stdout and "20" in result.stdout


def test_on_its_own_the_jury_escalates_little_and_is_right_more_often_than_the_fixed_rule(runner):
    """The standard world (accuracy 0.6-0.95, 10 % spammers, model AUC 0.9) at a small scale: 40 jurors,
    400 cases. The targets of the full-size run (>= 0.96 on its own, <= 3.3 votes, <= 3 % escalated;
    benchmarks/RESULTS.md) need more votes per juror than this to estimate reliabilities from; here the
    new rule is held to beat the fixed one it replaces on the same seed."""
    small = ["jury", "simulate", "--jurors", "40", "--cases", "400", "--seed", "1", "--json"]

    def run(*extra):
        result = runner.invoke(args=small + list(extra))
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    alone = run()
    fixed = run("--set", "vote_cost=0", "--set", "max_panel_size=6", "--set", "max_open_escalations=1000000")
    assert alone["cases_decided"] == fixed["cases_decided"] == 400
    assert alone["escalation_rate"] <= 0.03 < 0.1 <= fixed["escalation_rate"]
    assert alone["accuracy_without_leads"] >= fixed["accuracy_without_leads"] + 0.02
    assert alone["accuracy_without_leads"] >= 0.96
    assert alone["votes_per_verdict"] <= fixed["votes_per_verdict"] + 0.1
    # Verdicts below the confidence say so: the share is reported, and the fixed rule takes none.
    assert alone["decided_at_leaning_rate"] > 0 == fixed["decided_at_leaning_rate"]
