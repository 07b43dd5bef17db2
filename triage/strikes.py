"""The strike ladder: what each removal weighs, when strikes expire, and which account measure a total calls for.

The core is pure (no Flask, no database): :func:`measure_due` decides one account's measure from its
strike weights and the measure in force, and :func:`what_if` replays removals under a candidate
ladder. The policy's ``strikes`` group is defined and checked here (``triage.policy`` versions it);
:func:`removals_between` reads the removals a what-if replays.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import Appeal, Case, Post, Strike, Verdict, db
from models.rules import RULE_CODES

MEASURES = ("none", "warn", "suspend", "ban")
MAX_DAYS = 3650
MAX_STEPS = 10
# Float sums of weights like 0.1 must reach a threshold they equal on paper.
_EPSILON = 1e-9

# Origins whose removals strike: first-instance decisions, a cluster member's among them (gold cases
# are never decided; an appeal decides about a strike already counted, a spot check about a member's).
STRIKING_ORIGINS = ("reported", "auto_flagged", "cluster", "confirm")

# Every weight is at least 1, so any three removals within the window reach the suspension at 3; a
# violent threat or illegal content (3) reaches it at once, sexual content or hate (2) at the second.
DEFAULT_STRIKES: dict[str, Any] = {
    "window_days": 90,
    "weights": {"violence_threat": 3.0, "illegal": 3.0, "sexual": 2.0, "hate": 2.0, "harassment": 1.0,
                "self_harm": 1.0, "spam": 1.0, "other": 1.0},
    # A removal the jury was less sure of than `uncertain_below` (its verdict's confidence: the
    # reliability-weighted chance that the post breaks the rule) weighs at most `uncertain_weight`. 0,
    # the default, weighs every removal by its rule alone. A lead's decision always weighs in full.
    "uncertain_below": 0.0,
    "uncertain_weight": 1.0,
    "ladder": [
        {"at": 1.0, "action": "warn"},
        {"at": 3.0, "action": "suspend", "days": 7},
        {"at": 6.0, "action": "suspend", "days": 30},
        {"at": 10.0, "action": "ban"},
    ],
}


class StrikeSettingsError(ValueError):
    """The strikes group of a policy is malformed; the message names the setting."""


@dataclass(frozen=True)
class Measure:
    """An account measure: none, a warning, a suspension for `days`, or a ban (a permanent suspension)."""

    kind: str = "none"
    days: int | None = None

    @property
    def rank(self) -> int:
        """How grave the kind is: none 0, warn 1, suspend 2, ban 3."""
        return MEASURES.index(self.kind)

    def ends(self, now: datetime) -> datetime | None:
        """When a suspension that starts now ends (None: it does not end, or is no suspension)."""
        return now + timedelta(days=self.days) if self.kind == "suspend" and self.days else None

    def __bool__(self) -> bool:
        return self.kind != "none"


NO_MEASURE = Measure()


@dataclass(frozen=True)
class Step:
    """One rung of the ladder: from `at` active strike weight on, the measure."""

    at: float
    measure: Measure


@dataclass(frozen=True)
class StrikePolicy:
    """The strikes group of a policy version, typed."""

    window_days: int
    weights: Mapping[str, float]
    ladder: tuple[Step, ...]
    uncertain_below: float = 0.0
    uncertain_weight: float = 1.0

    @classmethod
    def from_settings(cls, group: Mapping[str, Any] | None) -> StrikePolicy:
        """From a (validated, or older and absent) strikes group."""
        checked = validate_strikes(group if group is not None else DEFAULT_STRIKES)
        steps = tuple(Step(s["at"], Measure(s["action"], s.get("days"))) for s in checked["ladder"])
        return cls(checked["window_days"], dict(checked["weights"]), steps, checked["uncertain_below"],
                   checked["uncertain_weight"])

    def weight(self, rule: str | None, confidence: float | None = None) -> float:
        """What a removal under `rule` weighs (a rule the policy does not name weighs as "other"), decided
        with `confidence` (None: by a lead, or before verdicts kept one; such a removal weighs in full)."""
        weight = float(self.weights.get(rule or "other", self.weights.get("other", 1.0)))
        if confidence is not None and confidence < self.uncertain_below:
            return min(weight, self.uncertain_weight)
        return weight

    def expires(self, decided_at: datetime) -> datetime:
        """When a strike for a removal decided then stops counting."""
        return decided_at + timedelta(days=self.window_days)

    def step_for(self, total: float) -> Measure:
        """The measure of the highest rung `total` reaches (none below the first)."""
        reached = [step.measure for step in self.ladder if total + _EPSILON >= step.at]
        return reached[-1] if reached else NO_MEASURE


# ------------------------------------------------------------------------------------ the ladder


def in_force(state: str, suspended_until: datetime | None, now: datetime) -> Measure:
    """The measure an account's state still carries now: a ban, a suspension not yet over, or none.

    A warning is a notice, not a lasting measure: a later crossing of the warning rung warns again.
    """
    if state == "banned" or (state == "suspended" and suspended_until is None):
        return Measure("ban")
    if state == "suspended" and suspended_until > now:
        remaining = (suspended_until - now).total_seconds() / 86400
        return Measure("suspend", max(1, math.ceil(remaining)))
    return NO_MEASURE


def measure_due(policy: StrikePolicy, active: Sequence[float], new: int, state: str,
                suspended_until: datetime | None, now: datetime) -> Measure:
    """The measure the ladder calls for now that the last `new` of the account's `active` strike
    weights were added (the weights of its unexpired, unwithdrawn strikes, the new ones last).

    Only new strikes call for a measure (evaluating the same strikes again, or none, gives
    nothing), and never a lesser one than the measure in force: no warning during a suspension,
    nothing on a banned account. A removal at a rung the account already stands on warns or
    suspends it again once the earlier measure is over; during a running suspension only a
    crossing to a higher rung that ends later (or a ban) is new. Callers evaluate a strike once:
    the one-strike-per-verdict key is what makes a job that runs twice add nothing.
    """
    if not 0 <= new <= len(active):
        raise ValueError("new must count strikes among the active ones")
    called = policy.step_for(sum(active))
    current = in_force(state, suspended_until, now)
    if new == 0 or not called or current.kind == "ban" or called.rank < current.rank:
        return NO_MEASURE
    if called.kind == current.kind == "suspend":
        crossed = policy.step_for(sum(active[:len(active) - new])) != called
        if not crossed or called.ends(now) <= suspended_until:
            return NO_MEASURE
    return called


def after_withdrawal(policy: StrikePolicy, rest: Sequence[tuple[float, datetime]], state: str,
                     suspended_until: datetime | None, now: datetime) -> tuple[str, datetime | None] | None:
    """An account's (state, suspended_until) once a strike behind its suspension or ban is withdrawn,
    or None when the measure in force stands. `rest`: the (weight, decided at) of the strikes that
    still count.

    The measure becomes what the ladder would have called for without the withdrawn removal: nothing
    (lifted), a suspension counted from the last removal that still counts (a ban steps down to it; a
    longer suspension is shortened to it; lifted when that time is already over), or the ban it was.
    """
    current = in_force(state, suspended_until, now)
    if current.kind not in ("suspend", "ban"):
        return None
    called = policy.step_for(sum(weight for weight, _ in rest))
    if called.kind == "ban":
        return None
    if called.kind == "suspend" and rest:
        ends = called.ends(max(decided for _, decided in rest))
        if ends > now:
            if current.kind == "ban" or ends < suspended_until:
                return "suspended", ends
            return None
    return "active", None


def after(measure: Measure, now: datetime) -> tuple[str, datetime | None]:
    """The account's (state, suspended_until) once `measure` is applied."""
    if measure.kind == "ban":
        return "banned", None
    if measure.kind == "suspend":
        return "suspended", measure.ends(now)
    return ("warned", None) if measure.kind == "warn" else ("active", None)


# ------------------------------------------------------------------------------------ what-if


@dataclass(frozen=True)
class Removal:
    """One upheld removal: whose post, under which rule, when."""

    account_id: str
    rule: str | None
    decided_at: datetime
    confidence: float | None = None  # removal_confidence(); None weighs in full


@dataclass
class WhatIf:
    """How many accounts a ladder would have warned, suspended (for a time) and banned in a period."""

    warned: int = 0
    suspended: int = 0
    banned: int = 0
    measures: int = 0
    accounts: dict[str, list[Measure]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        """The counts, JSON-ready."""
        return {"warned": self.warned, "suspended": self.suspended, "banned": self.banned,
                "measures": self.measures, "accounts": len(self.accounts)}


def what_if(policy: StrikePolicy, removals: Iterable[Removal], since: datetime) -> WhatIf:
    """Replay removals (each account from a clean record) and count the measures taken from `since` on.

    Give it the removals from `since` minus the window on: the earlier ones only carry strikes
    into the period, as they would have. Each account counts once per kind (a suspended account
    that was warned first counts under both).
    """
    by_account: dict[str, list[Removal]] = defaultdict(list)
    for removal in removals:
        by_account[removal.account_id].append(removal)
    result = WhatIf()
    for account_id, own in by_account.items():
        taken = [m for m in _replay(policy, sorted(own, key=lambda r: r.decided_at)) if m[0] >= since]
        if not taken:
            continue
        kinds = {measure.kind for _, measure in taken}
        result.warned += "warn" in kinds
        result.suspended += "suspend" in kinds
        result.banned += "ban" in kinds
        result.measures += len(taken)
        result.accounts[account_id] = [measure for _, measure in taken]
    return result


def _replay(policy: StrikePolicy, removals: Sequence[Removal]) -> list[tuple[datetime, Measure]]:
    """One account's measures, in order, as the ladder would have taken them."""
    strikes: list[tuple[datetime, float]] = []  # (expires_at, weight)
    state, until = "active", None
    taken = []
    for removal in removals:
        now = removal.decided_at
        strikes = [s for s in strikes if s[0] > now]
        strikes.append((policy.expires(now), policy.weight(removal.rule, removal.confidence)))
        measure = measure_due(policy, [w for _, w in strikes], 1, state, until, now)
        if measure:
            state, until = after(measure, now)
            taken.append((now, measure))
    return taken


def removal_confidence(method: str, posterior: float | None) -> float | None:
    """How sure the decision behind a removal was, for its strike's weight: the verdict's posterior
    (a cluster member's is its cluster's verdict's; a one-juror confirm's, its juror's vote and the
    model score), None for a lead's decision (sure)."""
    return None if method == "lead" else posterior


def removals_between(start: datetime, end: datetime) -> list[Removal]:
    """The removals that strike (STRIKING_ORIGINS: first-instance decisions and a cluster's members),
    decided in [start, end), less those an appeal overturned or whose strike was withdrawn (a lead
    reversed their cluster's verdict); gold cases never count."""
    rows = db.session.execute(
        select(Post.author_id, Verdict.rule, Verdict.decided_at, Verdict.method, Verdict.posterior)
        .join(Case, Case.id == Verdict.case_id).join(Post, Post.id == Case.post_id)
        .outerjoin(Appeal, Appeal.verdict_id == Verdict.id)
        .outerjoin(Strike, Strike.verdict_id == Verdict.id)
        .where(Verdict.outcome == "remove", Case.origin.in_(STRIKING_ORIGINS),
               Verdict.decided_at >= start, Verdict.decided_at < end,
               (Appeal.id.is_(None)) | (Appeal.state != "overturned"), Strike.withdrawn_at.is_(None))
        .order_by(Verdict.decided_at, Verdict.id))
    return [Removal(author, rule, decided, removal_confidence(method, posterior))
            for author, rule, decided, method, posterior in rows]


def compare(in_force_policy: StrikePolicy, candidate: StrikePolicy, now: datetime,
            days: int = 30) -> dict[str, dict[str, int]]:
    """What the ladder in force and a candidate would each have done over the last `days` days."""
    since = now - timedelta(days=days)
    window = max(in_force_policy.window_days, candidate.window_days)
    removals = removals_between(since - timedelta(days=window), now)
    return {"in_force": what_if(in_force_policy, removals, since).as_dict(),
            "candidate": what_if(candidate, removals, since).as_dict()}


# ------------------------------------------------------------------------------------ validation


def _number(value: Any, path: str, *, least: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StrikeSettingsError(f"{path} must be a number")
    if value < least:
        raise StrikeSettingsError(f"{path} must be at least {least:g}")
    return float(value)


def _days(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise StrikeSettingsError(f"{path} must be a whole number of days from 1 to {MAX_DAYS}")
    return value


def _step(raw: Any, index: int) -> dict[str, Any]:
    path = f"strikes.ladder[{index}]"
    if not isinstance(raw, Mapping) or set(raw) - {"at", "action", "days"}:
        raise StrikeSettingsError(f"{path} must be an object with at, action and (for suspend) days")
    action = raw.get("action")
    if action not in MEASURES[1:]:
        raise StrikeSettingsError(f"{path}.action must be one of warn, suspend, ban")
    step = {"at": _number(raw.get("at"), f"{path}.at"), "action": action}
    if step["at"] <= 0:
        raise StrikeSettingsError(f"{path}.at must be over 0")
    if action == "suspend":
        step["days"] = _days(raw.get("days"), f"{path}.days")
    elif "days" in raw:
        raise StrikeSettingsError(f"{path}: only a suspension has days (a ban is a permanent suspension)")
    return step


def _ladder(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STEPS:
        raise StrikeSettingsError(f"strikes.ladder must be a list of 1 to {MAX_STEPS} steps")
    steps = [_step(item, index) for index, item in enumerate(raw)]
    for index, (low, high) in enumerate(zip(steps, steps[1:], strict=False), start=1):
        if high["at"] <= low["at"]:
            raise StrikeSettingsError(f"strikes.ladder[{index}].at must be over the step before it")
        if (MEASURES.index(high["action"]), high.get("days", 0)) <= (MEASURES.index(low["action"]), low.get("days", 0)):
            raise StrikeSettingsError(f"strikes.ladder[{index}] must be a graver measure than the step before it")
    return steps


def _share(value: Any, path: str) -> float:
    share = _number(value, path)
    if share > 1:
        raise StrikeSettingsError(f"{path} must be from 0 to 1 (a confidence)")
    return share


def validate_strikes(group: Any) -> dict[str, Any]:
    """A complete, checked copy of a strikes group (missing keys and rules from the defaults)."""
    if not isinstance(group, Mapping):
        raise StrikeSettingsError("strikes must be an object with window_days, weights and ladder")
    unknown = set(group) - set(DEFAULT_STRIKES)
    if unknown:
        raise StrikeSettingsError(f"unknown strikes setting {sorted(unknown)[0]!r}")
    weights = group.get("weights", DEFAULT_STRIKES["weights"])
    if not isinstance(weights, Mapping):
        raise StrikeSettingsError("strikes.weights must map rule codes to weights")
    for code in weights:
        if code not in RULE_CODES:
            raise StrikeSettingsError(f"strikes.weights.{str(code)[:40]}: not a rule code")
    return {
        "window_days": _days(group.get("window_days", DEFAULT_STRIKES["window_days"]), "strikes.window_days"),
        "weights": {code: _number(weights.get(code, DEFAULT_STRIKES["weights"][code]), f"strikes.weights.{code}")
                    for code in RULE_CODES},
        "uncertain_below": _share(group.get("uncertain_below", DEFAULT_STRIKES["uncertain_below"]),
                                  "strikes.uncertain_below"),
        "uncertain_weight": _number(group.get("uncertain_weight", DEFAULT_STRIKES["uncertain_weight"]),
                                    "strikes.uncertain_weight"),
        "ladder": _ladder(group.get("ladder", DEFAULT_STRIKES["ladder"])),
    }
