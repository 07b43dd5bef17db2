"""A flood: more cases open than the jury can read, and what it does to the price of one more vote.

The weighted jury asks one more juror only while that vote is expected to lower the chance of a
wrong verdict by more than the policy's `vote_cost` (jury/panels/vote_value.py). That price fits a
queue the jury keeps up with. When it does not, a vote spent making a nearly sure case surer is a
case nobody reads: the policy's `flood` group names a higher price, `flood.vote_cost`, for as long
as the queue is a flood, that is when

- at least `min_open_cases` cases are open (queued or in review), and
- more of them are open than the jury decided in the last `queue_hours` hours: at its recent pace,
  the queue would take longer than that to read. (A cluster's copies that follow their case's
  verdict are not counted as decided: nobody read them.)

The reading runs on the vote path, so each process keeps the two counts for CHECK_SECONDS of the
application's clock (models.utcnow, which the simulations' clock drives too): two indexed counts a
minute, whatever the number of votes. The policy's `flood` group is defined and checked here
(`triage.policy` versions it).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select

from models import OPEN_CASE_STATES, Case, Verdict, db, utcnow

# On by default since the weighted jury learns a calibration per case group (jury/panels/dawid_skene.py):
# in the surge simulation (benchmarks/RESULTS.md, "The flood rule, measured again") a vote cost of 0.035
# in a flood decided 15 % more cases and left 7 % fewer violent posts up after a day, with lawful posts
# removed at 0.84 % of those reviewed on two seeds (target 1 %); 0.05 removed 0.99-1.16 %. A flood: more
# cases open than the jury decided in a day, and at least 200 (the standard simulation's queue stays far
# below 200: never a flood there). Switched off, votes cost `vote_cost` always.
DEFAULT_FLOOD: dict[str, Any] = {"enabled": True, "vote_cost": 0.035, "queue_hours": 24, "min_open_cases": 200}
MAX_QUEUE_HOURS = 720
CHECK_SECONDS = 60
_CACHE = "jury.flood"
log = logging.getLogger(__name__)


class FloodSettingsError(ValueError):
    """The flood group of a policy is malformed; the message names the setting."""


def validate_flood(group: Any, vote_cost: float) -> dict[str, Any]:
    """The `flood` group, completed from the defaults and checked: `enabled` (true or false), `vote_cost`
    (from the policy's own `vote_cost` to under 0.5), `queue_hours` (over 0, at most 720) and
    `min_open_cases` (a whole number from 0)."""
    if not isinstance(group, dict) or not set(group) <= set(DEFAULT_FLOOD):
        raise FloodSettingsError("flood may hold only enabled, vote_cost, queue_hours and min_open_cases")
    group = {**DEFAULT_FLOOD, **group}
    if not isinstance(group["enabled"], bool):
        raise FloodSettingsError("flood.enabled must be true or false")
    for name in ("vote_cost", "queue_hours"):
        if isinstance(group[name], bool) or not isinstance(group[name], int | float):
            raise FloodSettingsError(f"flood.{name} must be a number")
    if not 0.0 <= float(group["vote_cost"]) < 0.5:
        raise FloodSettingsError("flood.vote_cost must be at least 0 and under 0.5")
    if group["enabled"] and float(group["vote_cost"]) < vote_cost:
        raise FloodSettingsError(f"flood.vote_cost must be at least vote_cost ({vote_cost:g}): a flood never "
                                 "makes a vote cheaper")
    if not 0.0 < float(group["queue_hours"]) <= MAX_QUEUE_HOURS:
        raise FloodSettingsError(f"flood.queue_hours must be over 0 and at most {MAX_QUEUE_HOURS} (30 days)")
    cases = group["min_open_cases"]
    if isinstance(cases, bool) or not isinstance(cases, int) or cases < 0:
        raise FloodSettingsError("flood.min_open_cases must be a whole number of at least 0")
    return {"enabled": group["enabled"], "vote_cost": float(group["vote_cost"]),
            "queue_hours": float(group["queue_hours"]), "min_open_cases": cases}


@dataclass(frozen=True)
class Queue:
    """The two counts a flood is judged on, as read at `read_at`."""

    open_cases: int
    decided: int  # verdicts in the last `hours`, a cluster's copies not counted
    hours: float
    read_at: datetime

    def is_flood(self, min_open_cases: int) -> bool:
        """At least `min_open_cases` open, and more open than decided in the last `hours`."""
        return self.open_cases >= min_open_cases and self.open_cases > self.decided


_OPEN = select(func.count()).select_from(Case).where(Case.state.in_(OPEN_CASE_STATES))
_DECIDED_SINCE = (select(func.count()).select_from(Verdict)
                  .where(Verdict.decided_at >= bindparam("since"), Verdict.method != "cluster"))


def read(hours: float) -> Queue:
    """The open cases and the verdicts of the last `hours`, read now (the lead's health page)."""
    now = utcnow()
    open_cases = db.session.scalar(_OPEN) or 0
    decided = db.session.scalar(_DECIDED_SINCE, {"since": now - timedelta(hours=hours)}) or 0
    return Queue(open_cases, decided, hours, now)


def queue(hours: float) -> Queue:
    """The open cases and the verdicts of the last `hours`, read at most once per CHECK_SECONDS."""
    cache = current_app.extensions.setdefault(_CACHE, {})
    now = utcnow()
    cached = cache.get(hours)
    if cached is not None and timedelta(0) <= now - cached.read_at < timedelta(seconds=CHECK_SECONDS):
        return cached
    cache[hours] = read(hours)
    return cache[hours]


def _told(flooded: bool, read: Queue) -> None:
    """Log the queue going into or out of a flood (once per change in each process)."""
    cache = current_app.extensions.setdefault(_CACHE, {})
    if cache.get("flooded", False) != flooded:
        cache["flooded"] = flooded
        log.info("the queue is %s: %d cases open, %d decided in the last %g hours", "a flood" if flooded else
                 "no longer a flood", read.open_cases, read.decided, read.hours)


def vote_cost(settings: dict[str, Any], normal: float) -> tuple[float, bool]:
    """(the price of one more weighted vote now, whether the queue is a flood) for the `flood` group
    `settings` and the policy's `normal` vote_cost."""
    if not settings["enabled"] or normal <= 0:  # 0: the fixed rule, which prices no vote
        return normal, False
    read = queue(float(settings["queue_hours"]))
    flood = read.is_flood(int(settings["min_open_cases"]))
    _told(flood, read)
    return (max(normal, float(settings["vote_cost"])), True) if flood else (normal, False)
