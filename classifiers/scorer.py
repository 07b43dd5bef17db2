"""The contract every toxicity scorer in Jury fulfils."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
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


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (model files can be hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
