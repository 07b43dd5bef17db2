"""The surge's ceiling: what any policy could reach on a generated day, from the day alone."""
from __future__ import annotations

import math

import pytest

from jury.demo.surge import SurgeConfig, generate
from jury.demo.surge.bound import Ceiling, ceiling
from jury.demo.surge.generator import Day, GenPost, GenReport, Juror


def _day(posts: list[tuple], reports: list[tuple[float, int]], jurors: int = 1) -> Day:
    """A hand-made day: posts as (author, violent, minute, probability, wave), reports as (minute, post)."""
    day = Day(SurgeConfig(scale=0.001))
    for index, (author, violent, at, probability, wave) in enumerate(posts):
        day.posts.append(GenPost(index, f"p{index}", author, "text", violent, at, probability, wave=wave))
    day.reports = [GenReport(at, post, f"r{n}", "violence_threat") for n, (at, post) in enumerate(reports)]
    day.jurors = [Juror(0.9, 0.0)] * jurors
    return day


def test_a_violent_post_counts_only_when_something_points_at_it_in_time():
    day = _day([("a", True, 100.0, 0.2, None), ("b", True, 100.0, 0.2, None), ("c", True, 100.0, 0.95, None),
                ("d", True, 100.0, 0.2, None)],
               reports=[(103.0, 0), (110.0, 1)])
    bound = Ceiling(day)
    # Reported within five minutes: a; reported at ten: not b; nothing at all: not d.
    assert bound.signalled_share(math.inf, 5) == 0.25
    # Its score catches c once the hide threshold is at or under it.
    assert bound.signalled_share(0.95, 5) == 0.5
    assert bound.signalled_share(0.96, 5) == 0.25
    # Within 24 hours b's report counts too.
    assert bound.signalled_share(math.inf, 24 * 60) == 0.5


def test_a_signal_on_one_copy_or_one_post_of_an_author_counts_for_the_others():
    day = _day([("w1", True, 0.0, 0.1, 7), ("w2", True, 30.0, 0.1, 7), ("w3", True, 31.0, 0.1, 7),
                ("rep", True, 0.0, 0.1, None), ("rep", True, 600.0, 0.1, None), ("lone", True, 50.0, 0.1, None)],
               reports=[(33.0, 1), (10.0, 3)])
    bound = Ceiling(day)
    # w2's report at 33 is within five minutes of w2 (30) and w3 (31), not of w1 (0); the repeat poster's
    # first post is reported at 10: too late for itself, in time for its post at 600; nothing on "lone".
    assert bound.signalled_share(math.inf, 5) == pytest.approx(3 / 6)
    # Within a day every copy and both of the author's posts are caught; "lone" never is.
    assert bound.signalled_share(math.inf, 24 * 60) == pytest.approx(5 / 6)


def test_the_hide_threshold_stays_within_the_lawful_budget_and_a_wave_is_one_case():
    lawful = [("u", False, 1.0, score / 100, None) for score in range(100)]  # scores 0.00 to 0.99
    day = _day(lawful + [("w1", True, 0.0, 0.5, 1), ("w2", True, 1.0, 0.5, 1), ("x", True, 0.0, 0.3, None)],
               reports=[(5.0, 0)])
    bound = Ceiling(day)
    threshold = bound.threshold_within(5)
    assert bound.lawful_over(threshold) == 5 and bound.lawful_over(math.nextafter(threshold, 0)) == 6
    assert bound.threshold_within(1000) == 0.0
    # No flag: the one reported lawful post (scored 0). At 0.5: it, the 50 lawful posts flagged, and one
    # case for the wave, not two; the violent post at 0.3 is not flagged until the threshold reaches it.
    assert bound.cases(math.inf) == 1
    assert bound.cases(0.5) == 1 + 50 + 1
    assert bound.cases(0.3) == 1 + 70 + 2


def test_the_ceiling_of_a_generated_day_is_over_what_jury_reached_and_short_of_the_targets():
    day = generate(SurgeConfig(scale=0.01, seed=3))
    figures = ceiling(day)
    assert figures["violent_posts_new"] == sum(p.violent and not p.backlog for p in day.posts)
    # The day's own signals leave most violent posts to the model within five minutes, and the
    # volunteers cannot read the cases that catching 99 % of them in a day would open.
    assert figures["violent_unflagged_signalled_within_5_minutes_share"] < figures[
        "violent_hidden_within_5_minutes_share_max"] < 0.95
    assert figures["violent_removed_within_24_hours_share_max"] < 0.99
    assert figures["cases_for_99_percent"] > figures["case_capacity"] > figures["cases_from_reports_alone"]
    assert 0.0 < figures["lawful_hidden_share_of_all_for_95_percent"] < 1.0
    # A looser lawful budget never lowers what can be hidden; more time never lowers what can be found.
    bound = Ceiling(day)
    assert bound.signalled_share(0.3, 5) >= bound.signalled_share(figures["hide_threshold_at_lawful_budget"], 5)
    assert bound.signalled_share(0.3, 24 * 60) >= bound.signalled_share(0.3, 5)


def test_halving_the_copy_and_repeat_shares_lowers_the_ceiling():
    default = ceiling(generate(SurgeConfig(scale=0.01, seed=3)))
    halved = ceiling(generate(SurgeConfig(scale=0.01, seed=3, copy_share=0.15, repeat_share=0.15)))
    assert halved["violent_unflagged_signalled_within_24_hours_share"] < default[
        "violent_unflagged_signalled_within_24_hours_share"]
