"""A TF-IDF + logistic-regression scorer, versioned and stored under a model directory.

Layout of a model directory::

    model_dir/
        CURRENT                 # the version in use, one line
        <version>/model.joblib  # features + one classifier per label
        <version>/metadata.json # provenance, params, metrics, checksum
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import joblib
import numpy as np
import sklearn
from scipy import sparse
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from .heads import fit_calibrated_head
from .model_files import (
    CURRENT_FILE,
    FORMAT,
    METADATA_FILE,
    MODEL_FILE,
    atomic_write,
    jsonable,
    publish_version,
    read_metadata,
    version_path,
)
from .scorer import LABELS, ModelNotFoundError, ScorerError, file_sha256
from .text import DEFAULT_MAX_CHARS, prepare_text
from .tfidf_training import (
    DEFAULT_PARAMS,
    build_features,
    check_labels,
    data_digest,
    label_column,
    merge_params,
    version_for,
)

# A label is either a fitted classifier or, when training saw a single class,
# the constant probability it predicts.
Head: TypeAlias = LogisticRegression | float


class SklearnScorer:
    """Toxicity scorer: shared TF-IDF word/char features, one logistic regression per label."""

    def __init__(
        self,
        *,
        name: str,
        version: str,
        labels: Sequence[str],
        features: FeatureUnion,
        heads: Mapping[str, Head],
        params: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> None:
        self.name = name
        self.version = version
        self.labels = tuple(labels)
        self.params = dict(params)
        self.metadata = dict(metadata)
        self._features = features
        self._heads = dict(heads)
        self._max_chars = int(self.params.get("max_chars", DEFAULT_MAX_CHARS))
        self._stacked: tuple[list, Any, Any] | None = None  # see _predict_all

    def __repr__(self) -> str:
        return f"SklearnScorer(name={self.name!r}, version={self.version!r})"

    # -- training -----------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        label_rows: Sequence[Mapping[str, int]],
        *,
        name: str = "sklearn-tfidf",
        labels: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> SklearnScorer:
        """Fit a scorer on texts and their 0/1 label rows (labels defaults to LABELS)."""
        labels = check_labels(LABELS if labels is None else labels)
        merged = merge_params(params)
        _check_corpus(texts, label_rows)
        cleaned = [prepare_text(t, merged["max_chars"])[0] for t in texts]
        targets = {label: label_column(label_rows, label) for label in labels}

        features = build_features(merged)
        try:
            matrix = features.fit_transform(cleaned)
        except ValueError as exc:
            raise ValueError(f"cannot extract features from the training texts: {exc}") from exc

        heads: dict[str, Head] = {}
        calibrated: dict[str, bool] = {}
        for label, y in targets.items():
            if np.unique(y).size == 1:
                heads[label], calibrated[label] = float(y[0]), False
            else:
                heads[label], calibrated[label] = fit_calibrated_head(matrix, y, merged)

        data_sha256 = data_digest(cleaned, targets)
        version = version_for(name, labels, merged, data_sha256)
        metadata = {
            "format": FORMAT,
            "name": name,
            "version": version,
            "labels": list(labels),
            "rows": len(cleaned),
            "positives": {label: int(y.sum()) for label, y in targets.items()},
            # Whether each label's probabilities were calibrated by cross-fitting (too few of a class: not).
            "calibrated": calibrated,
            "data_sha256": data_sha256,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "params": merged,
            "sklearn_version": sklearn.__version__,
        }
        return cls(name=name, version=version, labels=labels, features=features, heads=heads, params=merged,
                   metadata=metadata)

    # -- scoring ------------------------------------------------------------

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return one {label: probability} dict per text; odd or empty texts are scored, never rejected."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("score() takes a sequence of texts, not a single string")
        cleaned = [prepare_text(t, self._max_chars)[0] for t in texts]
        if not cleaned:
            return []
        matrix = self._transform(cleaned)
        columns = self._predict_all(matrix, len(cleaned))
        # Nothing left after cleaning means nothing to object to; without this
        # an empty post would get the bare intercept, which can be near 0.5.
        empty = np.fromiter((not text for text in cleaned), dtype=bool, count=len(cleaned))
        for column in columns.values():
            column[empty] = 0.0
        return [{label: float(columns[label][i]) for label in self.labels} for i in range(len(cleaned))]

    def _transform(self, cleaned: list[str]) -> Any:
        """The features, as FeatureUnion.transform gives them, without its per-call machinery.

        The union's joblib dispatch and output wrapping cost about 2.5 ms a call, a third of
        scoring a 20-post batch; stacking its two vectorisers' outputs is the same matrix.
        """
        union = self._features
        parts = union.transformer_list
        if union.transformer_weights or any(isinstance(step, str) for _, step in parts):
            return union.transform(cleaned)
        return sparse.hstack([step.transform(cleaned) for _, step in parts]).tocsr()

    def _predict_all(self, matrix: Any, n: int) -> dict[str, np.ndarray]:
        """Every label's probability with one product against the stacked regressions.

        Binary logistic regression's predict_proba is the logistic of X.w + b; done per label,
        scikit-learn's input checks cost more than the arithmetic. Constant heads stay constant.
        """
        fitted = [label for label in self.labels
                  if not isinstance(self._heads[label], float) and list(self._heads[label].classes_) == [0, 1]]
        key = [(label, id(self._heads[label])) for label in fitted]
        if self._stacked is None or self._stacked[0] != key:
            weights = np.column_stack([self._heads[label].coef_[0] for label in fitted]) if fitted else None
            intercepts = np.array([self._heads[label].intercept_[0] for label in fitted])
            self._stacked = (key, weights, intercepts)
        _, weights, intercepts = self._stacked
        columns: dict[str, np.ndarray] = {}
        if fitted:
            probabilities = np.clip(expit(np.asarray(matrix @ weights) + intercepts), 0.0, 1.0)
            columns = {label: probabilities[:, i].astype(np.float64) for i, label in enumerate(fitted)}
        for label in self.labels:
            if label not in columns:
                columns[label] = self._predict(label, matrix, n)
        return {label: columns[label] for label in self.labels}

    def _predict(self, label: str, matrix: Any, n: int) -> np.ndarray:
        head = self._heads[label]
        if isinstance(head, float):
            return np.full(n, head)
        positive = list(head.classes_).index(1)
        return np.clip(head.predict_proba(matrix)[:, positive], 0.0, 1.0)

    # -- persistence --------------------------------------------------------

    def save(self, model_dir: str | os.PathLike[str], *, metrics: Mapping[str, Any] | None = None) -> Path:
        """Write model_dir/<version>/{model.joblib,metadata.json}, point CURRENT at it, return that directory."""
        # Reject unserialisable metrics before anything touches the disk.
        extra = {} if metrics is None else {"metrics": jsonable(metrics)}
        root = Path(model_dir)
        root.mkdir(parents=True, exist_ok=True)
        target = version_path(root, self.version)
        target.mkdir(exist_ok=True)

        payload = {
            "format": FORMAT,
            "labels": list(self.labels),
            "features": self._features,
            "heads": self._heads,
        }
        model_path = target / MODEL_FILE
        atomic_write(model_path, lambda fh: joblib.dump(payload, fh, compress=3))

        metadata = {**self.metadata, **extra, "model_sha256": file_sha256(model_path)}
        publish_version(root, target, metadata, self.version)
        self.metadata = metadata
        return target

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str], version: str | None = None) -> SklearnScorer:
        """Load the given version, or the one named by model_dir/CURRENT; only files inside model_dir are read."""
        root = Path(model_dir)
        if not root.is_dir():
            raise ModelNotFoundError(f"model directory {root} does not exist")
        if version is None:
            current = root / CURRENT_FILE
            if not current.is_file():
                raise ModelNotFoundError(f"no current model in {root}: {CURRENT_FILE} is missing")
            # A version is short; never slurp an arbitrarily large file.
            with current.open("rb") as fh:
                version = fh.read(256).decode("utf-8", errors="replace").strip()

        target = version_path(root, version)
        model_path = version_path(root, version, MODEL_FILE)
        metadata_path = version_path(root, version, METADATA_FILE)
        if not model_path.is_file():
            raise ModelNotFoundError(f"model version {version!r} not found in {root}")

        metadata = read_metadata(metadata_path, version)
        # joblib files are pickles: check the bytes are the ones save() wrote
        # before letting them execute anything.
        if file_sha256(model_path) != metadata.get("model_sha256"):
            raise ScorerError(
                f"{model_path} does not match the checksum in {METADATA_FILE}; "
                "the file is corrupt or was replaced, refusing to load it"
            )
        try:
            payload = joblib.load(model_path)
        except Exception as exc:
            raise ScorerError(f"cannot read model file {model_path}: {exc}") from exc

        labels = _check_payload(payload, metadata, target)
        params = {**DEFAULT_PARAMS, **metadata.get("params", {})}
        return cls(
            name=str(metadata.get("name", "sklearn-tfidf")),
            version=version,
            labels=labels,
            features=payload["features"],
            heads=payload["heads"],
            params=params,
            metadata=metadata,
        )


# -- helpers ------------------------------------------------------------------


def _check_corpus(texts: Sequence[str], label_rows: Sequence[Mapping[str, int]]) -> None:
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of texts, not a single string")
    if len(texts) != len(label_rows):
        raise ValueError(f"got {len(texts)} texts but {len(label_rows)} label rows")
    if not texts:
        raise ValueError("cannot train on an empty corpus")


def _check_payload(payload: Any, metadata: Mapping[str, Any], where: Path) -> tuple[str, ...]:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ScorerError(f"{where / MODEL_FILE} is not a format {FORMAT} Jury model")
    labels = payload.get("labels")
    heads = payload.get("heads")
    if not isinstance(labels, list) or labels != metadata.get("labels"):
        raise ScorerError(f"{where}: labels in {MODEL_FILE} and {METADATA_FILE} disagree")
    if not isinstance(heads, dict) or set(heads) != set(labels):
        raise ScorerError(f"{where / MODEL_FILE}: classifiers do not match labels {labels}")
    if not all(isinstance(h, float) or hasattr(h, "predict_proba") for h in heads.values()):
        raise ScorerError(f"{where / MODEL_FILE}: a label classifier is unusable")
    if not hasattr(payload.get("features"), "transform"):
        raise ScorerError(f"{where / MODEL_FILE}: feature extractor is missing")
    return tuple(labels)


