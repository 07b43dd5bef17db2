"""What every signed endpoint shares: checking X-Jury-Signature against this request, and decoding
its JSON so that no body, however nested, gets past a 400."""
from __future__ import annotations

import json
from collections.abc import Collection

from flask import request

from network.signing import SIGNATURE_HEADER, verify

# Far deeper than any real payload; shallow enough that storing or re-encoding never recurses out.
MAX_JSON_DEPTH = 64


class BadJson(ValueError):
    """The body is not JSON this endpoint can take; the message says why."""


def request_path() -> str:
    """The path a v2 signature covers: the percent-decoded URL path the client asked for, no query."""
    return request.script_root + request.path


def verify_request(secret: str, body: bytes, schemes: Collection[str]) -> int:
    """Check this request's signature header with the accepted `schemes`; its timestamp, or SignatureError."""
    return verify(secret, body, request.headers.get(SIGNATURE_HEADER), method=request.method,
                  path=request_path(), schemes=schemes)


def load_json(raw: bytes, max_depth: int | None = None) -> object:
    """Decode UTF-8 JSON; BadJson if it is not, or is nested deeper than `max_depth` (when given)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise BadJson("body is nested too deeply") from None
    except (UnicodeDecodeError, ValueError):
        raise BadJson("body is not valid UTF-8 JSON") from None
    if max_depth is not None and nesting_depth(data, max_depth) > max_depth:
        raise BadJson(f"body is nested too deeply (over {max_depth} levels)")
    return data


def nesting_depth(value: object, stop_after: int) -> int:
    """How deeply lists and objects nest in `value`, counted without recursion up to `stop_after` + 1."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > stop_after:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest
