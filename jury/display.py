"""Make characters that change how text looks, without being seen, visible in the UI.

Posts are written by attackers. A right-to-left override (U+202E) can make "gnp.exe" read as
"exe.png" and reverse the words around it; zero-width characters hide inside words to slip past
filters or to make two names look alike. Jurors must see what was really sent, so these
characters are shown as a visible "[U+202E]" marker. Joiners that scripts and emoji need
(U+200C, U+200D) and the plain direction marks (U+200E, U+200F) are left alone.
"""
from __future__ import annotations

import re

# Bidi embeddings, overrides and isolates; zero-width space, word joiner, invisible operators,
# Mongolian vowel separator, byte-order mark, and the interlinear annotation controls.
HIDDEN_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060-\u2064\u180e\ufeff\ufff9-\ufffb]")


def reveal_hidden_controls(text: str) -> str:
    """Replace each invisible formatting control with a visible [U+XXXX] marker."""
    if not HIDDEN_CONTROLS.search(text):
        return text
    return HIDDEN_CONTROLS.sub(lambda match: f"[U+{ord(match.group()):04X}]", text)
