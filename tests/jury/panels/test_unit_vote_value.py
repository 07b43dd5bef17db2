"""A jury that stands on its own: what one more vote is worth, when a lead is, and the leads' capacity."""
from __future__ import annotations

import math

import pytest

from jury.panels.dawid_skene import JurorMatrix
from jury.panels.quorum import Tally, decide_by_value, decide_when_leads_full
from jury.panels.vote_value import DECIDE, ESCALATE, VOTE, plan, pool_of

RELIABLE = pool_of([(JurorMatrix(0.9, 0.9), 1.0)])
COIN_FLIPPERS = pool_of([(JurorMatrix(0.5, 0.5), 1.0)])


def plans(pool, vote_cost=0.02, lead_cost=0.25, min_votes=2, max_votes=12):
    return tuple(plan(pool, vote_cost=vote_cost, lead_cost=cost, min_votes=min_votes, max_votes=max_votes)
                 for cost in (lead_cost, None))


def log_odds(p):
    return math.log(p / (1 - p))


def test_a_split_panel_of_reliable_jurors_is_widened_not_escalated():
    with_lead, without_lead = plans(RELIABLE)
    assert with_lead.action(0.0, 2) == VOTE
    assert without_lead.action(0.0, 2) == VOTE


def test_when_votes_are_worth_nothing_a_split_panel_goes_to_a_lead_or_decides_at_its_leaning():
    with_lead, without_lead = plans(COIN_FLIPPERS)
    assert with_lead.action(0.0, 2) == ESCALATE
    assert without_lead.action(0.0, 2) == DECIDE
    # A panel that leans clearly enough is not worth a lead: its leaning is wrong less often than lead_cost.
    assert with_lead.action(log_odds(0.8), 2) == DECIDE


def test_the_plan_never_asks_past_the_largest_panel_and_always_asks_below_the_smallest():
    with_lead, without_lead = plans(RELIABLE, max_votes=6)
    assert without_lead.action(0.0, 6) == DECIDE
    assert with_lead.action(0.0, 6) == ESCALATE
    assert with_lead.action(log_odds(0.999), 1) == VOTE  # fewer than min_votes: one vote never decides


def test_dearer_votes_are_asked_for_less_often_and_better_jurors_more_often():
    grid = [log_odds(p) for p in (0.55, 0.65, 0.75, 0.85, 0.9, 0.93)]

    def asked(pool, cost):
        _, without_lead = plans(pool, vote_cost=cost)
        return sum(without_lead.action(value, votes) == VOTE for value in grid for votes in range(2, 12))

    assert asked(RELIABLE, 0.005) >= asked(RELIABLE, 0.02) >= asked(RELIABLE, 0.08)
    assert asked(RELIABLE, 0.005) > asked(RELIABLE, 0.08)
    weaker = pool_of([(JurorMatrix(0.65, 0.65), 1.0)])
    assert asked(RELIABLE, 0.02) > asked(weaker, 0.02)
    assert asked(COIN_FLIPPERS, 0.02) == 0


def test_the_pool_weighs_jurors_by_votes_and_a_pool_with_nobody_estimated_is_the_prior_juror():
    pool = pool_of([(JurorMatrix(0.9, 0.8), 30.0), (JurorMatrix(0.5, 0.5), 10.0), (JurorMatrix(0.7, 0.7), 0.0)])
    assert sum(share for *_, share in pool) == pytest.approx(1.0)
    assert dict(((sens, spec), share) for sens, spec, share in pool)[(0.9, 0.8)] == pytest.approx(0.75)
    assert pool_of([]) == [(0.75, 0.75, 1.0)]
    with pytest.raises(ValueError):
        plan(RELIABLE, vote_cost=0.02, lead_cost=None, min_votes=3, max_votes=2)


def test_decide_by_value_decides_when_sure_waits_for_seats_out_and_widens_a_split_panel():
    with_lead, without_lead = plans(RELIABLE)

    def decide(tally, p, panel, free=True):
        return decide_by_value(tally, p, log_odds(p), panel, 0.95, with_lead, without_lead, lambda: free)

    sure = decide(Tally(remove=2, rules={"hate": 2}), 0.97, 3)
    assert (sure.kind, sure.rule, sure.reason) == ("remove", "hate", None)
    assert decide(Tally(remove=1, keep=1), 0.5, 3).kind == "pending"  # a seat is still out
    assert decide(Tally(remove=1, keep=1), 0.5, 2).kind == "widen"


def test_a_full_leads_desk_turns_an_escalation_into_a_verdict_at_the_leaning_that_says_so():
    with_lead, without_lead = plans(COIN_FLIPPERS)
    asked = []

    def free():
        asked.append(True)
        return False

    leaning = decide_by_value(Tally(remove=2, keep=1, rules={"spam": 2}), 0.6, log_odds(0.6), 3, 0.95,
                              with_lead, without_lead, free)
    assert (leaning.kind, leaning.rule, leaning.reason) == ("remove", "spam", "leads_full")
    assert asked == [True]  # the desk is counted only when a lead is wanted
    tie = decide_by_value(Tally(remove=1, keep=1), 0.5, 0.0, 2, 0.95, with_lead, without_lead, free)
    assert (tie.kind, tie.reason) == ("keep", "leads_full")  # no removal without a leaning
    escalated = decide_by_value(Tally(remove=1, keep=1), 0.5, 0.0, 2, 0.95, with_lead, without_lead, lambda: True)
    assert escalated.kind == "escalate"


def test_a_leaning_not_worth_more_votes_or_a_lead_is_decided_and_says_why():
    with_lead, without_lead = plans(COIN_FLIPPERS)
    decision = decide_by_value(Tally(keep=2), 0.2, log_odds(0.2), 2, 0.95, with_lead, without_lead, lambda: True)
    assert (decision.kind, decision.reason) == ("keep", "votes_not_worth")
    with_lead, without_lead = plans(RELIABLE, max_votes=4)
    full = decide_by_value(Tally(remove=3, keep=1, rules={"spam": 3}), 0.8, log_odds(0.8), 4, 0.95,
                           with_lead, without_lead, lambda: True)
    assert (full.kind, full.reason) == ("remove", "panel_full")


def test_a_split_quorum_panel_with_the_leads_desk_full_goes_by_its_majority_or_one_more_seat():
    majority = decide_when_leads_full(Tally(remove=3, keep=2, rules={"hate": 3}), 5, 6)
    assert (majority.kind, majority.rule, majority.reason) == ("remove", "hate", "leads_full")
    assert decide_when_leads_full(Tally(remove=2, keep=3), 5, 6).kind == "keep"
    assert decide_when_leads_full(Tally(remove=3, keep=3), 6, 7).kind == "widen"
    assert (decide_when_leads_full(Tally(remove=3, keep=3), 6, 6).kind) == "keep"


def test_a_floods_dearer_vote_lets_a_nearly_sure_panel_decide_where_the_usual_price_asks_again():
    # Jurors right three times in four: two agreeing votes make the case 90 % sure (under 0.95).
    pool = pool_of([(JurorMatrix(0.75, 0.75), 50.0)])
    two_agree = 2 * log_odds(0.75)
    usual, _ = plans(pool, vote_cost=0.024)  # the policy's vote_cost
    flood, _ = plans(pool, vote_cost=0.05)  # the default flood.vote_cost
    assert usual.action(two_agree, 2) == VOTE
    assert flood.action(two_agree, 2) == DECIDE
    # A split panel is still worth a vote in a flood: the flood trims sure cases, not unsure ones.
    assert flood.action(0.0, 2) in (VOTE, ESCALATE)
