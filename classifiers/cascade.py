"""The cascade: a cheap model scores every post, a strong one re-scores the posts where it matters.

The encoder model ranks better but scores about 150 posts/s on two CPU cores, against thousands for
the TF-IDF model. Re-scored are the posts someone reported (a jury will look at them anyway) and
those whose cheap score lies in the policy's uncertain band (`cascade_band`: low <= highest label
score < high), where a better ranking can change what the thresholds do. Each result says which
model made it, so stored scores name their model (a re-scored post keeps the cheap score of any
label the strong model does not produce).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

DEFAULT_BAND = (0.3, 0.9)


def check_band(band: Sequence[float]) -> tuple[float, float]:
    """(low, high) with 0 <= low <= high <= 1, or a ValueError saying what is wrong."""
    try:
        low, high = (float(v) for v in band)
    except (TypeError, ValueError):
        raise ValueError(f"the cascade band must be two numbers (low, high), got {band!r}") from None
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"the cascade band needs 0 <= low <= high <= 1, got ({low}, {high})")
    return low, high


class CascadeScorer:
    """Cheap scores for every text; the strong model's for reported texts and those in the uncertain band."""

    def __init__(self, cheap: Any, strong: Any, band: Sequence[float] = DEFAULT_BAND):
        self.cheap, self.strong = cheap, strong
        self.band = check_band(band)
        self.name = "cascade"
        ids = f"{cheap.name}:{cheap.version}|{strong.name}:{strong.version}"
        self.version = hashlib.sha256(ids.encode()).hexdigest()[:12]
        self.labels = tuple(dict.fromkeys([*cheap.labels, *strong.labels]))

    def needs_strong(self, cheap_scores: dict[str, float], forced: bool, band: tuple[float, float]) -> bool:
        """Whether a text goes on to the strong model."""
        top = max(cheap_scores.values(), default=0.0)
        return forced or band[0] <= top < band[1]

    def score_routed(self, texts: Sequence[str], force: Sequence[bool] | None = None,
                     band: Sequence[float] | None = None) -> list[tuple[dict[str, float], Any]]:
        """(scores, the model that made them) per text; force marks texts that always go to the strong model."""
        texts = list(texts)
        force = [False] * len(texts) if force is None else list(force)
        if len(force) != len(texts):
            raise ValueError("force needs one flag per text")
        band = self.band if band is None else check_band(band)
        results: list[tuple[dict[str, float], Any]] = [(s, self.cheap) for s in self.cheap.score(texts)]
        again = [i for i, (scores, _) in enumerate(results) if self.needs_strong(scores, force[i], band)]
        if again:
            for i, scores in zip(again, self.strong.score([texts[i] for i in again]), strict=True):
                # A label the strong model lacks (one trained on toxicity alone) keeps its cheap score,
                # so no threshold goes blind on the posts that matter most.
                results[i] = ({**results[i][0], **scores}, self.strong)
        return results

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """The scores alone, routed by the band only (no text counts as reported)."""
        return [scores for scores, _ in self.score_routed(texts)]
