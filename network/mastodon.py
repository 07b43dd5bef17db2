"""Apply verdicts to a Mastodon instance through its admin API, read its reports, check its webhooks.

Verdict mapping (see README, "Connecting a Mastodon instance"):

- ``remove_post``: Mastodon's API has no admin action on one status (``config/routes/api.rb`` has
  no admin statuses resource), so the status itself is left for the instance's moderators to
  delete in the web UI. The adapter resolves every other open report about the status and, last,
  records the strike: ``POST /api/v1/admin/accounts/:id/action`` with ``type=none`` and
  ``report_id`` (a report about the status, which that resolves), its text the statement.
  Remote accounts take no ``none`` action: their reports are only resolved.
- ``warn_account``: an account action ``none`` carrying the measure's statement.
- ``suspend_account``: ``suspend`` when permanent (``duration_days`` null); a suspension for a
  time is ``MASTODON_TEMPORARY_SUSPENSION`` (``silence`` by default): Mastodon has no timed
  suspension, and deletes a suspended local account's data after 30 days. Jury lifts either with
  ``unsuspend_account`` when the time is up. An account already suspended takes nothing more, even
  a ban stepped down to a suspension for a time: it stays suspended until that ``unsuspend_account``
  (the adapter cannot tell Jury's suspension from one the instance's moderators applied).
- ``unsuspend_account``: ``POST /api/v1/admin/accounts/:id/unsuspend`` and/or ``.../unsilence``,
  whichever the account is under; nothing when it is under neither.
- ``notify``: resolve the reporter's open reports about the status (Mastodon tells reporters
  through the report's resolution; there is no API to message them).
- ``hide_post`` / ``unhide_post``: Mastodon has no reversible per-status hide, so these are
  acknowledged without a call (the verdict decides).
- ``restore_post``: a deleted status cannot be restored through the API: a permanent failure.

An account action the instance refuses (404: no such account or report; 422: a type it does not
take) is a permanent failure whose message names the account and the action.

The HTTP client under the adapter, and how it classifies failures, is in ``mastodon_client``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from .contract import ActionRequest, AdapterConfigError, DeliveryResult, Outcome
from .mastodon_client import PAGE_LIMIT, MastodonClient, MastodonError
from .signing import SignatureError
from .webhook import DETAIL_MAX_CHARS, RECEIPT_MAX_CHARS

HUB_SIGNATURE_HEADER = "X-Hub-Signature"
ACCOUNT_ACTION_TYPES = ("none", "sensitive", "disable", "silence", "suspend")
# Remote accounts accept only these.
REMOTE_ACCOUNT_TYPES = ("sensitive", "silence", "suspend")
# What a suspension for a time becomes (Mastodon has no timed suspension).
TEMPORARY_SUSPENSION_TYPES = ("silence", "suspend")
DEFAULT_TEMPORARY_SUSPENSION = "silence"
# Told to the author with the strike: the API cannot delete the status, the moderators will.
STATUS_LEFT_TO_MODERATORS = ("The post itself is deleted by this server's moderators (Mastodon's API cannot "
                             "delete a single post).")

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

    def __init__(self, base_url: str, token: str, *, temporary_suspension: str = DEFAULT_TEMPORARY_SUSPENSION,
                 notify_email: bool = True, timeout: float = 10.0, session: requests.Session | None = None,
                 max_pages: int = 20) -> None:
        if temporary_suspension not in TEMPORARY_SUSPENSION_TYPES:
            raise AdapterConfigError(f"MASTODON_TEMPORARY_SUSPENSION must be one of "
                                     f"{', '.join(TEMPORARY_SUSPENSION_TYPES)}, got {temporary_suspension!r}")
        self.client = MastodonClient(base_url, token, timeout=timeout, session=session)
        self.temporary_suspension = temporary_suspension
        self.notify_email = notify_email
        self.max_pages = max_pages
        self._handlers: dict[str, Callable[[ActionRequest], dict[str, Any]]] = {
            "remove_post": self._remove_post,
            "notify": self._notify,
            "warn_account": self._warn_account,
            "suspend_account": self._suspend_account,
            "unsuspend_account": self._unsuspend_account,
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
        remote = self._admin_account(account_id).get("domain")
        # Every step before the strike can run twice harmlessly; the strike cannot, so it goes last.
        others = [r for r in reports if remote or str(r["id"]) != report_id]
        resolved_ids = [self.resolve(str(r["id"])) for r in others]
        if remote:
            strike = "none (a remote account takes no strike)"
        else:
            self.account_action(account_id, "none", report_id=report_id,
                                text=_text(request, STATUS_LEFT_TO_MODERATORS))
            strike = "none" + (f" with report {report_id}" if report_id else "")
        summary = (f"status {status_id} left for the instance's moderators to delete (the API cannot delete "
                   f"one status); strike {strike}; {len(resolved_ids)} other report(s) resolved")
        return {"summary": summary, "status": "left to moderators", "account_action": "none" if not remote else None,
                "report_id": report_id, "resolved": [r for r in resolved_ids if r]}

    def _notify(self, request: ActionRequest) -> dict[str, Any]:
        reporter = _check_id(request.account_id, "account_id")
        if not request.post_id:
            return {"summary": "no post: nothing to resolve"}
        status_id = _check_id(request.post_id, "post_id")
        reports = self.reports_about(status_id, account_id=reporter)
        resolved = [self.resolve(str(report["id"])) for report in reports]
        return {"summary": f"{len(reports)} report(s) of the reporter resolved", "resolved": [r for r in resolved if r]}

    def _warn_account(self, request: ActionRequest) -> dict[str, Any]:
        account_id = _check_id(request.account_id, "account_id")
        if self._admin_account(account_id).get("domain"):
            return {"summary": "warn_account: a remote account cannot be warned from this server; nothing sent"}
        self.account_action(account_id, "none", text=_text(request))
        return {"summary": "account action none (a warning)", "account_action": "none"}

    def _suspend_account(self, request: ActionRequest) -> dict[str, Any]:
        account_id = _check_id(request.account_id, "account_id")
        kind = "suspend" if request.permanent else self.temporary_suspension
        account = self._admin_account(account_id)
        if account.get("suspended") or (kind == "silence" and account.get("silenced")):
            # Already under it (a retry whose reply was lost, or a second measure): no second strike.
            return {"summary": f"account already {'suspended' if account.get('suspended') else 'silenced'}; "
                               "nothing sent", "account_action": None}
        self.account_action(account_id, kind, text=_text(request))
        lasting = "permanently" if request.permanent else f"for {request.duration_days} day(s)"
        return {"summary": f"account action {kind} ({lasting})", "account_action": kind}

    def _unsuspend_account(self, request: ActionRequest) -> dict[str, Any]:
        account_id = _check_id(request.account_id, "account_id")
        account = self._admin_account(account_id)
        lifted = [name for flag, name in (("suspended", "unsuspend"), ("silenced", "unsilence")) if account.get(flag)]
        for name in lifted:
            self._account_call(account_id, name, f"/api/v1/admin/accounts/{quote(account_id)}/{name}")
        return {"summary": " and ".join(lifted) if lifted else "account under no suspension or silence: nothing "
                "to lift", "lifted": lifted}

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
        self._account_call(account_id, f"action {kind}", f"/api/v1/admin/accounts/{quote(account_id)}/action", data)

    def _account_call(self, account_id: str, what: str, path: str, data: dict[str, str] | None = None) -> None:
        """A POST on an account; the instance's refusal (404, 422) says which account and which action."""
        try:
            self.client.call("POST", path, scope="admin:write:accounts", data=data)
        except MastodonError as error:
            if error.status_code == 404 and error.record_missing:
                reason = "the instance has no such account" + (" or report" if data and "report_id" in data else "")
            elif error.status_code == 422:
                reason = "the instance refused it"
            else:
                raise
            raise MastodonError(Outcome.PERMANENT, f"account {account_id}: {what}: {reason} ({error.detail})",
                                error.status_code, record_missing=error.record_missing) from None

    def _admin_account(self, account_id: str) -> dict[str, Any]:
        """The Admin::Account (its ``domain`` is set for a remote account; ``suspended``, ``silenced``)."""
        try:
            account = self.client.call("GET", f"/api/v1/admin/accounts/{quote(account_id)}",
                                       scope="admin:read:accounts")
        except MastodonError as error:
            if error.status_code == 404 and error.record_missing:
                raise MastodonError(Outcome.PERMANENT, f"account {account_id}: the instance has no such account "
                                                       f"({error.detail})", 404, record_missing=True) from None
            raise
        return account if isinstance(account, dict) else {}


def _text(request: ActionRequest, *notes: str) -> str:
    """The statement the author is sent with the strike: Jury's reasons, any notes, the appeal link."""
    parts = [request.statement_of_reasons, *notes]
    if request.appeal_url:
        parts.append(f"Appeal: {request.appeal_url}")
    return "\n".join(part for part in parts if part)[:5000]


def make_mastodon_adapter(url: str | None, token: str | None,
                          options: Mapping[str, Any] | None = None) -> MastodonAdapter:
    """Build the adapter from settings (MASTODON_TEMPORARY_SUSPENSION, MASTODON_NOTIFY_EMAIL)."""
    options = options or {}
    temporary = str(options.get("MASTODON_TEMPORARY_SUSPENSION") or DEFAULT_TEMPORARY_SUSPENSION).strip().lower()
    notify = str(options.get("MASTODON_NOTIFY_EMAIL", "true")).strip().lower() not in ("false", "0", "no")
    return MastodonAdapter((url or "").strip(), token or "", temporary_suspension=temporary, notify_email=notify)
