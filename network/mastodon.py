"""Apply verdicts to a Mastodon instance through its admin API, read its reports, check its webhooks.

Verdict mapping (see README, "Connecting a Mastodon instance"):

- ``remove_post``: delete the status with ``POST /api/v1/admin/statuses/:id/action`` (with the
  statement and ``report_id``) where the server has that route; then resolve every other open
  report about the status and, last, ``POST /api/v1/admin/accounts/:id/action`` (``report_id`` =
  a report about the status). Its ``type`` comes from the :class:`StrikePolicy` ladder (by the
  author's earlier removals); when the status could not be deleted on its own, the type is raised
  to at least the policy's fallback so the verdict still limits the post's reach. A ``none``
  step after a successful status deletion is skipped: that deletion already carried the warning.
- ``notify``: resolve the reporter's open reports about the status (Mastodon tells reporters
  through the report's resolution; there is no API to message them).
- ``warn_account`` / ``suspend_account``: an account action ``none`` / ``suspend``.
- ``hide_post`` / ``unhide_post``: Mastodon has no reversible per-status hide, so these are
  acknowledged without a call (the verdict decides).
- ``restore_post``: a deleted status cannot be restored through the API: a permanent failure.

The HTTP client under the adapter, and how it classifies failures, is in ``mastodon_client``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from .base import ActionRequest, AdapterConfigError, DeliveryResult, Outcome
from .mastodon_client import PAGE_LIMIT, MastodonClient, MastodonError
from .signing import SignatureError
from .webhook import DETAIL_MAX_CHARS, RECEIPT_MAX_CHARS

HUB_SIGNATURE_HEADER = "X-Hub-Signature"
ACCOUNT_ACTION_TYPES = ("none", "sensitive", "disable", "silence", "suspend")
# Remote accounts accept only these; weaker local-only types are raised to the next allowed one.
REMOTE_ACCOUNT_TYPES = ("sensitive", "silence", "suspend")
DEFAULT_STRIKE_LADDER = ("none", "silence", "suspend")
DEFAULT_FALLBACK_ACTION = "silence"

# Mastodon ids are numeric strings; forks use flake ids. Anything else could alter the URL path.
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


# ---------------------------------------------------------------------------------- webhooks


def hub_signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value Mastodon sends for ``body`` (``sha256=<hex>``)."""
    if not secret:
        raise SignatureError("webhook secret is empty or not configured")
    return "sha256=" + hmac.new(secret.encode("utf-8"), bytes(body), hashlib.sha256).hexdigest()


def verify_hub_signature(secret: str, body: bytes, header: str | None) -> None:
    """Check a Mastodon webhook's ``X-Hub-Signature`` against the raw body, or raise SignatureError."""
    expected = hub_signature(secret, body)
    if header is None or not header.strip():
        raise SignatureError(f"missing {HUB_SIGNATURE_HEADER} header")
    scheme, sep, digest = header.strip().partition("=")
    if not sep or scheme.lower() != "sha256" or not _HEX_DIGEST.fullmatch(digest):
        raise SignatureError(f"malformed {HUB_SIGNATURE_HEADER} header: expected sha256=<64 hex digits>")
    if not hmac.compare_digest(expected, "sha256=" + digest.lower()):
        raise SignatureError("signature does not match the request body")


# ---------------------------------------------------------------------------------- strike policy


@dataclass(frozen=True)
class StrikePolicy:
    """Which account action a removal records, by how many removals the account had before."""

    ladder: tuple[str, ...] = DEFAULT_STRIKE_LADDER
    # The least a removal does when the server cannot delete the single status ("none" = no floor).
    fallback: str = DEFAULT_FALLBACK_ACTION

    def account_action(self, prior_strikes: int, *, status_removed: bool, remote: bool = False) -> str:
        """The ``type`` for the account action of a removal."""
        chosen = self.ladder[min(max(prior_strikes, 0), len(self.ladder) - 1)]
        if not status_removed:
            chosen = _stronger(chosen, self.fallback)
        if remote and chosen not in REMOTE_ACCOUNT_TYPES:
            chosen = "sensitive" if chosen == "none" else "suspend"
        return chosen


def _stronger(first: str, second: str) -> str:
    return max(first, second, key=ACCOUNT_ACTION_TYPES.index)


def parse_strike_policy(ladder: str | None = None, fallback: str | None = None) -> StrikePolicy:
    """Build a StrikePolicy from settings like ``"none,silence,suspend"`` and ``"silence"``."""
    steps = tuple(step.strip().lower() for step in (ladder or ",".join(DEFAULT_STRIKE_LADDER)).split(","))
    floor = (fallback or DEFAULT_FALLBACK_ACTION).strip().lower()
    for value in (*steps, floor):
        if value not in ACCOUNT_ACTION_TYPES:
            raise AdapterConfigError(
                f"unknown Mastodon account action {value!r}; valid: {', '.join(ACCOUNT_ACTION_TYPES)}")
    return StrikePolicy(steps, floor)


# ---------------------------------------------------------------------------------- the adapter


def _check_id(value: str | None, what: str) -> str:
    if not value or not _ID.fullmatch(value):
        raise MastodonError(Outcome.PERMANENT, f"{what} {value!r} is not a Mastodon id")
    return value


def _has_status(report: Any, status_id: str) -> bool:
    statuses = report.get("statuses") if isinstance(report, dict) else None
    return isinstance(statuses, list) and any(isinstance(s, dict) and str(s.get("id")) == status_id
                                              for s in statuses)


class MastodonAdapter:
    """Network adapter for a Mastodon instance; see the module docstring for the mapping."""

    name = "mastodon"

    def __init__(self, base_url: str, token: str, *, strikes: StrikePolicy | None = None,
                 notify_email: bool = True, timeout: float = 10.0, session: requests.Session | None = None,
                 max_pages: int = 20) -> None:
        self.client = MastodonClient(base_url, token, timeout=timeout, session=session)
        self.strikes = strikes or StrikePolicy()
        self.notify_email = notify_email
        self.max_pages = max_pages
        self._handlers: dict[str, Callable[[ActionRequest], dict[str, Any]]] = {
            "remove_post": self._remove_post,
            "notify": self._notify,
            "warn_account": lambda request: self._account_only(request, "none"),
            "suspend_account": lambda request: self._account_only(request, "suspend"),
            "hide_post": self._acknowledge,
            "unhide_post": self._acknowledge,
            "restore_post": self._restore_post,
        }

    def __repr__(self) -> str:
        return f"MastodonAdapter({self.client.base_url!r})"

    @property
    def timeout(self) -> float:
        """Seconds each API call may take (NETWORK_TIMEOUT, set by the outbox)."""
        return self.client.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.client.timeout = float(seconds)

    @property
    def endpoint(self) -> str:
        """The instance, as the circuit breaker names it."""
        return self.client.base_url

    def deliver(self, request: ActionRequest) -> DeliveryResult:
        """Apply one action (several API calls); classify failures instead of raising."""
        try:
            receipt = self._handlers[request.type](request)
        except MastodonError as error:
            return DeliveryResult(error.outcome, error.status_code, self.client.redact(error.detail)[:DETAIL_MAX_CHARS],
                                  retry_after=error.retry_after)
        text = json.dumps(receipt, separators=(",", ":"), sort_keys=True)
        summary = self.client.redact(receipt.get("summary", "applied"))[:DETAIL_MAX_CHARS]
        return DeliveryResult(Outcome.DONE, 200, summary,
                              text[:RECEIPT_MAX_CHARS])

    # -- the actions

    def _remove_post(self, request: ActionRequest) -> dict[str, Any]:
        status_id = _check_id(request.post_id, "post_id")
        account_id = _check_id(request.account_id, "account_id")
        reports = self.reports_about(status_id, target_account_id=account_id)
        linked = reports[0] if reports else None
        if linked is None:
            # A retry after the strike landed finds the report resolved: link the same one again.
            resolved = self.reports_about(status_id, target_account_id=account_id, resolved=True)
            linked = resolved[0] if resolved else None
        report_id = str(linked["id"]) if linked else None
        status_result = self._delete_status(status_id, report_id, request.statement_of_reasons)
        remote = self._is_remote(account_id)
        # Every step before the strike can run twice harmlessly; the strike cannot, so it goes last.
        resolved_ids = [self.resolve(str(r["id"])) for r in reports if str(r["id"]) != report_id]
        kind = self.strikes.account_action(request.prior_strikes, status_removed=status_result != "unsupported",
                                           remote=remote)
        if status_result == "unsupported" or kind != "none":
            self.account_action(account_id, kind, report_id=report_id, text=_text(request))
        else:
            # The per-status action already carried the warning text and report: a "none" strike on top
            # would count the same offence twice.
            kind = "none (carried by the status action)"
        summary = (f"status {status_result}; account action {kind}"
                   + (f" with report {report_id}" if report_id else "")
                   + f"; {len(resolved_ids)} other report(s) resolved")
        return {"summary": summary, "status": status_result, "account_action": kind, "report_id": report_id,
                "resolved": [r for r in resolved_ids if r]}

    def _notify(self, request: ActionRequest) -> dict[str, Any]:
        reporter = _check_id(request.account_id, "account_id")
        if not request.post_id:
            return {"summary": "no post: nothing to resolve"}
        status_id = _check_id(request.post_id, "post_id")
        reports = self.reports_about(status_id, account_id=reporter)
        resolved = [self.resolve(str(report["id"])) for report in reports]
        return {"summary": f"{len(reports)} report(s) of the reporter resolved", "resolved": [r for r in resolved if r]}

    def _account_only(self, request: ActionRequest, kind: str) -> dict[str, Any]:
        account_id = _check_id(request.account_id, "account_id")
        if self._is_remote(account_id) and kind not in REMOTE_ACCOUNT_TYPES:
            kind = "sensitive"
        self.account_action(account_id, kind, text=_text(request))
        return {"summary": f"account action {kind}", "account_action": kind}

    def _acknowledge(self, request: ActionRequest) -> dict[str, Any]:
        return {"summary": f"{request.type}: Mastodon has no reversible per-status hide; nothing sent"}

    def _restore_post(self, request: ActionRequest) -> dict[str, Any]:
        raise MastodonError(Outcome.PERMANENT, "restore_post: Mastodon cannot restore a deleted status through "
                                               "its API; restore it by hand")

    # -- the API calls

    def reports_about(self, status_id: str, *, resolved: bool = False, **filters: str) -> list[dict[str, Any]]:
        """Reports (open by default) matching the filters whose statuses include ``status_id``."""
        params = {"resolved": "true" if resolved else "false", "limit": PAGE_LIMIT, **filters}
        found = []
        for page in self.client.pages("/api/v1/admin/reports", scope="admin:read:reports", params=params,
                                      max_pages=self.max_pages):
            found.extend(r for r in page if _has_status(r, status_id) and _ID.fullmatch(str(r.get("id", ""))))
        return found

    def resolve(self, report_id: str) -> str | None:
        """Resolve one report; a report that no longer exists is nothing to resolve."""
        try:
            self.client.call("POST", f"/api/v1/admin/reports/{quote(_check_id(report_id, 'report id'))}/resolve",
                             scope="admin:write:reports")
        except MastodonError as error:
            if error.record_missing:
                return None
            raise
        return report_id

    def account_action(self, account_id: str, kind: str, *, report_id: str | None = None, text: str = "") -> None:
        """``POST /api/v1/admin/accounts/:id/action``: record a strike of ``kind``."""
        data = {"type": kind, "text": text, "send_email_notification": "true" if self.notify_email else "false"}
        if report_id:
            data["report_id"] = report_id
        self.client.call("POST", f"/api/v1/admin/accounts/{quote(account_id)}/action",
                         scope="admin:write:accounts", data=data)

    def _delete_status(self, status_id: str, report_id: str | None, text: str) -> str:
        """'deleted', 'gone' (already), or 'unsupported' when the server has no per-status action."""
        data = {"type": "delete", "text": text[:5000]}
        if report_id:
            data["report_id"] = report_id
        try:
            self.client.call("POST", f"/api/v1/admin/statuses/{quote(status_id)}/action",
                             scope="admin:write:statuses", data=data)
        except MastodonError as error:
            if error.route_missing:
                return "unsupported"
            if error.record_missing:
                return "gone"
            raise
        return "deleted"

    def _is_remote(self, account_id: str) -> bool:
        """Whether the account lives on another server (it then takes fewer action types)."""
        account = self.client.call("GET", f"/api/v1/admin/accounts/{quote(account_id)}", scope="admin:read:accounts")
        return bool(isinstance(account, dict) and account.get("domain"))


def _text(request: ActionRequest) -> str:
    text = request.statement_of_reasons
    if request.appeal_url:
        text += f"\nAppeal: {request.appeal_url}"
    return text[:5000]


def make_mastodon_adapter(url: str | None, token: str | None,
                          options: Mapping[str, Any] | None = None) -> MastodonAdapter:
    """Build the adapter from settings (MASTODON_STRIKE_LADDER, MASTODON_FALLBACK_ACTION, MASTODON_NOTIFY_EMAIL)."""
    options = options or {}
    strikes = parse_strike_policy(options.get("MASTODON_STRIKE_LADDER"), options.get("MASTODON_FALLBACK_ACTION"))
    notify = str(options.get("MASTODON_NOTIFY_EMAIL", "true")).strip().lower() not in ("false", "0", "no")
    return MastodonAdapter((url or "").strip(), token or "", strikes=strikes, notify_email=notify)
