"""The presets `flask classifiers train --preset` offers, and how each one trains a model."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .encoder_model import DEFAULT_PARAMS, ENCODER_DIR, EmbeddingCache, EncoderScorer, load_encoder
from .evaluation import PARAM_PRESETS
from .scorer import Scorer, ScorerError
from .sklearn_model import SklearnScorer
from .tfidf_training import merge_params as _merge_params

ENCODER_PRESET = "encoder"
PRESET_NAMES: tuple[str, ...] = (*PARAM_PRESETS, ENCODER_PRESET)


@dataclass(frozen=True)
class Recipe:
    """How to train one preset: its parameters, its default name, where it is saved and the training call."""

    preset: str
    params: dict[str, Any]
    name: str
    folder: str  # inside the model directory: "" for TF-IDF models, "encoder" for encoder models
    train: Callable[[Sequence[str], Sequence[Mapping[str, int]]], Scorer]


def recipe(preset: str, overrides: Mapping[str, Any], labels: Sequence[str], name: str | None = None,
           encoder: str | None = None) -> Recipe:
    """The recipe of a preset with parameter overrides; encoder (a folder or hub name) only for the encoder preset."""
    if preset not in PRESET_NAMES:
        raise ScorerError(f"unknown preset {preset!r}; available: {', '.join(PRESET_NAMES)}")
    labels = tuple(labels)
    if preset != ENCODER_PRESET:
        if encoder is not None:
            raise ScorerError("an encoder applies only to the encoder preset")
        params = {**PARAM_PRESETS[preset], **overrides}
        _merge_params(params)  # a bad parameter is an error before any training
        model_name = name or "sklearn-tfidf"
        return Recipe(preset, params, model_name, "", lambda texts, rows: SklearnScorer.train(
            texts, rows, name=model_name, labels=labels, params=params))
    if not encoder:
        raise ScorerError("the encoder preset needs an encoder: a local sentence-transformers folder or a hub name")
    unknown = sorted(set(overrides) - set(DEFAULT_PARAMS))
    if unknown:
        raise ScorerError(f"unknown encoder parameter(s) {unknown}; known: {sorted(DEFAULT_PARAMS)}")
    # A folder is read offline; a name may be downloaded where the network allows it.
    cache = EmbeddingCache(load_encoder(encoder, offline=Path(encoder).is_dir()), source=encoder)
    params = dict(overrides)
    model_name = name or "encoder-tfidf"
    return Recipe(preset, params, model_name, ENCODER_DIR, lambda texts, rows: EncoderScorer.train(
        texts, rows, encoder=cache, name=model_name, labels=labels, params=params, source=encoder))
