"""Language identification for posts whose network did not say (py3langid, offline, ~0.03 ms a post)."""
from __future__ import annotations

import functools

from classifiers.text import prepare_text

# Below this probability, or with fewer letters than this, "unknown" is the honest answer.
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 3
_UNKNOWN_CODES = {"zxx"}  # py3langid's "no linguistic content"


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: object) -> str | None:
    """ISO 639-1 code of the text's language, or None when too short or too unsure to say."""
    cleaned, _ = prepare_text(text)
    if sum(ch.isalpha() for ch in cleaned) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(cleaned)
    if confidence < MIN_CONFIDENCE or code in _UNKNOWN_CODES:
        return None
    return code
