"""`flask jury simulate --scenario surge`: a generated day through the real code, Jury's defaults against a
case-by-case baseline."""
from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from jury.demo.surge import SurgeConfig, generate
from jury.demo.surge.generator import edit
from models import db, utcnow
from triage import dealing, fingerprint

TINY = ["jury", "simulate", "--scenario", "surge", "--scale", "0.001", "--seed", "2", "--json"]
FIGURES = {"violent_posts", "violent_hidden_p95_minutes", "violent_removed_p95_hours", "violent_removed_p99_hours",
           "violent_left_up_after_24h", "lawful_removed_share", "lawful_hidden_share", "juror_hours", "lead_hours",
           "backlog_peak", "backlog_cleared_hours"}


@pytest.fixture
def runner(sqlite_app):
    """The surge builds its own throwaway databases: one backend is enough."""
    return sqlite_app.test_cli_runner()


def number(value) -> float:
    """A figure as a number: "inf" is how the JSON writes a percentile never reached."""
    return math.inf if value == "inf" else float(value)


def test_a_tiny_day_runs_both_policies_through_the_cli(runner, tmp_path):
    chart = tmp_path / "surge.svg"
    result = runner.invoke(args=TINY + ["--chart", str(chart)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["generator"]["scale"] == 0.001 and figures["generator"]["seed"] == 2
    assert figures["generator"]["posts_per_day"] == 1_000_000 and figures["generator"]["model_auc"] == 0.85
    jury, baseline = figures["jury"], figures["baseline"]
    for run in (jury, baseline):
        assert FIGURES <= set(run)
        for share in ("lawful_removed_share", "lawful_hidden_share"):
            assert 0.0 <= run[share] <= 1.0
        # A removal is a hide too: whatever was removed was down at least as early.
        assert run["lawful_posts_removed"] <= run["lawful_posts_hidden"]
        assert number(run["violent_hidden_p95_minutes"]) / 60 <= number(run["violent_removed_p95_hours"])
        assert number(run["violent_removed_p95_hours"]) <= number(run["violent_removed_p99_hours"])
        assert run["juror_hours"] > 0 and run["backlog_peak"] > 0 and run["verdicts"] > 0
        assert 0 <= run["violent_left_up_after_24h"] <= run["violent_posts"]
        # Nobody posts on the network once suspended or banned there.
        assert run["posts_by_suspended_authors"] == 0
    # On this day suspensions did keep posts off the network (a repeat poster's, ordinary authors').
    assert jury["violent_posts_blocked"] + jury["lawful_posts_blocked"] > 0
    assert baseline["violent_posts_blocked"] + baseline["lawful_posts_blocked"] == 0
    # The same generated day for both.
    assert jury["violent_posts"] == baseline["violent_posts"] == figures["generator"]["violent_new"] + \
        figures["generator"]["backlog_violent"]
    # Jury's defaults hide in the interim and strike; the baseline does neither.
    assert jury["actions"]["hide_post"] > 0 and baseline["actions"]["hide_post"] == 0
    assert jury["accounts_suspended"] > 0 and baseline["accounts_suspended"] == 0
    assert jury["clustered_posts"] > 0 and baseline["clustered_posts"] == 0
    svg = chart.read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") >= 4 and "baseline" in svg and "jury" in svg


def test_parallel_plays_both_policies_at_once_to_the_same_figures(runner):
    one_after_the_other = runner.invoke(args=TINY)
    at_once = runner.invoke(args=TINY + ["--parallel"])
    assert at_once.exit_code == 0, at_once.output
    first, second = json.loads(one_after_the_other.stdout), json.loads(at_once.stdout)
    for name in ("jury", "baseline"):
        first[name].pop("wall_seconds"), second[name].pop("wall_seconds")
        assert second[name] == first[name] and second[name]["verdicts"] > 0
    assert second["bound"] == first["bound"] and second["generator"] == first["generator"]


def test_a_parallel_run_leaves_the_calling_apps_postgresql_connection_alone(pg_app):
    # The forked processes inherit the calling app's pool: they must not close its connection's socket.
    before = db.session.scalar(text("SELECT pg_backend_pid()"))
    db.session.commit()  # back in the pool, where the forked processes find it
    result = pg_app.test_cli_runner().invoke(args=TINY + ["--parallel"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(text("SELECT pg_backend_pid()")) == before
    db.session.commit()


@pytest.mark.parametrize("bad, message", [
    (["--scale", "-1"], "--scale"), (["--scale", "0"], "--scale"), (["--copy-share", "1.5"], "--copy-share"),
    (["--repeat-share", "-0.1"], "--repeat-share"), (["--copy-share", "0.7", "--repeat-share", "0.5"], "together"),
    (["--jurors", "20"], "--jurors does not apply to --scenario surge"),
    (["--policy", "quorum"], "--policy does not apply"),
])
def test_bad_surge_options_are_refused_with_a_clear_error(runner, bad, message):
    result = runner.invoke(args=["jury", "simulate", "--scenario", "surge"] + bad)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("option", [["--scale", "0.1"], ["--copy-share", "0.5"], ["--chart", "x.svg"], ["--parallel"]])
def test_surge_options_do_not_apply_to_the_standard_scenario(runner, option):
    result = runner.invoke(args=["jury", "simulate", "--cases", "5", "--jurors", "5"] + option)
    assert result.exit_code == 2
    assert f"{option[0]} does not apply to --scenario standard" in result.output


def test_the_generator_is_deterministic_per_seed():
    first, again, other = (generate(SurgeConfig(scale=0.002, seed=seed)) for seed in (4, 4, 5))
    assert first.posts == again.posts and first.reports == again.reports and first.jurors == again.jurors
    assert first.posts != other.posts


def test_a_harsher_copy_share_makes_more_copies_and_the_day_keeps_its_size():
    mild, harsh = (generate(SurgeConfig(scale=0.01, seed=1, copy_share=share)) for share in (0.15, 0.6))
    assert harsh.summary()["copies"] > 2 * mild.summary()["copies"]
    assert harsh.summary()["violent_new"] == mild.summary()["violent_new"]
    assert len(harsh.posts) == len(mild.posts)
    repeat = generate(SurgeConfig(scale=0.01, seed=1, repeat_share=0.6)).summary()["repeat_poster_posts"]
    assert repeat > 2 * generate(SurgeConfig(scale=0.01, seed=1, repeat_share=0.15)).summary()["repeat_poster_posts"]


def test_about_a_fifth_of_the_backlog_and_of_reported_new_posts_break_the_rules():
    day = generate(SurgeConfig(scale=0.1, seed=1))
    backlog = [post for post in day.posts if post.backlog]
    assert len(backlog) == 2600
    assert sum(post.violent for post in backlog) / len(backlog) == pytest.approx(0.2, abs=0.02)
    reported = {report.post for report in day.reports if not day.posts[report.post].backlog}
    assert sum(day.posts[index].violent for index in reported) / len(reported) == pytest.approx(0.2, abs=0.02)


def test_copies_are_near_duplicates_that_the_fingerprint_still_matches():
    """Each edit (a character, spacing, an emoji, a homoglyph) keeps a copy above the clusters' default
    similarity (0.6) to its original, as real copy waves do against a 0.6 threshold."""
    import random

    rng = random.Random(3)
    day = generate(SurgeConfig(scale=0.01, seed=3))
    original = next(post for post in day.posts if post.wave is not None)
    for _ in range(20):
        copy = edit(original.text, rng)
        assert copy != original.text
        assert fingerprint.jaccard(original.text, copy) >= 0.6


def test_the_output_gives_the_days_ceiling_and_jury_stays_under_it(runner):
    result = runner.invoke(args=TINY)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    bound, jury = figures["bound"], figures["jury"]
    # A perfect jury deciding at once hides and removes at least what Jury's defaults did on the same day.
    assert jury["violent_hidden_within_5_minutes_share"] <= bound["violent_hidden_within_5_minutes_share_max"]
    assert jury["violent_removed_within_24_hours_share"] <= bound["violent_removed_within_24_hours_share_max"]
    assert bound["case_capacity"] > 0 and bound["violent_posts_new"] == figures["generator"]["violent_new"]


def test_a_run_is_the_same_every_time_for_a_seed_and_leaves_the_real_world_behind(runner):
    def without_timings(figures: dict) -> dict:
        return {name: {key: value for key, value in run.items() if key != "wall_seconds"} if isinstance(run, dict)
                else run for name, run in figures.items() if name != "wall_seconds"}

    first, second = (json.loads(runner.invoke(args=TINY).stdout) for _ in range(2))
    assert without_timings(first) == without_timings(second)
    # The simulated clock, the seeded dealer and the stand-ins were the run's alone.
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)
    assert isinstance(dealing._rng, random.SystemRandom)
    assert "jury_scorer" not in runner.app.extensions and "jury_network" not in runner.app.extensions


def test_set_changes_jurys_run_only_and_is_recorded(runner):
    """`--set` reaches Jury's run (here: no critical lane and no interim hide) and never the baseline's."""
    plain = json.loads(runner.invoke(args=TINY).stdout)
    result = runner.invoke(args=TINY + ["--set", "critical.threat_score=1.0", "--set", "critical.reporters=0",
                                        "--set", "interim_hide={}"])
    assert result.exit_code == 0, result.output
    changed = json.loads(result.stdout)
    assert changed["jury_settings"] == {"critical.threat_score": 1.0, "critical.reporters": 0, "interim_hide": {}}
    assert plain["jury_settings"] == {}
    assert changed["baseline"] == {**plain["baseline"], "wall_seconds": changed["baseline"]["wall_seconds"]}
    # Without the lane and the interim hide, Jury hides fewer posts before a verdict.
    assert changed["jury"]["actions"].get("hide_post", 0) < plain["jury"]["actions"]["hide_post"]


@pytest.mark.parametrize("setting, message", [
    ("vote_cost=0.7", "vote_cost must be"), ("critical.nope=1", "critical holds threat_score and reporters"),
    ("nope.key=1", "nope is not a group"), ("critical.threat_score.x=1", "GROUP.KEY=VALUE"), ("=1", "KEY=VALUE"),
    ("verdict_method=quorum", "verdict_method is not a setting here"), ("unknown=1", "unknown policy setting"),
])
def test_bad_surge_settings_are_refused_before_the_day_is_generated(runner, setting, message):
    result = runner.invoke(args=["jury", "simulate", "--scenario", "surge", "--set", setting])
    assert result.exit_code == 2
    assert message in result.output
