"""Adapters that apply Jury's moderation verdicts to a social network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .backoff import MAX_ATTEMPTS, retry_delay
from .contract import (
    ACTION_TYPES,
    ActionRequest,
    AdapterConfigError,
    DeliveryResult,
    NetworkAdapter,
    Outcome,
)
from .mastodon import MastodonAdapter, make_mastodon_adapter
from .relationships import RelationshipError, RelationshipSource, SandboxAdapter, relationships_of
from .signing import SIGNATURE_HEADER, TOLERANCE_SECONDS, SignatureError, sign, sign_v2, verify
from .webhook import WebhookAdapter

ADAPTER_KINDS = ("webhook", "sandbox", "mastodon")

__all__ = [
    "ACTION_TYPES",
    "ADAPTER_KINDS",
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "TOLERANCE_SECONDS",
    "ActionRequest",
    "AdapterConfigError",
    "DeliveryResult",
    "MastodonAdapter",
    "NetworkAdapter",
    "Outcome",
    "RelationshipError",
    "RelationshipSource",
    "SandboxAdapter",
    "SignatureError",
    "WebhookAdapter",
    "make_adapter",
    "relationships_of",
    "retry_delay",
    "sign",
    "sign_v2",
    "verify",
]


def make_adapter(kind: str, *, url: str | None, secret: str | None, token: str | None = None,
                 options: Mapping[str, Any] | None = None) -> NetworkAdapter:
    """Build the adapter for ``kind`` from settings, or raise AdapterConfigError saying what is wrong."""
    normalised = (kind or "").strip().lower()
    if normalised == "mastodon":
        missing = [setting for setting, value in (("NETWORK_URL", url), ("NETWORK_TOKEN", token))
                   if not value or not value.strip()]
        if missing:
            raise AdapterConfigError(f"mastodon adapter needs setting(s): {', '.join(missing)}")
        return make_mastodon_adapter(url, token, options)
    if normalised not in ADAPTER_KINDS:
        raise AdapterConfigError(f"unknown network adapter {kind!r}; valid kinds: {', '.join(ADAPTER_KINDS)}")

    missing = [
        setting
        for setting, value in (("NETWORK_URL", url), ("NETWORK_WEBHOOK_SECRET", secret))
        if not value or not value.strip()
    ]
    if missing:
        raise AdapterConfigError(f"{normalised} adapter needs setting(s): {', '.join(missing)}")
    # token is for token-authenticated networks such as mastodon; the webhook kinds sign with the secret.
    # The sandbox is the app's own stand-in network; it speaks the same webhook contract.
    if normalised == "sandbox":
        return SandboxAdapter(url.strip(), secret, name=normalised)
    return WebhookAdapter(url.strip(), secret, name=normalised)
