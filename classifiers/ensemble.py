"""The ensemble: detoxify and the site's own model combined, non-English posts routed to a multilingual model."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from .language import detect_language

# The site model knows this network's norms; detoxify knows toxicity in general.
DEFAULT_WEIGHTS = {"site": 0.5, "detoxify": 0.5}


class EnsembleScorer:
    """Weighted mean of member scorers per label; texts not in English go to the multilingual member."""

    def __init__(self, site: Any, detoxify: Any, multilingual: Any | None = None,
                 weights: dict[str, float] | None = None):
        self.site, self.detoxify, self.multilingual = site, detoxify, multilingual
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        members = [site, detoxify] + ([multilingual] if multilingual is not None else [])
        self.name = "ensemble"
        ids = "|".join(f"{m.name}:{m.version}" for m in members) + repr(sorted(self.weights.items()))
        self.version = hashlib.sha256(ids.encode()).hexdigest()[:12]
        self.labels = tuple(dict.fromkeys(label for m in members for label in m.labels))

    def _route(self, texts: Sequence[str]) -> list[bool]:
        """True for texts the multilingual model should score (detected and not English)."""
        if self.multilingual is None:
            return [False] * len(texts)
        return [(lang is not None and lang != "en") for lang in map(detect_language, texts)]

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per text, the weighted mean of the site model and the (English or multilingual) detoxify model."""
        texts = list(texts)
        site_scores = self.site.score(texts)
        foreign = self._route(texts)
        general: list[dict[str, float] | None] = [None] * len(texts)
        english_idx = [i for i, f in enumerate(foreign) if not f]
        foreign_idx = [i for i, f in enumerate(foreign) if f]
        for member, indexes in ((self.detoxify, english_idx), (self.multilingual, foreign_idx)):
            if indexes:
                for i, scores in zip(indexes, member.score([texts[i] for i in indexes]), strict=True):
                    general[i] = scores
        out = []
        for site, other in zip(site_scores, general, strict=True):
            combined = {}
            for label in self.labels:
                parts = [(self.weights["site"], site.get(label)), (self.weights["detoxify"], (other or {}).get(label))]
                present = [(w, v) for w, v in parts if v is not None]
                total = sum(w for w, _ in present)
                combined[label] = sum(w * float(v) for w, v in present) / total if total else 0.0
            out.append(combined)
        return out
