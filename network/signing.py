"""Stripe-style HMAC signatures for requests between Jury and a network.

Header format: ``X-Jury-Signature: t=<unix seconds>,v1=<hex>,v2=<hex>`` (each scheme may appear
several times, so a secret can be rotated without downtime; schemes a receiver does not know are
ignored). Two schemes exist:

``v1`` (the original): HMAC-SHA256 keyed with the secret over ``b"<t>." + raw_body``. It covers the
body only, so a body signed for one endpoint verifies at any other that shares the secret.

``v2`` (domain-separated): HMAC-SHA256 keyed with ``HMAC-SHA256(secret, b"jury-signature-v2")``
over ``b"<t>\\n<METHOD>\\n<path>\\n" + raw_body``. The method is upper case; the path is the
request's percent-decoded URL path, UTF-8, without query string (``/api/v1/posts``). Because its
key is derived and never used for v1, no v2 signature can ever equal a v1 signature of some other
message, and because it covers the method and path, a v2 signature made for one endpoint or
purpose does not verify at another. A receiver chooses which schemes it accepts: Jury's intake and
the sandbox's action receiver take v1 or v2, the sandbox's follow-links lookup takes v2 only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Collection

SIGNATURE_HEADER = "X-Jury-Signature"
TOLERANCE_SECONDS = 300
SCHEME = "v1"
SCHEME_V2 = "v2"
SCHEMES = (SCHEME, SCHEME_V2)
# The v2 key is HMAC(secret, this label): a key of its own, so v1 and v2 MACs never coincide.
V2_KEY_LABEL = b"jury-signature-v2"

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_METHOD = re.compile(r"[A-Z]+")
# Control characters would make "<t>\n<METHOD>\n<path>\n<body>" ambiguous, and no real path has one.
_PATH = re.compile(r"/[^\x00-\x1f\x7f]*")


class SignatureError(Exception):
    """A signature header is missing, malformed, stale or does not match."""


def _check_secret(secret: str) -> bytes:
    # An empty key makes the HMAC computable by anyone, so it must never count as configured.
    if not isinstance(secret, str) or not secret:
        raise SignatureError("signing secret is empty or not configured")
    return secret.encode("utf-8")


def _check_body(body: bytes) -> None:
    if not isinstance(body, (bytes, bytearray, memoryview)):
        # Signing a str would invite re-encoding on one side and a mismatch on the other.
        raise TypeError("body must be the raw request bytes")


def _digest(key: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(key, b"%d." % timestamp + bytes(body), hashlib.sha256).hexdigest()


def _v2_key(key: bytes) -> bytes:
    return hmac.new(key, V2_KEY_LABEL, hashlib.sha256).digest()


def _v2_digest(key: bytes, timestamp: int, method: str, path: str, body: bytes) -> str:
    """HMAC-SHA256 with the derived v2 key over "<t>\\n<METHOD>\\n<path>\\n<body>"."""
    method = method.upper() if isinstance(method, str) else ""
    if not _METHOD.fullmatch(method):
        raise SignatureError("v2 needs an HTTP method made of letters")
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise SignatureError("v2 needs a path that starts with / and has no control characters")
    head = b"%d\n%s\n%s\n" % (timestamp, method.encode("ascii"), path.encode("utf-8", "surrogatepass"))
    return hmac.new(_v2_key(key), head + bytes(body), hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Return a v1-only ``X-Jury-Signature`` header value for ``body`` signed with ``secret``."""
    key = _check_secret(secret)
    _check_body(body)
    if timestamp is None:
        timestamp = int(time.time())
    return f"t={int(timestamp)},{SCHEME}={_digest(key, int(timestamp), body)}"


def sign_v2(secret: str, method: str, path: str, body: bytes, timestamp: int | None = None,
            *, with_v1: bool = False) -> str:
    """Return a header with a v2 signature bound to ``method`` and ``path`` (and a v1 one beside it
    when ``with_v1``, for receivers that know only v1)."""
    key = _check_secret(secret)
    _check_body(body)
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    v2 = _v2_digest(key, timestamp, method, path, body)
    v1 = f"{SCHEME}={_digest(key, timestamp, body)}," if with_v1 else ""
    return f"t={timestamp},{v1}{SCHEME_V2}={v2}"


def _parse(header: str, schemes: Collection[str]) -> tuple[int, dict[str, list[str]]]:
    timestamp: int | None = None
    candidates: dict[str, list[str]] = {scheme: [] for scheme in schemes}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header: expected comma-separated key=value pairs")
        if name == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise SignatureError("malformed signature header: need exactly one numeric t= timestamp")
            timestamp = int(value)
        elif name in candidates:
            value = value.lower()
            if not _HEX_DIGEST.fullmatch(value):
                raise SignatureError(f"malformed signature header: {name}= must be a 64-character hex digest")
            candidates[name].append(value)
        # Other schemes are ignored so a new scheme can be sent alongside the ones a receiver knows.
    if timestamp is None:
        raise SignatureError("malformed signature header: missing t= timestamp")
    if not any(candidates.values()):
        wanted = " or ".join(f"{scheme}=" for scheme in schemes)
        raise SignatureError(f"malformed signature header: missing {wanted} signature")
    return timestamp, candidates


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    method: str | None = None,
    path: str | None = None,
    schemes: Collection[str] = (SCHEME,),
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a signature header against ``body`` and return its timestamp, or raise SignatureError.

    ``schemes`` are those this receiver accepts (v1 only by default); any one matching entry of an
    accepted scheme is enough. Accepting v2 needs the request's ``method`` and ``path``.
    """
    unknown = set(schemes) - set(SCHEMES)
    if unknown or not schemes:
        raise ValueError(f"schemes must be some of {SCHEMES}, got {sorted(schemes)}")
    if SCHEME_V2 in schemes and (method is None or path is None):
        raise ValueError("verifying v2 needs the request's method and path")
    key = _check_secret(secret)
    if header is None or not header.strip():
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp, candidates = _parse(header, schemes)

    expected = {SCHEME: lambda: _digest(key, timestamp, body),
                SCHEME_V2: lambda: _v2_digest(key, timestamp, method, path, body)}
    # Compare against every entry without stopping early so timing reveals nothing.
    matched = False
    for scheme, entries in candidates.items():
        if entries:
            digest = expected[scheme]()
            for candidate in entries:
                matched |= hmac.compare_digest(digest, candidate)
    if not matched:
        covered = "method, path and body" if SCHEME_V2 in schemes else "body"
        raise SignatureError(f"signature does not match the request {covered}")

    current = time.time() if now is None else now
    age = current - timestamp
    if age > tolerance:
        raise SignatureError(f"signature timestamp is too old ({int(age)}s, tolerance {int(tolerance)}s)")
    if -age > tolerance:
        raise SignatureError(f"signature timestamp is in the future ({int(-age)}s ahead, tolerance {int(tolerance)}s)")
    return timestamp
