"""Stripe-style HMAC signatures for requests between Jury and a network.

Header format: ``X-Jury-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``
where each ``v1`` is HMAC-SHA256 over ``b"<t>." + raw_body``. Several ``v1``
entries are allowed so a secret can be rotated without downtime.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

SIGNATURE_HEADER = "X-Jury-Signature"
TOLERANCE_SECONDS = 300
SCHEME = "v1"

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class SignatureError(Exception):
    """A signature header is missing, malformed, stale or does not match."""


def _check_secret(secret: str) -> bytes:
    # An empty key makes the HMAC computable by anyone, so it must never count as configured.
    if not isinstance(secret, str) or not secret:
        raise SignatureError("signing secret is empty or not configured")
    return secret.encode("utf-8")


def _digest(key: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(key, b"%d." % timestamp + bytes(body), hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Return the ``X-Jury-Signature`` header value for ``body`` signed with ``secret``."""
    key = _check_secret(secret)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        # Signing a str would invite re-encoding on one side and a mismatch on the other.
        raise TypeError("body must be the raw request bytes")
    if timestamp is None:
        timestamp = int(time.time())
    return f"t={int(timestamp)},{SCHEME}={_digest(key, int(timestamp), body)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header: expected comma-separated key=value pairs")
        if name == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise SignatureError("malformed signature header: need exactly one numeric t= timestamp")
            timestamp = int(value)
        elif name == SCHEME:
            value = value.lower()
            if not _HEX_DIGEST.fullmatch(value):
                raise SignatureError("malformed signature header: v1= must be a 64-character hex digest")
            candidates.append(value)
        # Unknown schemes are ignored so a future scheme can be added alongside v1.
    if timestamp is None:
        raise SignatureError("malformed signature header: missing t= timestamp")
    if not candidates:
        raise SignatureError("malformed signature header: missing v1= signature")
    return timestamp, candidates


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a signature header against ``body`` and return its timestamp, or raise SignatureError."""
    key = _check_secret(secret)
    if header is None or not header.strip():
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp, candidates = _parse(header)

    expected = _digest(key, timestamp, body)
    # Compare against every entry without stopping early so timing reveals nothing.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("signature does not match the request body")

    current = time.time() if now is None else now
    age = current - timestamp
    if age > tolerance:
        raise SignatureError(f"signature timestamp is too old ({int(age)}s, tolerance {int(tolerance)}s)")
    if -age > tolerance:
        raise SignatureError(f"signature timestamp is in the future ({int(-age)}s ahead, tolerance {int(tolerance)}s)")
    return timestamp
