"""What any policy could reach on a generated day: the surge's ceiling, from the day alone.

Some of the surge's targets are bounded by the day, not by the jury. A violent post can be hidden
within five minutes, or removed within 24 hours, only if by then something points at it: a report of
it, its model score, a copy of it (its wave) that was reported or scored high, or another violent post
of its author. This module asks, of the generated day alone, what a policy with a perfect jury could
reach: one that decides every case the moment it exists, without error, and acts on every copy and
every post of an author it has caught.

Every choice errs in the policy's favour, so that the figures are ceilings, not estimates:

- hiding: the policy may hide at posting every post whose score is over a threshold, up to 5 % of all
  the day's lawful posts (the surge's `lawful_hidden_share` counts over the lawful posts reviewed, a
  smaller set, so its budget is tighter); a reported lawful post costs nothing (the perfect jury keeps
  it at once);
- a signal on any member of a wave, or on any violent post of an author, counts for all of them, even
  a signal that comes after the post (as if their earlier posts were taken down with the later one);
  a post kept off the network by its author's suspension counts as hidden at once;
- removal: the volunteers' whole time over the run, an hour a day each, at one vote per case (one
  case per wave), is spent on the cases that point at violent posts, reading the highest scores first.
"""
from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from jury.demo.simulation import REVIEW_SIGMA
from jury.demo.surge.generator import DAY_MINUTES, Day, GenPost

HIDE_MINUTES = 5.0
REMOVE_MINUTES = float(DAY_MINUTES)
LAWFUL_HIDDEN_BUDGET = 0.05
HIDDEN_TARGET = 0.95
REMOVED_TARGET = 0.99
NEVER = math.inf


@dataclass(frozen=True)
class _Violent:
    post: GenPost
    group_keys: tuple[str, ...]  # its wave and its author: a signal on one member counts for all


class Ceiling:
    """The day's posts, arranged for the bound's questions."""

    def __init__(self, day: Day):
        self.day = day
        first: dict[int, float] = {}
        for report in day.reports:
            first[report.post] = min(first.get(report.post, NEVER), report.at)
        self.first_report = first
        new = [p for p in day.posts if not p.backlog]
        self.violent = [_Violent(p, ((f"wave-{p.wave}",) if p.wave is not None else ()) + (f"author-{p.author}",))
                        for p in new if p.violent]
        self.lawful = sorted(p.probability for p in new if not p.violent)
        self.reported_lawful = sorted(p.probability for p in new if not p.violent and p.index in first)
        self.backlog = sum(1 for p in day.posts if p.backlog)

    def signalled_share(self, threshold: float, window: float) -> float:
        """Share of the day's violent posts with a signal within `window` minutes of posting, when every
        post scored at or over `threshold` is a signal at its posting."""
        if not self.violent:
            return 0.0
        own = {v.post.index: min(v.post.at if v.post.probability >= threshold else NEVER,
                                 self.first_report.get(v.post.index, NEVER)) for v in self.violent}
        earliest: dict[str, float] = defaultdict(lambda: NEVER)
        for v in self.violent:
            for key in v.group_keys:
                earliest[key] = min(earliest[key], own[v.post.index])
        caught = sum(1 for v in self.violent
                     if min([own[v.post.index], *(earliest[key] for key in v.group_keys)]) <= v.post.at + window)
        return caught / len(self.violent)

    def lawful_over(self, threshold: float, scores: list[float] | None = None) -> int:
        """Lawful posts of the day (or of `scores`, ascending) scored at or over `threshold`."""
        scores = self.lawful if scores is None else scores
        return len(scores) - bisect.bisect_left(scores, threshold)

    def threshold_within(self, lawful_posts: int) -> float:
        """The lowest threshold at which at most `lawful_posts` lawful posts score at or over it."""
        if lawful_posts >= len(self.lawful):
            return 0.0
        return math.nextafter(self.lawful[len(self.lawful) - lawful_posts - 1], math.inf)

    def cases(self, threshold: float) -> int:
        """Cases a perfect jury must read when every post scored at or over `threshold` is flagged: the
        backlog, the reported posts and the flagged ones, each wave one case."""
        violent = {v.group_keys[0] if v.post.wave is not None else f"post-{v.post.index}"
                   for v in self.violent
                   if v.post.probability >= threshold or v.post.index in self.first_report}
        unreported_lawful = self.lawful_over(threshold) - self.lawful_over(threshold, self.reported_lawful)
        return self.backlog + len(self.reported_lawful) + unreported_lawful + len(violent)

    def capacity(self) -> int:
        """Cases the volunteers could read in the run at one vote each: their minutes over the mean reading time."""
        config = self.day.config
        minutes = len(self.day.jurors) * config.volunteer_minutes_per_day * config.horizon_hours / 24
        return int(minutes / (config.review_minutes * math.exp(REVIEW_SIGMA ** 2 / 2)))


def _highest(predicate: Callable[[float], bool], candidates: list[float]) -> float | None:
    """The highest candidate threshold for which predicate holds (it holds for every lower one), or None."""
    ordered = sorted(set(candidates))
    low, high, found = 0, len(ordered) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if predicate(ordered[middle]):
            found, low = ordered[middle], middle + 1
        else:
            high = middle - 1
    return found


def ceiling(day: Day) -> dict:
    """The bound's figures for this day (README.md, *The surge, measured*, says what each means)."""
    bound = Ceiling(day)
    scores = [v.post.probability for v in bound.violent] + [0.0, NEVER]
    hide_at = bound.threshold_within(int(LAWFUL_HIDDEN_BUDGET * len(bound.lawful)))
    hide_95 = _highest(lambda t: bound.signalled_share(t, HIDE_MINUTES) >= HIDDEN_TARGET, scores)
    capacity = bound.capacity()
    # The lowest threshold whose cases fit: the candidate above the highest that overflows (NEVER, no
    # flag at all, when the reports alone overflow).
    over = _highest(lambda t: bound.cases(t) > capacity, scores)
    flag_at = 0.0 if over is None else min((t for t in scores if t > over), default=NEVER)
    flag_99 = _highest(lambda t: bound.signalled_share(t, REMOVE_MINUTES) >= REMOVED_TARGET, scores)
    return {
        "violent_posts_new": len(bound.violent),
        "violent_unflagged_signalled_within_5_minutes_share": _round(bound.signalled_share(NEVER, HIDE_MINUTES)),
        "violent_unflagged_signalled_within_24_hours_share": _round(bound.signalled_share(NEVER, REMOVE_MINUTES)),
        "hide_threshold_at_lawful_budget": _round(hide_at),
        "violent_hidden_within_5_minutes_share_max": _round(bound.signalled_share(hide_at, HIDE_MINUTES)),
        "lawful_hidden_share_of_all_for_95_percent": (
            None if hide_95 is None else _round(bound.lawful_over(hide_95) / max(1, len(bound.lawful)))),
        "case_capacity": capacity,
        "cases_from_reports_alone": bound.cases(NEVER),
        "flag_threshold_at_capacity": _round(flag_at),
        "violent_removed_within_24_hours_share_max": _round(bound.signalled_share(flag_at, REMOVE_MINUTES)),
        "cases_for_99_percent": None if flag_99 is None else bound.cases(flag_99),
    }


def _round(value: float) -> float:
    return value if math.isinf(value) else round(value, 4)
