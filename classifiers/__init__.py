"""Toxicity scorers: a shared interface and a scikit-learn implementation with a default model."""

from __future__ import annotations

import os
from pathlib import Path

from .calibration import with_calibration
from .cascade import DEFAULT_BAND, CascadeScorer
from .encoder_model import ENCODER_DIR, EncoderScorer
from .ensemble import EnsembleScorer
from .model_files import CURRENT_FILE
from .scorer import LABELS, ModelNotFoundError, Scorer, ScorerError
from .seed_corpus import seed_corpus
from .sklearn_model import SklearnScorer
from .text import prepare_text

__all__ = [
    "LABELS",
    "ModelNotFoundError",
    "Scorer",
    "ScorerError",
    "SklearnScorer",
    "ensure_default_model",
    "load_cascade",
    "load_encoder_scorer",
    "load_raw_scorer",
    "load_scorer",
    "prepare_text",
]

DEFAULT_MODEL_NAME = "sklearn-seed"
# Kinds that are planned but not shipped yet get a clearer error than a typo does.
_KINDS = ("sklearn", "encoder", "cascade", "detoxify", "ensemble")
# The ensemble's model for posts not in English: a second detoxify folder (e.g. the multilingual model).
MULTILINGUAL_DIR = "detoxify-multilingual"


def ensure_default_model(model_dir: str | os.PathLike[str]) -> SklearnScorer:
    """Load model_dir's current model, first training and saving one on the seed corpus if there is none."""
    root = Path(model_dir)
    # Only a directory with no CURRENT at all is bootstrapped: a CURRENT that
    # points at a broken model is an operator problem and must surface.
    if not (root / CURRENT_FILE).exists():
        texts, rows = seed_corpus()
        SklearnScorer.train(texts, rows, name=DEFAULT_MODEL_NAME).save(root)
    return SklearnScorer.load(root)


def load_raw_scorer(kind: str, model_dir: str | os.PathLike[str]) -> Scorer:
    """The scorer of the given kind, without calibration (what a calibration is fitted on)."""
    normalised = kind.strip().lower() if isinstance(kind, str) else kind
    if normalised == "sklearn":
        return ensure_default_model(model_dir)
    if normalised == "encoder":
        return load_encoder_scorer(model_dir)
    if normalised == "cascade":
        return load_cascade(model_dir)
    if normalised in ("detoxify", "ensemble"):
        # Imported here: torch and transformers take seconds to import and only these kinds need them.
        from .detoxify_model import load_detoxify

        detoxify = load_detoxify(model_dir)
        if normalised == "detoxify":
            return detoxify
        multilingual = None
        if (Path(model_dir) / MULTILINGUAL_DIR).is_dir():
            multilingual = load_detoxify(model_dir, folder_name=MULTILINGUAL_DIR)
        # The site's own model: the encoder model where one was trained, else the TF-IDF one.
        site = load_encoder_scorer(model_dir) if has_encoder_model(model_dir) else ensure_default_model(model_dir)
        return EnsembleScorer(site, detoxify, multilingual)
    raise ScorerError(f"unknown scorer kind {kind!r}; available: {', '.join(_KINDS)}")


def has_encoder_model(model_dir: str | os.PathLike[str]) -> bool:
    """Whether model_dir holds an encoder model (its encoder/ folder names a current version)."""
    return (Path(model_dir) / ENCODER_DIR / CURRENT_FILE).is_file()


def load_encoder_scorer(model_dir: str | os.PathLike[str]) -> Scorer:
    """The encoder model in model_dir/encoder, read offline from there (sentence-transformers loads on demand)."""
    return EncoderScorer.load(Path(model_dir) / ENCODER_DIR)


def load_cascade(model_dir: str | os.PathLike[str], band: tuple[float, float] | None = None) -> Scorer:
    """The TF-IDF model re-scored by the encoder model where it matters (classifiers.cascade)."""
    return CascadeScorer(ensure_default_model(model_dir), load_encoder_scorer(model_dir), band or DEFAULT_BAND)


def load_scorer(kind: str, model_dir: str | os.PathLike[str]) -> Scorer:
    """Return the scorer of the given kind, backed by models in model_dir, calibrated when a calibration fits it."""
    scorer = load_raw_scorer(kind, model_dir)
    if getattr(scorer, "name", None) == "cascade":
        # Its members' scores are calibrated when trained; a wrapper would hide its routing.
        return scorer
    return with_calibration(scorer, model_dir)
