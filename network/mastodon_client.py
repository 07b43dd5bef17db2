"""Calls to a Mastodon instance's admin API: one authenticated client, paging through lists, and
every failure classified for the outbox's retries (MastodonError carries the Outcome).

Replies are read with a size cap and never followed through a redirect, and a ``next`` page link
that leaves the instance is refused, so the admin token is only ever sent to NETWORK_URL.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from .contract import AdapterConfigError, Outcome
from .webhook import _root_cause

PAGE_LIMIT = 200  # the API's maximum page size
MAX_PAGES = 1000
# Enough for a page of 200 reports with their statuses; anything larger is not a sane reply.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
RECORD_NOT_FOUND = "Record not found"
# Longest a rate-limit reset is honoured; a reset further away is a misconfigured clock.
MAX_RETRY_AFTER = 24 * 3600.0

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MastodonError(Exception):
    """A call to the instance failed; carries how the retry logic should treat it."""

    def __init__(self, outcome: Outcome, detail: str, status_code: int | None = None, *,
                 retry_after: float | None = None, record_missing: bool = False,
                 route_missing: bool = False) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.status_code = status_code
        self.retry_after = retry_after
        self.record_missing = record_missing
        self.route_missing = route_missing


class MastodonClient:
    """Authenticated calls to one instance's admin API, with errors classified for retries."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 session: requests.Session | None = None) -> None:
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AdapterConfigError(f"NETWORK_URL must be the instance's absolute http(s) URL, got {base_url!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise AdapterConfigError("NETWORK_URL must be a plain instance URL (no query, fragment or credentials)")
        if not token or not token.strip():
            raise AdapterConfigError("the mastodon adapter needs NETWORK_TOKEN (an admin access token)")
        if timeout <= 0:
            raise AdapterConfigError("timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.origin = (parts.scheme, parts.netloc.lower())
        self.timeout = timeout
        self._token = token.strip()
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"MastodonClient({self.base_url!r})"

    def call(self, method: str, path: str, *, scope: str, params: Mapping[str, Any] | None = None,
             data: Mapping[str, Any] | None = None) -> Any:
        """Make one call and return its decoded JSON; raise MastodonError otherwise."""
        return self._send(method, self.base_url + path, scope=scope, params=params, data=data)[0]

    def pages(self, path: str, *, scope: str, params: Mapping[str, Any] | None = None,
              max_pages: int = MAX_PAGES) -> Iterator[list[Any]]:
        """Yield each page of a list, following the ``Link`` header's ``rel="next"``."""
        url: str | None = self.base_url + path
        query = dict(params or {})
        for _ in range(max_pages):
            body, response = self._send("GET", url, scope=scope, params=query)
            if not isinstance(body, list):
                raise MastodonError(Outcome.RETRY, f"GET {path}: expected a JSON array", response.status_code)
            yield body
            url = response.links.get("next", {}).get("url")
            if not url or not body:
                return
            # The next link carries every parameter itself; and the token must never leave the instance.
            query = {}
            parts = urlsplit(url)
            if (parts.scheme, parts.netloc.lower()) != self.origin:
                raise MastodonError(Outcome.PERMANENT, f"GET {path}: next page link points off the instance")

    def _send(self, method: str, url: str, *, scope: str, params=None, data=None):
        where = f"{method} {urlsplit(url).path}"
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                   "User-Agent": "Jury-moderation-mastodon/1"}
        try:
            response = self._session.request(method, url, params=params, data=data, headers=headers,
                                             timeout=self.timeout, allow_redirects=False, stream=True)
        except requests.Timeout:
            raise MastodonError(Outcome.RETRY, f"{where}: timeout after {self.timeout:g}s") from None
        except requests.RequestException as exc:
            raise MastodonError(Outcome.RETRY, f"{where}: connection error: {_root_cause(exc)}") from None
        try:
            raw = _read_capped(response)
        finally:
            response.close()
        body = _decode(raw)
        if 200 <= response.status_code < 300:
            if body is None and raw.strip():
                raise MastodonError(Outcome.RETRY, f"{where}: reply is not JSON", response.status_code)
            return body, response
        raise _classify(response, body, where, scope)

    def redact(self, text: str) -> str:
        """Remove the token from text bound for logs and admin pages."""
        return text.replace(self._token, "[redacted]")


def _read_capped(response: requests.Response) -> bytes:
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise MastodonError(Outcome.RETRY, f"reply over {MAX_RESPONSE_BYTES} bytes", response.status_code)
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise MastodonError(Outcome.RETRY, f"reply broken off: {_root_cause(exc)}", response.status_code) from None
    return b"".join(chunks)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None


def _error_text(body: Any) -> str:
    message = body.get("error") if isinstance(body, dict) else None
    return _CONTROL.sub(" ", str(message))[:200] if message else ""


def _classify(response: requests.Response, body: Any, where: str, scope: str) -> MastodonError:
    code = response.status_code
    error = _error_text(body)
    said = f": {error}" if error else ""
    if code == 401:
        return MastodonError(Outcome.PERMANENT, f"{where}: HTTP 401, the instance rejected NETWORK_TOKEN{said}", code)
    if code == 403:
        return MastodonError(Outcome.PERMANENT,
                             f"{where}: HTTP 403, the token lacks the scope {scope} (or its account lacks the "
                             f"admin permission){said}", code)
    if code == 404:
        missing = error == RECORD_NOT_FOUND
        text = "record not found" if missing else "no such route on this server"
        return MastodonError(Outcome.PERMANENT, f"{where}: HTTP 404, {text}", code,
                             record_missing=missing, route_missing=not missing)
    if code == 405:
        return MastodonError(Outcome.PERMANENT, f"{where}: HTTP 405, not offered by this server", code,
                             route_missing=True)
    if code == 422:
        return MastodonError(Outcome.PERMANENT,
                             f"{where}: HTTP 422, the instance refused it{said or ': Record invalid'}",
                             code)
    if code == 429:
        wait = rate_limit_wait(response.headers)
        return MastodonError(Outcome.RETRY, f"{where}: HTTP 429, rate limited; retry in {wait:.0f}s", code,
                             retry_after=wait)
    if code == 408 or code >= 500:
        return MastodonError(Outcome.RETRY, f"{where}: HTTP {code}{said}", code)
    if 300 <= code < 400:
        return MastodonError(Outcome.PERMANENT,
                             f"{where}: HTTP {code} redirect (not followed; check NETWORK_URL)", code)
    return MastodonError(Outcome.PERMANENT, f"{where}: HTTP {code}{said}", code)


def rate_limit_wait(headers: Mapping[str, str], now: float | None = None) -> float:
    """Seconds until ``X-RateLimit-Reset`` (ISO 8601, as Mastodon sends it, or epoch seconds)."""
    current = time.time() if now is None else now
    value = (headers.get("X-RateLimit-Reset") or "").strip()
    reset: float | None = None
    if value:
        try:
            reset = float(value)
            if not math.isfinite(reset):
                reset = None
        except ValueError:
            try:
                reset = datetime.fromisoformat(value).timestamp()
            except ValueError:
                reset = None
    if reset is None:
        retry_after = (headers.get("Retry-After") or "").strip()
        return min(float(retry_after), MAX_RETRY_AFTER) if retry_after.isdigit() else 60.0
    return min(max(reset - current, 1.0), MAX_RETRY_AFTER)
