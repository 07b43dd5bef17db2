"""Whether a panel's votes decide a case: pure functions over a tally."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from jury.panels.vote_value import ESCALATE, VOTE, Plan
from models.rules import RULE_CODES, rule_severity


@dataclass(frozen=True)
class Tally:
    """Counts of a panel's votes, with the rules named by remove votes."""

    remove: int = 0
    keep: int = 0
    rules: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Votes cast."""
        return self.remove + self.keep

    def as_dict(self) -> dict:
        """JSON-ready form stored on the verdict."""
        return {"remove": self.remove, "keep": self.keep, "rules": dict(self.rules)}

    @classmethod
    def of(cls, votes: Iterable[tuple[str, str | None]]) -> Tally:
        """Tally (decision, rule) pairs."""
        decisions = Counter()
        rules = Counter()
        for decision, rule in votes:
            decisions[decision] += 1
            if decision == "remove" and rule:
                rules[rule] += 1
        return cls(decisions["remove"], decisions["keep"], dict(rules))


@dataclass(frozen=True)
class Decision:
    """What to do with a case after a vote: wait, decide, widen or escalate."""

    kind: str  # pending | remove | keep | widen | escalate
    rule: str | None = None
    # Why a panel decided below its confidence or without its supermajority (None: it reached it):
    # "votes_not_worth" (more votes were not expected to change it), "panel_full" (the largest
    # panel, and the case not worth a lead), "leads_full" (the leads' desk was full), "queue_flood"
    # (one more vote was worth its usual price but not a flood's: jury.panels.voting, triage.flood).
    reason: str | None = None


def winning_rule(rules: dict[str, int]) -> str | None:
    """The rule most remove votes named; a tie goes to the graver rule, then the earlier in the list."""
    if not rules:
        return "other"
    order = {code: index for index, code in enumerate(RULE_CODES)}
    return max(rules.items(), key=lambda item: (item[1], rule_severity(item[0]), -order.get(item[0], 99)))[0]


def decide(tally: Tally, panel_size: int, widened_panel_size: int, supermajority: float) -> Decision:
    """Apply the quorum rule: a full panel decides when one side has the supermajority.

    A full panel without one is split: it widens once to the larger panel, and a
    widened panel that is still split escalates to a lead.
    """
    if tally.total < panel_size:
        return Decision("pending")
    # A tiny epsilon so 2 of 3 meets a supermajority stored as 0.6667.
    if tally.remove / tally.total + 1e-3 >= supermajority:
        return Decision("remove", winning_rule(tally.rules))
    if tally.keep / tally.total + 1e-3 >= supermajority:
        return Decision("keep")
    if panel_size < widened_panel_size:
        return Decision("widen")
    return Decision("escalate")


def decide_weighted(tally: Tally, posterior: float, panel_size: int, max_panel_size: int, confidence: float,
                    min_votes: int) -> Decision:
    """Decide on the reliability-weighted posterior P(violates).

    A side wins once its posterior reaches `confidence` with at least `min_votes` votes, even
    before every seat has voted. Otherwise, once every seat has voted, the panel gains one seat,
    up to `max_panel_size`, and a full panel that is still unsure escalates to a lead.
    """
    if tally.total >= min_votes:
        if posterior >= confidence:
            return Decision("remove", winning_rule(tally.rules))
        if 1.0 - posterior >= confidence:
            return Decision("keep")
    if tally.total < panel_size:
        return Decision("pending")
    if panel_size < max_panel_size:
        return Decision("widen")
    return Decision("escalate")


def at_leaning(tally: Tally, log_odds: float, reason: str) -> Decision:
    """The side the panel leans to (a panel with no leaning keeps the post: no removal without one)."""
    if log_odds > 0:
        return Decision("remove", winning_rule(tally.rules), reason)
    return Decision("keep", reason=reason)


def decide_by_value(tally: Tally, posterior: float, log_odds: float, panel_size: int, confidence: float,
                    with_lead: Plan, without_lead: Plan, leads_free: Callable[[], bool]) -> Decision:
    """Decide on the reliability-weighted posterior (its log-odds for the plan), asking for one
    more vote or a lead only when it is worth it.

    A side that reaches `confidence` (with the plan's minimum of votes) wins at once, as in
    decide_weighted. Otherwise, once every seat has voted, the plan (jury.panels.vote_value) says
    whether one more juror's vote is worth its cost (the panel gains one seat), a lead is worth
    more (escalate: only while `leads_free()`, else the plan without leads decides), or the
    panel decides at its leaning with the confidence it has, and the decision says why.
    """
    votes = tally.total
    if votes >= with_lead.min_votes:
        if posterior >= confidence:
            return Decision("remove", winning_rule(tally.rules))
        if 1.0 - posterior >= confidence:
            return Decision("keep")
    if votes < panel_size:
        return Decision("pending")
    action, reason = with_lead.action(log_odds, votes), None
    if action == ESCALATE and not leads_free():
        action, reason = without_lead.action(log_odds, votes), "leads_full"
    if action == VOTE:
        return Decision("widen")
    if action == ESCALATE:
        return Decision("escalate")
    if reason is None:
        reason = "panel_full" if votes >= with_lead.max_votes else "votes_not_worth"
    return at_leaning(tally, log_odds, reason)


def decide_when_leads_full(tally: Tally, panel_size: int, largest_panel: int) -> Decision:
    """A split quorum panel that would escalate while the leads' desk is full: the majority decides;
    a tie gains one seat (up to `largest_panel`), and a tie at that size keeps the post."""
    if tally.remove != tally.keep:
        return at_leaning(tally, tally.remove - tally.keep, "leads_full")
    if panel_size < largest_panel:
        return Decision("widen")
    return Decision("keep", reason="leads_full")
