"""The contract every toxicity scorer in Jury fulfils."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

# Same names as detoxify's outputs, so scorers stay interchangeable.
LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
)


class ScorerError(Exception):
    """A scorer cannot be built or loaded: bad config, missing or unusable model files."""


class ModelNotFoundError(ScorerError):
    """No model exists where one was expected."""


@runtime_checkable
class Scorer(Protocol):
    """Anything that turns texts into per-label probabilities."""

    name: str
    version: str
    labels: tuple[str, ...]

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return one {label: probability in [0, 1]} dict per text, with every label present."""
        ...
