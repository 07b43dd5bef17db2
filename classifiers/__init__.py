"""Toxicity scorers: a shared interface and a scikit-learn implementation with a default model."""

from __future__ import annotations

import os
from pathlib import Path

from .base import LABELS, ModelNotFoundError, Scorer, ScorerError
from .sklearn_model import CURRENT_FILE, SklearnScorer
from .text import prepare_text

__all__ = [
    "LABELS",
    "ModelNotFoundError",
    "Scorer",
    "ScorerError",
    "SklearnScorer",
    "ensure_default_model",
    "load_raw_scorer",
    "load_scorer",
    "prepare_text",
]

DEFAULT_MODEL_NAME = "sklearn-seed"
# Kinds that are planned but not shipped yet get a clearer error than a typo does.
_KINDS = ("sklearn", "detoxify", "ensemble")
# The ensemble's model for posts not in English: a second detoxify folder (e.g. the multilingual model).
MULTILINGUAL_DIR = "detoxify-multilingual"


def ensure_default_model(model_dir: str | os.PathLike[str]) -> SklearnScorer:
    """Load model_dir's current model, first training and saving one on the seed corpus if there is none."""
    root = Path(model_dir)
    # Only a directory with no CURRENT at all is bootstrapped: a CURRENT that
    # points at a broken model is an operator problem and must surface.
    if not (root / CURRENT_FILE).exists():
        from .seed_corpus import seed_corpus

        texts, rows = seed_corpus()
        SklearnScorer.train(texts, rows, name=DEFAULT_MODEL_NAME).save(root)
    return SklearnScorer.load(root)


def load_raw_scorer(kind: str, model_dir: str | os.PathLike[str]) -> Scorer:
    """The scorer of the given kind, without calibration (what a calibration is fitted on)."""
    normalised = kind.strip().lower() if isinstance(kind, str) else kind
    if normalised == "sklearn":
        return ensure_default_model(model_dir)
    if normalised in ("detoxify", "ensemble"):
        # Imported here: torch and transformers take seconds to import and only these kinds need them.
        from .detoxify_model import load_detoxify

        detoxify = load_detoxify(model_dir)
        if normalised == "detoxify":
            return detoxify
        from .ensemble import EnsembleScorer

        multilingual = None
        if (Path(model_dir) / MULTILINGUAL_DIR).is_dir():
            multilingual = load_detoxify(model_dir, folder_name=MULTILINGUAL_DIR)
        return EnsembleScorer(ensure_default_model(model_dir), detoxify, multilingual)
    raise ScorerError(f"unknown scorer kind {kind!r}; available: {', '.join(_KINDS)}")


def load_scorer(kind: str, model_dir: str | os.PathLike[str]) -> Scorer:
    """Return the scorer of the given kind, backed by models in model_dir, calibrated when a calibration fits it."""
    from .calibration import with_calibration

    return with_calibration(load_raw_scorer(kind, model_dir), model_dir)
