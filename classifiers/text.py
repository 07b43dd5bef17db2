"""Turning whatever users post into text a scorer can safely consume."""

from __future__ import annotations

import functools
import re
import unicodedata

DEFAULT_MAX_CHARS = 10_000

# Control, format (zero-width, bidi overrides, soft hyphen...), surrogate and
# private-use characters carry no meaning for scoring but are used to dodge
# word matching ("i\u200bdiot") or break encoders downstream.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
# Planes 0, 1 and 14 hold every assigned Cc/Cf/Cs character; the rest of the
# private-use planes are covered wholesale below.
_SCANNED_RANGES = ((0x0000, 0x20000), (0xE0000, 0xE1000))
_PRIVATE_PLANES = "\U000f0000-\U0010ffff"


@functools.cache
def _dropped_pattern() -> re.Pattern[str]:
    """Build (once) a regex matching every character prepare_text removes."""
    spans: list[tuple[int, int]] = []
    for start, stop in _SCANNED_RANGES:
        for code in range(start, stop):
            char = chr(code)
            if unicodedata.category(char) in _DROPPED_CATEGORIES and not char.isspace():
                if spans and spans[-1][1] == code - 1:
                    spans[-1] = (spans[-1][0], code)
                else:
                    spans.append((code, code))
    parts = [re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in spans]
    return re.compile("[" + "".join(parts) + _PRIVATE_PLANES + "]+")


def _to_str(text: object, raw_cap: int) -> tuple[str, bool]:
    """Coerce any input to str, keeping at most raw_cap characters."""
    if text is None:
        return "", False
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        # UTF-8 needs at most 4 bytes per character.
        cut = len(data) > raw_cap * 4
        text = data[: raw_cap * 4].decode("utf-8", errors="replace")
    else:
        cut = False
        if not isinstance(text, str):
            try:
                text = str(text)
            except Exception:
                return "", False
    return text[:raw_cap], cut or len(text) > raw_cap


def prepare_text(text: object, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, bool]:
    """Normalise any input (None, bytes, junk, huge posts) to clean text; also say whether it was truncated."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    # Cap the raw input first so the cost of a pathological post stays bounded;
    # the margin absorbs characters that cleaning will remove.
    raw, truncated = _to_str(text, raw_cap=max_chars * 4 + 64)
    # NFKC folds look-alikes (fullwidth letters, ligatures) onto plain text.
    cleaned = unicodedata.normalize("NFKC", raw)
    cleaned = _dropped_pattern().sub("", cleaned).replace("\ufffd", " ")
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > max_chars:
        cleaned, truncated = cleaned[:max_chars].rstrip(), True
    return cleaned, truncated
