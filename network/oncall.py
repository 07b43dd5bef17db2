"""The critical lane's on-call alert: a signed ``critical_case`` POST to the URL an operator gives.

The body names the case and where to open it, never the post's text (a pager or chat service is
a third party): the on-call lead reads the evidence in Jury. It is signed like the network webhook
(``X-Jury-Signature``, ``v2`` over the method, the URL's path and the body, with ``v1`` beside it)
with its own secret, and carries ``Idempotency-Key: <alert id>``; 2xx or 409 is delivered, 408,
429, 5xx and network errors are retried by the outbox, other 4xx are dead letters a lead can retry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .webhook import WebhookAdapter

ALERT_TYPE = "critical_case"

ALERT_PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["alert_id", "type", "case_id", "post_id", "account_id", "reason", "opened_at", "due_at",
                 "case_url"],
    "properties": {
        "alert_id": {"type": "string", "description": "Also in Idempotency-Key: the same alert sent twice has one id."},
        "type": {"const": ALERT_TYPE},
        "case_id": {"type": "string"},
        "post_id": {"type": ["string", "null"], "description": "The network's id of the post."},
        "account_id": {"type": ["string", "null"], "description": "The network's id of its author."},
        "reason": {"type": "string", "description": "What made it a credible threat to life."},
        "opened_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": "string", "format": "date-time", "description": "The critical SLA's deadline."},
        "case_url": {"type": "string", "description": "The case in Jury's lead console."},
        "oncall_url": {"type": "string", "description": "Jury's on-call page."},
    },
}


@dataclass(frozen=True)
class CriticalAlert:
    """One alert: the outbox delivers it like an action (``action_id`` is its idempotency key)."""

    action_id: str
    case_id: str
    post_id: str | None
    account_id: str | None
    reason: str
    opened_at: str
    due_at: str
    case_url: str
    oncall_url: str

    def to_payload(self) -> dict[str, Any]:
        """The JSON body (ALERT_PAYLOAD_SCHEMA)."""
        return {"alert_id": self.action_id, "type": ALERT_TYPE, "case_id": self.case_id, "post_id": self.post_id,
                "account_id": self.account_id, "reason": self.reason, "opened_at": self.opened_at,
                "due_at": self.due_at, "case_url": self.case_url, "oncall_url": self.oncall_url}


class OnCallWebhook(WebhookAdapter):
    """POSTs signed alerts to the on-call URL exactly as configured."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0, session=None) -> None:
        super().__init__(url, secret, timeout=timeout, session=session, name="oncall", path="")
