"""What every signed endpoint shares: checking X-Jury-Signature against this request, and decoding
its JSON so that no body, however nested, gets past a 400."""
from __future__ import annotations

import json
from collections.abc import Collection

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from network.signing import SIGNATURE_HEADER, verify

# Far deeper than any real payload; shallow enough that storing or re-encoding never recurses out.
MAX_JSON_DEPTH = 64


class BadJson(ValueError):
    """The body is not JSON this endpoint can take; the message says why."""


def read_body(cap: int) -> bytes:
    """The raw body, or RequestEntityTooLarge as soon as it is over `cap` bytes, before anything reads it.

    A declared Content-Length over the cap is refused unread. A chunked body has no length, and
    Werkzeug hands such a stream over without its limit, so it is read here and cut off one byte
    past the cap: a huge chunked upload never reaches memory, let alone the signature check.
    """
    request.max_content_length = cap
    if request.content_length is not None:
        return request.get_data(cache=True)
    pieces, size = [], 0
    while True:
        piece = request.stream.read(min(64 * 1024, cap + 1 - size))
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        size += len(piece)
        if size > cap:
            raise RequestEntityTooLarge()


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
