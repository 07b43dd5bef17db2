"""What one more vote is worth: a panel's stopping plan from the jurors' estimated reliabilities.

Pure numpy: no Flask, no database. A weighted panel that has not reached its `confidence` has
three ways on: decide at its leaning now (wrong with probability min(p, 1 - p)), ask one more
juror (worth it when it is expected to lower the chance of a wrong verdict by more than
`vote_cost`), or hand the case to a lead (worth it when that chance is over `lead_cost` and
more votes would not bring it down as cheaply). The next juror is unknown: it is drawn from the
pool of estimated matrices, weighted by how many votes each juror casts. Backward induction over
the votes still allowed (up to `max_votes`) gives, for each number of votes cast, the expected
cost of going on as a function of the case's log-odds; a case looks its state up in that plan.

Without the lead option (the leads' desk is full) the same induction says when to widen further
and when to decide at the leaning with the confidence the panel has.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from jury.panels.dawid_skene import CLIP, JurorMatrix

# Log-odds the plan covers; beyond them a case is as good as certain (e^12 to 1).
LOG_ODDS_BOUND = 12.0
GRID = np.linspace(-LOG_ODDS_BOUND, LOG_ODDS_BOUND, 961)
# Matrices are grouped to this step before the induction (a pool of 10,000 jurors costs as 200).
BUCKET = 0.025

DECIDE, VOTE, ESCALATE = "decide", "vote", "escalate"


def _error(log_odds: np.ndarray | float) -> np.ndarray:
    """Chance that deciding at the leaning is wrong: min(p, 1 - p) = sigmoid(-|log-odds|)."""
    return 1.0 / (1.0 + np.exp(np.abs(log_odds)))


def pool_of(matrices: Iterable[tuple[JurorMatrix, float]]) -> list[tuple[float, float, float]]:
    """(sensitivity, specificity, share) buckets of a pool of (matrix, weight); the prior juror when empty."""
    buckets: dict[tuple[float, float], float] = {}
    for matrix, weight in matrices:
        if weight <= 0:
            continue
        sens = min(max(round(matrix.sensitivity / BUCKET) * BUCKET, CLIP), 1 - CLIP)
        spec = min(max(round(matrix.specificity / BUCKET) * BUCKET, CLIP), 1 - CLIP)
        buckets[(sens, spec)] = buckets.get((sens, spec), 0.0) + float(weight)
    if not buckets:
        prior = JurorMatrix()
        return [(prior.sensitivity, prior.specificity, 1.0)]
    total = sum(buckets.values())
    return [(sens, spec, weight / total) for (sens, spec), weight in sorted(buckets.items())]


@dataclass(frozen=True)
class Plan:
    """Expected cost of asking one more juror, per votes cast, over GRID (a row per count)."""

    vote_cost: float
    lead_cost: float | None  # None: no lead can take the case
    min_votes: int
    max_votes: int
    go_on: np.ndarray  # shape (max_votes, len(GRID)): the cost of one more vote at n votes cast

    def cost_of_another_vote(self, log_odds: float, votes: int) -> float:
        """Expected final error plus vote costs if one more juror is asked (inf when none may be)."""
        if votes >= self.max_votes:
            return math.inf
        return float(np.interp(log_odds, GRID, self.go_on[votes]))

    def action(self, log_odds: float, votes: int) -> str:
        """DECIDE, VOTE or ESCALATE for a panel at these log-odds after `votes` votes."""
        if votes < self.min_votes:
            return VOTE
        decide = float(_error(log_odds))
        another = self.cost_of_another_vote(log_odds, votes)
        lead = math.inf if self.lead_cost is None else self.lead_cost
        best = min(decide, another, lead)
        if best == decide:
            return DECIDE
        return VOTE if best == another else ESCALATE


def plan(pool: list[tuple[float, float, float]], *, vote_cost: float, lead_cost: float | None, min_votes: int,
         max_votes: int) -> Plan:
    """Backward induction over votes cast, from max_votes down to 0.

    cost_n(L) = min(error(L), lead_cost, vote_cost + E[cost_{n+1}(L + llr)]) for n >= min_votes,
    where the vote is remove with P = p * sens + (1 - p) * (1 - spec) for a juror drawn from the pool;
    cost_max(L) = min(error(L), lead_cost). Below min_votes the panel must go on.
    """
    if max_votes < 1 or not 0 <= min_votes <= max_votes:
        raise ValueError("need 0 <= min_votes <= max_votes and max_votes >= 1")
    p = 1.0 / (1.0 + np.exp(-GRID))
    stop = _error(GRID)
    if lead_cost is not None:
        stop = np.minimum(stop, lead_cost)
    go_on = np.empty((max_votes, GRID.size))
    cost = stop  # at max_votes
    for votes in range(max_votes - 1, -1, -1):
        expected = np.zeros_like(GRID)
        for sens, spec, share in pool:
            remove = p * sens + (1 - p) * (1 - spec)
            up = np.interp(GRID + math.log(sens / (1 - spec)), GRID, cost)
            down = np.interp(GRID + math.log((1 - sens) / spec), GRID, cost)
            expected += share * (remove * up + (1 - remove) * down)
        go_on[votes] = vote_cost + expected
        cost = go_on[votes] if votes < min_votes else np.minimum(stop, go_on[votes])
    return Plan(vote_cost, lead_cost, min_votes, max_votes, go_on)
