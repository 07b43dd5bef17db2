"""Deliver moderation actions to a network over the signed webhook contract."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import requests

from .contract import ActionRequest, AdapterConfigError, DeliveryResult, Outcome
from .signing import SIGNATURE_HEADER, sign_v2

ACTIONS_PATH = "/moderation/actions"
RECEIPT_MAX_CHARS = 2000
DETAIL_MAX_CHARS = 500

# Enough bytes for RECEIPT_MAX_CHARS of UTF-8 without buffering an arbitrarily large reply.
_RECEIPT_MAX_BYTES = RECEIPT_MAX_CHARS * 4


class WebhookAdapter:
    """Network adapter that POSTs signed JSON to ``{base_url}/moderation/actions`` (or to ``base_url``
    itself with ``path=""``: the on-call alert's URL is used as given)."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        name: str = "webhook",
        path: str = ACTIONS_PATH,
    ) -> None:
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AdapterConfigError(f"network URL must be an absolute http(s) URL, got {base_url!r}")
        if parts.query or parts.fragment:
            raise AdapterConfigError("network URL must not have a query string or fragment")
        if not secret:
            raise AdapterConfigError("webhook secret is empty")
        if timeout <= 0:
            raise AdapterConfigError("timeout must be positive")
        self.name = name
        self.endpoint = base_url.rstrip("/") + path if path else base_url
        # What a v2 signature covers: the path as the receiver reads it, percent-decoded.
        self._path = unquote(urlsplit(self.endpoint).path)
        self.timeout = timeout
        self._secret = secret
        # Host only: userinfo in the URL would be a credential and must stay out of details.
        self._target = parts.netloc.rpartition("@")[2]
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"WebhookAdapter(name={self.name!r}, endpoint={self.endpoint!r})"

    def deliver(self, request: ActionRequest) -> DeliveryResult:
        """POST one action and classify the response; never raises for network or HTTP problems."""
        # The signature covers these exact bytes, so serialise once and send them unchanged.
        body = json.dumps(request.to_payload(), separators=(",", ":")).encode("utf-8")
        # v2 binds the body to POST and this endpoint's path; v1 beside it for receivers that predate v2.
        signature = sign_v2(self._secret, "POST", self._path, body, with_v1=True)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": request.action_id,
            SIGNATURE_HEADER: signature,
            "User-Agent": "Jury-moderation-webhook/1",
        }
        try:
            # Redirects are not followed: they would resend a signed body somewhere else, and
            # requests turns a redirected POST into a GET.
            response = self._session.post(
                self.endpoint,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            return self._result(Outcome.RETRY, None, f"timeout after {self.timeout:g}s", signature)
        except requests.ConnectionError as exc:
            detail = f"connection error to {self._target}: {_root_cause(exc)}"
            return self._result(Outcome.RETRY, None, detail, signature)
        except requests.RequestException as exc:
            return self._result(Outcome.RETRY, None, f"request failed: {_root_cause(exc)}", signature)

        try:
            receipt = _read_receipt(response)
        finally:
            response.close()
        outcome, detail = _classify(response)
        return self._result(outcome, response.status_code, detail, signature, receipt)

    def _result(
        self,
        outcome: Outcome,
        status_code: int | None,
        detail: str,
        signature: str,
        receipt: str | None = None,
    ) -> DeliveryResult:
        # Details end up in logs and admin pages; make sure no credential can leak there.
        for secret_text in (self._secret, signature):
            detail = detail.replace(secret_text, "[redacted]")
        return DeliveryResult(outcome, status_code, detail[:DETAIL_MAX_CHARS], receipt)


def _classify(response: requests.Response) -> tuple[Outcome, str]:
    code = response.status_code
    if 200 <= code < 300:
        return Outcome.DONE, f"HTTP {code}"
    if code == 409:
        # The network already has this action_id: an earlier attempt got through.
        return Outcome.DONE, "HTTP 409 (already applied)"
    if 300 <= code < 400:
        # Retrying cannot fix a moved endpoint; someone has to correct NETWORK_URL.
        location = response.headers.get("Location", "?")
        return Outcome.PERMANENT, f"HTTP {code} redirect to {location} (redirects are not followed)"
    if code in (408, 429):
        # A timeout or rate limit says "later", not "never": dead-lettering would lose a verdict.
        return Outcome.RETRY, f"HTTP {code}"
    if 400 <= code < 500:
        return Outcome.PERMANENT, f"HTTP {code}"
    return Outcome.RETRY, f"HTTP {code}"


def _read_receipt(response: requests.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=4096):
            chunks.append(chunk)
            size += len(chunk)
            if size >= _RECEIPT_MAX_BYTES:
                break
    except requests.RequestException:
        # The status line already decided the outcome; a broken body only shortens the receipt.
        pass
    raw = b"".join(chunks)[:_RECEIPT_MAX_BYTES]
    try:
        text = raw.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    return text[:RECEIPT_MAX_CHARS]


def _root_cause(exc: BaseException) -> str:
    """Return the innermost OS-level reason (e.g. "Connection refused") rather than urllib3's wrapper text."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        todo.extend([getattr(current, "reason", None), current.__cause__, current.__context__, *current.args])
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
