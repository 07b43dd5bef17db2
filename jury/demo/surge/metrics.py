"""The surge's figures, from the network's record of what went out (README.md, *The surge, measured*,
defines each one)."""
from __future__ import annotations

import math

from jury.demo.surge.generator import DAY_MINUTES, Day
from jury.demo.surge.run import Trace
from jury.demo.surge.world import NetworkRecorder

INF = math.inf


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (inf counts as the largest value); inf for no values."""
    if not values:
        return INF
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def figures(day: Day, trace: Trace, network: NetworkRecorder, counts: dict) -> dict:
    """One run's figures."""
    posts = day.posts
    new_violent = [i for i in trace.published if posts[i].violent and not posts[i].backlog]
    hidden = [network.first_down.get(posts[i].external_id, INF) - posts[i].at for i in new_violent]
    removed = [network.removed_at.get(posts[i].external_id, INF) - posts[i].at for i in new_violent]
    # The day's violent posts Jury was told about (reported, or flagged by the model): how fast it acts on
    # what it sees, apart from what nobody reported and the model let pass.
    known = [k for k, i in enumerate(new_violent) if posts[i].external_id in counts["with_case"]]
    backlog_violent = [p for p in posts if p.backlog and p.violent]
    left_up = sum(1 for delay in hidden if delay > DAY_MINUTES) + sum(
        1 for p in backlog_violent if network.first_down.get(p.external_id, INF) > DAY_MINUTES)
    lawful_published = [posts[i] for i in trace.published if not posts[i].violent]
    reviewed = [p for p in lawful_published if p.external_id in counts["with_case"]]
    removed_lawful = sum(1 for p in lawful_published if p.external_id in network.removed_at)
    hidden_lawful = sum(1 for p in lawful_published if p.external_id in network.first_down)
    backlog_removed = [network.removed_at.get(p.external_id, INF) / 60 for p in backlog_violent]
    return {
        "violent_posts": sum(p.violent for p in posts),
        "violent_posts_new": sum(p.violent and not p.backlog for p in posts),
        "violent_posts_published": len(new_violent),
        "violent_posts_blocked": sum(posts[i].violent for i in trace.blocked),
        "violent_hidden_p95_minutes": _round(percentile(hidden, 0.95), 1),
        "violent_hidden_median_minutes": _round(percentile(hidden, 0.5), 1),
        "violent_removed_p95_hours": _round(percentile(removed, 0.95) / 60, 2),
        "violent_removed_p99_hours": _round(percentile(removed, 0.99) / 60, 2),
        "violent_removed_median_hours": _round(percentile(removed, 0.5) / 60, 2),
        "violent_left_up_after_24h": left_up,
        "violent_hidden_within_5_minutes_share": _share(sum(1 for d in hidden if d <= 5), len(hidden)),
        "violent_removed_within_24_hours_share": _share(sum(1 for d in removed if d <= DAY_MINUTES), len(removed)),
        "violent_known_posts": len(known),
        "violent_known_hidden_p95_minutes": _round(percentile([hidden[k] for k in known], 0.95), 1),
        "violent_known_removed_median_hours": _round(percentile([removed[k] for k in known], 0.5) / 60, 2),
        "violent_known_removed_p95_hours": _round(percentile([removed[k] for k in known], 0.95) / 60, 2),
        "backlog_violent_removed_p95_hours": _round(percentile(backlog_removed, 0.95), 2),
        "lawful_removed_share": _share(removed_lawful, len(reviewed)),
        "lawful_hidden_share": _share(hidden_lawful, len(reviewed)),
        "lawful_posts_reviewed": len(reviewed),
        "lawful_posts_removed": removed_lawful,
        "lawful_posts_hidden": hidden_lawful,
        "lawful_removed_share_of_all": _share(removed_lawful, len(lawful_published)),
        "lawful_hidden_share_of_all": _share(hidden_lawful, len(lawful_published)),
        "lawful_posts_blocked": sum(not posts[i].violent for i in trace.blocked),
        "juror_hours": round(trace.review_minutes / 60, 1),
        "lead_hours": round(trace.lead_minutes / 60, 1),
        "backlog_peak": max((open_cases for _, open_cases, _ in trace.samples), default=0),
        "backlog_cleared_hours": (INF if trace.backlog_cleared_at is None
                                  else round(trace.backlog_cleared_at / 60, 2)),
        "cases": counts["cases"], "verdicts": trace.verdicts, "votes": counts["votes"],
        "escalations": trace.escalations, "reestimations": trace.reestimations,
        "clustered_posts": counts["clustered_posts"],
        "accounts_suspended": len(network.blocked_since),
        "posts_by_suspended_authors": _after_suspension(day, trace, network),
        "actions": {kind: network.count(kind) for kind in ("hide_post", "remove_post", "unhide_post",
                                                           "warn_account", "suspend_account")},
        "simulated_hours": round(counts["now"] / 60, 2),
    }


def _after_suspension(day: Day, trace: Trace, network: NetworkRecorder) -> int:
    """Posts that went up after their author's suspension or ban reached the network (0: none can). A
    post goes up in the batch of its minute, so that minute is when it was sent."""
    return sum(1 for index, at in trace.published.items()
               if not day.posts[index].backlog and network.blocked_since.get(day.posts[index].author, INF)
               < math.floor(at))


def _round(value: float, digits: int) -> float:
    return value if math.isinf(value) else round(value, digits)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def series(trace: Trace) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(hours, open cases) and (hours, violent posts up) over the run, for the chart."""
    return ([(minute / 60, float(cases)) for minute, cases, _ in trace.samples],
            [(minute / 60, float(up)) for minute, _, up in trace.samples])
