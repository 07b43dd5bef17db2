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
    "notify",
)

# The action id travels in the Idempotency-Key header, so it must be header-safe.
_ACTION_ID = re.compile(r"[\x21-\x7e]{1,255}")


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
    # Earlier removals of this account's posts: adapters with a strike ladder (mastodon) use it.
    # Not part of the webhook contract's payload.
    prior_strikes: int = 0

    def __post_init__(self) -> None:
        if self.type not in ACTION_TYPES:
            raise ValueError(f"unknown action type {self.type!r}; expected one of: {', '.join(ACTION_TYPES)}")
        if not isinstance(self.action_id, str) or not _ACTION_ID.fullmatch(self.action_id):
            raise ValueError("action_id must be 1-255 visible ASCII characters (it is sent as Idempotency-Key)")

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON body of the webhook contract (appeal_url only when set)."""
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
