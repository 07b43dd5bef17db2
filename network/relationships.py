"""Optional adapter capability: which accounts follow, or are followed by, an account."""
from __future__ import annotations

from typing import Protocol, runtime_checkable
from urllib.parse import quote, unquote, urlsplit

import requests

from .signing import SIGNATURE_HEADER, sign_v2
from .webhook import WebhookAdapter

RELATIONSHIPS_PATH = "/accounts/{account}/relationships"
# A network that answers with more links than this is cut short (the rest are not cached).
MAX_LINKS = 10_000


class RelationshipError(Exception):
    """The network could not be asked right now (ask again later; nothing is cached)."""


@runtime_checkable
class RelationshipSource(Protocol):
    """An adapter that can tell an account's follow links."""

    def relationships(self, account_id: str) -> set[str] | None:
        """Accounts following or followed by account_id; None when the network cannot say."""
        ...


def relationships_of(adapter: object, account_id: str) -> set[str] | None:
    """Ask the adapter if it has the capability; None when it does not."""
    if not isinstance(adapter, RelationshipSource):
        return None
    return adapter.relationships(account_id)


class SandboxAdapter(WebhookAdapter):
    """The sandbox network: the webhook contract plus a signed follow-links lookup."""

    def relationships(self, account_id: str) -> set[str] | None:
        """GET {base}/accounts/<id>/relationships, v2-signed over GET and its path (never v1: a v1
        signature covers only a body, and an author id can spell an action); raises RelationshipError."""
        base = self.endpoint.rsplit("/moderation/actions", 1)[0]
        url = base + RELATIONSHIPS_PATH.format(account=quote(account_id, safe=""))
        headers = {SIGNATURE_HEADER: sign_v2(self._secret, "GET", unquote(urlsplit(url).path), b"")}
        try:
            response = self._session.get(url, headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise RelationshipError(f"{type(exc).__name__} asking {self._target}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RelationshipError(f"HTTP {response.status_code} from {self._target}")
        try:
            accounts = response.json()["accounts"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RelationshipError("the answer is not {\"accounts\": [...]}") from exc
        if not isinstance(accounts, list):
            raise RelationshipError("accounts is not a list")
        return {str(a)[:128] for a in accounts[:MAX_LINKS] if isinstance(a, (str, int))}
