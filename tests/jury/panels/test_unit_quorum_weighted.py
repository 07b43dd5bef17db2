"""The weighted decision rule: confidence either way with enough votes, else one more seat, else a lead."""
from __future__ import annotations

from jury.panels.quorum import Tally, decide_weighted


def rule(tally, posterior, panel=2, cap=6):
    return decide_weighted(tally, posterior, panel, cap, confidence=0.95, min_votes=2).kind


def test_confident_panels_decide_even_before_every_seat_has_voted():
    assert rule(Tally(remove=2, rules={"hate": 2}), 0.97, panel=3) == "remove"
    assert decide_weighted(Tally(remove=2, rules={"hate": 2}), 0.97, 3, 6, 0.95, 2).rule == "hate"
    assert rule(Tally(keep=2), 0.03) == "keep"
    assert rule(Tally(keep=2), 0.05) == "keep"  # 1 - 0.05 reaches 0.95 exactly


def test_one_vote_never_decides_however_sure():
    assert rule(Tally(remove=1), 0.999) == "pending"


def test_unsure_full_panels_grow_one_seat_then_escalate_at_the_cap():
    assert rule(Tally(remove=1, keep=1), 0.5) == "widen"
    assert rule(Tally(remove=2, keep=1), 0.9, panel=3) == "widen"
    assert rule(Tally(remove=3, keep=3), 0.5, panel=6) == "escalate"
    assert rule(Tally(remove=2), 0.94, panel=3) == "pending"  # a seat is still out
