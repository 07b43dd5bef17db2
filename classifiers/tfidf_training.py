"""What training the TF-IDF model takes: its parameters, the label columns, the features, and the
version a training gets (a digest of its parameters and data, so the same training gets the same one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from .heads import DEFAULT_CALIBRATION_FOLDS
from .model_files import FORMAT
from .scorer import ScorerError
from .text import DEFAULT_MAX_CHARS

# The feature caps keep a saved model to a few MB whatever the corpus size.
DEFAULT_PARAMS: dict[str, Any] = {
    "word_ngram_range": [1, 2],
    "word_max_features": 20_000,
    "char_ngram_range": [2, 5],
    "char_max_features": 40_000,
    "min_df": 1,
    "C": 4.0,
    "max_iter": 1_000,
    "max_chars": DEFAULT_MAX_CHARS,
    # Folds of the cross-fitted calibration of each head (classifiers.heads); 0 keeps raw scores.
    "calibration_folds": DEFAULT_CALIBRATION_FOLDS,
}

# Accepted by train() but stored only when they differ from these defaults, so
# models trained without them keep their version. strip_accents: "unicode",
# "ascii" or None (keep accents, better for French). nb_weighting: scale the
# features by each label's naive-Bayes log-count ratio before its regression
# (NB-LR, Wang & Manning 2012).
OPTIONAL_PARAMS: dict[str, Any] = {
    "strip_accents": "unicode",
    "nb_weighting": False,
}


def check_labels(labels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(labels, str) or not labels:
        raise ScorerError("labels must be a non-empty sequence of label names")
    labels = tuple(labels)
    if len(set(labels)) != len(labels) or not all(isinstance(x, str) and x for x in labels):
        raise ScorerError(f"labels must be distinct non-empty strings, got {labels!r}")
    return labels


def merge_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    known = set(DEFAULT_PARAMS) | set(OPTIONAL_PARAMS)
    unknown = sorted(set(params or {}) - known)
    if unknown:
        raise ScorerError(f"unknown parameter(s) {unknown}; known: {sorted(known)}")
    given = dict(params or {})
    if given.get("strip_accents", "unicode") not in ("unicode", "ascii", None):
        raise ScorerError(f"strip_accents must be 'unicode', 'ascii' or None, got {given['strip_accents']!r}")
    if not isinstance(given.get("nb_weighting", False), bool):
        raise ScorerError(f"nb_weighting must be true or false, got {given['nb_weighting']!r}")
    chars = given.get("char_max_features", DEFAULT_PARAMS["char_max_features"])
    if isinstance(chars, bool) or not isinstance(chars, int) or chars < 0:
        raise ScorerError(f"char_max_features must be 0 (no char n-grams) or a positive count, got {chars!r}")
    folds = given.get("calibration_folds", DEFAULT_CALIBRATION_FOLDS)
    if isinstance(folds, bool) or not isinstance(folds, int) or not (folds == 0 or 2 <= folds <= 20):
        raise ScorerError(f"calibration_folds must be 0 (no calibration) or 2 to 20, got {folds!r}")
    for name, default in OPTIONAL_PARAMS.items():
        if name in given and given[name] == default:
            del given[name]
    # The JSON round trip makes tuples and lists hash (and store) identically.
    return json.loads(json.dumps({**DEFAULT_PARAMS, **given}, sort_keys=True))


def label_column(rows: Sequence[Mapping[str, int]], label: str) -> np.ndarray:
    values = []
    for i, row in enumerate(rows):
        try:
            value = row[label]
        except (KeyError, TypeError):
            raise ValueError(f"label row {i} has no value for {label!r}") from None
        if value not in (0, 1):
            raise ValueError(f"label row {i}: {label!r} must be 0 or 1, got {value!r}")
        values.append(int(value))
    return np.asarray(values, dtype=np.int8)


def build_features(params: Mapping[str, Any]) -> FeatureUnion:
    """Word n-grams, and char n-grams unless char_max_features is 0 (they cost most of the scoring time)."""
    common = {
        "sublinear_tf": True,
        "min_df": params["min_df"],
        "strip_accents": params.get("strip_accents", OPTIONAL_PARAMS["strip_accents"]),
        "dtype": np.float32,
    }
    parts = [("word", TfidfVectorizer(analyzer="word", ngram_range=tuple(params["word_ngram_range"]),
                                      max_features=params["word_max_features"], **common))]
    if params["char_max_features"]:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(params["char_ngram_range"]),
                                              max_features=params["char_max_features"], **common)))
    return FeatureUnion(parts)


def data_digest(texts: Sequence[str], targets: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    labels = list(targets)
    for i, text in enumerate(texts):
        row = [text, [int(targets[label][i]) for label in labels]]
        digest.update(json.dumps(row, ensure_ascii=True).encode("ascii") + b"\n")
    return digest.hexdigest()


def version_for(name: str, labels: Sequence[str], params: Mapping[str, Any], data_sha256: str) -> str:
    spec = {"format": FORMAT, "name": name, "labels": list(labels), "params": params, "data": data_sha256}
    blob = json.dumps(spec, sort_keys=True, ensure_ascii=True).encode("ascii")
    return hashlib.sha256(blob).hexdigest()[:12]
