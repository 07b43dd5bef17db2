"""Types shared by every network adapter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, runtime_checkable

ACTION_TYPES = (
    "remove_post",
    "restore_post",
    "hide_post",
    "unhide_post",
    "warn_account",
    "suspend_account",
    "unsuspend_account",
    "notify",
)
# Measures on the author's account rather than one post: they carry strike_count and verdict_ids
# (and suspend_account its duration_days) in the webhook payload.
ACCOUNT_ACTION_TYPES = ("warn_account", "suspend_account", "unsuspend_account")
MAX_VERDICT_IDS = 100

# The action id travels in the Idempotency-Key header, so it must be header-safe.
_ACTION_ID = re.compile(r"[\x21-\x7e]{1,255}")


# The outbound webhook contract's body, as JSON Schema (the OpenAPI document publishes it).
ACTION_PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["action_id", "type", "post_id", "account_id", "case_id", "rule", "statement_of_reasons"],
    "properties": {
        "action_id": {"type": "string", "minLength": 1, "maxLength": 255,
                      "description": "The idempotency key (also sent as Idempotency-Key): apply each once."},
        "type": {"type": "string", "enum": list(ACTION_TYPES)},
        "post_id": {"type": ["string", "null"], "description": "The post acted on; null for account actions."},
        "account_id": {"type": ["string", "null"],
                       "description": "The post's author, the reporter (notify) or the account acted on."},
        "case_id": {"type": "string"},
        "rule": {"type": ["string", "null"], "description": "The rule broken (a rule code), when there is one."},
        "statement_of_reasons": {"type": "string", "description": "What the user is told (DSA Art. 17)."},
        "appeal_url": {"type": "string", "description": "The signed appeal link, on measures that can be appealed."},
        "duration_days": {"type": ["integer", "null"], "minimum": 1,
                          "description": "suspend_account only: days the suspension lasts; null: permanent."},
        "strike_count": {"type": "integer", "minimum": 0,
                         "description": "Account actions only: the account's active strikes behind the measure."},
        "verdict_ids": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_VERDICT_IDS,
                        "description": "Account actions only: the verdicts (removals) behind the measure."},
    },
}


class AdapterConfigError(Exception):
    """The network adapter is not configured well enough to be built."""


@dataclass(frozen=True)
class ActionRequest:
    """One moderation action to apply on the network."""

    action_id: str
    type: str
    post_id: str | None
    account_id: str | None
    case_id: str
    rule: str
    statement_of_reasons: str
    appeal_url: str | None = None
    # Earlier removals of this account's posts. Not part of the webhook contract's payload, and no
    # adapter reads it any more: the strike ladder is Jury's policy (triage/strikes.py).
    prior_strikes: int = 0
    # Account actions only. suspend_account: days the suspension lasts (None: permanent, a ban).
    duration_days: int | None = None
    # The account's active strikes when the measure was decided, and the verdicts behind them.
    strike_count: int = 0
    verdict_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in ACTION_TYPES:
            raise ValueError(f"unknown action type {self.type!r}; expected one of: {', '.join(ACTION_TYPES)}")
        if not isinstance(self.action_id, str) or not _ACTION_ID.fullmatch(self.action_id):
            raise ValueError("action_id must be 1-255 visible ASCII characters (it is sent as Idempotency-Key)")
        if self.type in ACCOUNT_ACTION_TYPES and not self.account_id:
            raise ValueError(f"{self.type} needs the account_id")
        if self.duration_days is not None and (self.type != "suspend_account" or isinstance(self.duration_days, bool)
                                               or not isinstance(self.duration_days, int) or self.duration_days < 1):
            raise ValueError("duration_days is a whole number of days >= 1, on suspend_account only (None: permanent)")
        if isinstance(self.strike_count, bool) or not isinstance(self.strike_count, int) or self.strike_count < 0:
            raise ValueError("strike_count must be a whole number >= 0")
        if len(self.verdict_ids) > MAX_VERDICT_IDS or not all(isinstance(v, str) for v in self.verdict_ids):
            raise ValueError(f"verdict_ids: at most {MAX_VERDICT_IDS} verdict ids, as strings")
        object.__setattr__(self, "verdict_ids", tuple(self.verdict_ids))

    @property
    def permanent(self) -> bool:
        """A suspend_account without an end: a ban."""
        return self.type == "suspend_account" and self.duration_days is None

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON body of the webhook contract: appeal_url only when set; on account actions
        strike_count and verdict_ids, and on suspend_account duration_days (null: permanent)."""
        payload: dict[str, Any] = {
            "action_id": self.action_id,
            "type": self.type,
            "post_id": self.post_id,
            "account_id": self.account_id,
            "case_id": self.case_id,
            "rule": self.rule,
            "statement_of_reasons": self.statement_of_reasons,
        }
        if self.appeal_url:
            payload["appeal_url"] = self.appeal_url
        if self.type in ACCOUNT_ACTION_TYPES:
            payload["strike_count"] = self.strike_count
            payload["verdict_ids"] = list(self.verdict_ids)
        if self.type == "suspend_account":
            payload["duration_days"] = self.duration_days
        return payload


class Outcome(str, Enum):  # noqa: UP042 - members compare and serialise as their plain values
    """How a delivery attempt ended, as far as the retry logic cares."""

    DONE = "done"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class DeliveryResult:
    """The classified result of one delivery attempt."""

    outcome: Outcome
    status_code: int | None
    detail: str
    receipt: str | None = None
    # Seconds the network asked us to wait (a rate limit's reset); the retry waits at least this long.
    retry_after: float | None = None


@runtime_checkable
class NetworkAdapter(Protocol):
    """Something that applies moderation actions to a network."""

    name: str

    def deliver(self, request: ActionRequest) -> DeliveryResult:
        """Attempt the action once; classify network and HTTP problems instead of raising."""
        ...
