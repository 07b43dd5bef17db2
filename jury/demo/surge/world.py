"""The surge's stand-ins: the simulated network that records what the outbox delivers, and the model.

`NetworkRecorder` is a network adapter (network/contract.py): the real outbox hands it each action
and it applies it to its own picture of the network, stamped with the simulated clock, so every
figure about what was up, hidden or removed is measured from what actually went out. Accounts it
suspended or banned cannot post on it until they are unsuspended.

`SimulatedScorer` is a scorer (classifiers.Scorer) that gives each generated text the probability the
generator drew for it, on the labels the policy reads (toxicity and threat).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from classifiers import LABELS
from network import ActionRequest, DeliveryResult, Outcome

STATE_AFTER = {"remove_post": "removed", "hide_post": "hidden", "unhide_post": "visible", "restore_post": "visible"}


@dataclass
class NetworkRecorder:
    """What the network shows, from the actions delivered to it (the simulated clock stamps each)."""

    clock: Callable[[], float]
    name: str = "surge"
    endpoint: str = "surge-network"
    actions: list[tuple[float, str, str | None, str | None]] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)
    first_down: dict[str, float] = field(default_factory=dict)  # post -> minute first hidden or removed
    removed_at: dict[str, float] = field(default_factory=dict)  # post -> minute first removed
    blocked_since: dict[str, float] = field(default_factory=dict)  # account -> minute suspended or banned

    def deliver(self, request: ActionRequest) -> DeliveryResult:
        """Apply one action at the simulated minute; every action is accepted."""
        now = self.clock()
        self.actions.append((now, request.type, request.post_id, request.account_id))
        if request.type in STATE_AFTER and request.post_id:
            new = STATE_AFTER[request.type]
            self.state[request.post_id] = new
            if new != "visible":
                self.first_down.setdefault(request.post_id, now)
            if new == "removed":
                self.removed_at.setdefault(request.post_id, now)
        elif request.type == "suspend_account" and request.account_id:
            self.blocked_since.setdefault(request.account_id, now)
        elif request.type == "unsuspend_account" and request.account_id:
            self.blocked_since.pop(request.account_id, None)
        return DeliveryResult(Outcome.DONE, 200, "recorded", receipt=f"surge-{len(self.actions)}")

    def visible(self, post: str) -> bool:
        """Whether the post is up (a post no action reached is)."""
        return self.state.get(post, "visible") == "visible"

    def blocked(self, account: str) -> bool:
        """Whether the account is suspended or banned now."""
        return account in self.blocked_since

    def count(self, kind: str) -> int:
        """How many actions of this type were delivered."""
        return sum(1 for _, action, _, _ in self.actions if action == kind)


class SimulatedScorer:
    """The generated probability of each text, on the toxicity and threat labels (the others 0)."""

    name = "simulated"
    labels = LABELS

    def __init__(self, probabilities: Iterable[tuple[str, float]], auc: float):
        self.version = f"auc-{auc:g}"
        self.probabilities = dict(probabilities)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One {label: probability} per text."""
        results = []
        for text in texts:
            probability = self.probabilities.get(text, 0.0)
            labels = dict.fromkeys(LABELS, 0.0)
            labels["toxicity"] = labels["threat"] = probability
            results.append(labels)
        return results
