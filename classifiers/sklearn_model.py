"""A TF-IDF + logistic-regression scorer, versioned and stored under a model directory.

Layout of a model directory::

    model_dir/
        CURRENT                 # the version in use, one line
        <version>/model.joblib  # features + one classifier per label
        <version>/metadata.json # provenance, params, metrics, checksum
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import joblib
import numpy as np
import sklearn
from scipy import sparse
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from .base import LABELS, ModelNotFoundError, ScorerError, file_sha256
from .heads import DEFAULT_CALIBRATION_FOLDS, fit_calibrated_head
from .text import DEFAULT_MAX_CHARS, prepare_text

# Bump when the layout of model.joblib changes, so old files are refused cleanly.
FORMAT = 1
MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CURRENT_FILE = "CURRENT"

# Versions become directory names: only plain, non-hidden names are accepted.
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

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
        labels = _check_labels(LABELS if labels is None else labels)
        merged = _merge_params(params)
        if isinstance(texts, (str, bytes)):
            raise TypeError("texts must be a sequence of texts, not a single string")
        if len(texts) != len(label_rows):
            raise ValueError(f"got {len(texts)} texts but {len(label_rows)} label rows")
        if not texts:
            raise ValueError("cannot train on an empty corpus")

        cleaned = [prepare_text(t, merged["max_chars"])[0] for t in texts]
        targets = {label: _label_column(label_rows, label) for label in labels}

        features = _build_features(merged)
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

        data_sha256 = _data_digest(cleaned, targets)
        version = _version_for(name, labels, merged, data_sha256)
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
        return cls(
            name=name,
            version=version,
            labels=labels,
            features=features,
            heads=heads,
            params=merged,
            metadata=metadata,
        )

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
        extra = {} if metrics is None else {"metrics": _jsonable(metrics)}
        root = Path(model_dir)
        root.mkdir(parents=True, exist_ok=True)
        target = _inside(root, self.version)
        target.mkdir(exist_ok=True)

        payload = {
            "format": FORMAT,
            "labels": list(self.labels),
            "features": self._features,
            "heads": self._heads,
        }
        model_path = target / MODEL_FILE
        _atomic_write(model_path, lambda fh: joblib.dump(payload, fh, compress=3))

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

        target = _inside(root, version)
        model_path = _inside(root, version, MODEL_FILE)
        metadata_path = _inside(root, version, METADATA_FILE)
        if not model_path.is_file():
            raise ModelNotFoundError(f"model version {version!r} not found in {root}")

        metadata = _read_metadata(metadata_path, version)
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


def _check_labels(labels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(labels, str) or not labels:
        raise ScorerError("labels must be a non-empty sequence of label names")
    labels = tuple(labels)
    if len(set(labels)) != len(labels) or not all(isinstance(x, str) and x for x in labels):
        raise ScorerError(f"labels must be distinct non-empty strings, got {labels!r}")
    return labels


def _merge_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
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


def _label_column(rows: Sequence[Mapping[str, int]], label: str) -> np.ndarray:
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


def _build_features(params: Mapping[str, Any]) -> FeatureUnion:
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


def _data_digest(texts: Sequence[str], targets: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    labels = list(targets)
    for i, text in enumerate(texts):
        row = [text, [int(targets[label][i]) for label in labels]]
        digest.update(json.dumps(row, ensure_ascii=True).encode("ascii") + b"\n")
    return digest.hexdigest()


def _version_for(name: str, labels: Sequence[str], params: Mapping[str, Any], data_sha256: str) -> str:
    spec = {"format": FORMAT, "name": name, "labels": list(labels), "params": params, "data": data_sha256}
    blob = json.dumps(spec, sort_keys=True, ensure_ascii=True).encode("ascii")
    return hashlib.sha256(blob).hexdigest()[:12]


def _inside(root: Path, version: object, *rest: str) -> Path:
    """Resolve root/version/rest, refusing anything that would land outside root."""
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise ScorerError(f"invalid model version {version!r}: expected letters, digits, '.', '_' or '-'")
    base = root.resolve()
    path = base.joinpath(version, *rest).resolve()
    # Symlinks count too: a version directory pointing elsewhere is refused.
    if path == base or not path.is_relative_to(base):
        raise ScorerError(f"model version {version!r} resolves outside {root}; refusing it")
    return path


def _read_metadata(path: Path, version: str) -> dict[str, Any]:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScorerError(f"model version {version!r} has no {METADATA_FILE}") from None
    except (OSError, ValueError) as exc:
        raise ScorerError(f"cannot read {path}: {exc}") from exc
    if not isinstance(metadata, dict):
        raise ScorerError(f"{path} does not hold a JSON object")
    if metadata.get("version") != version:
        raise ScorerError(f"{path} describes version {metadata.get('version')!r}, not {version!r}")
    if not isinstance(metadata.get("params", {}), dict):
        raise ScorerError(f"{path}: params must be a JSON object")
    if metadata.get("format") != FORMAT:
        raise ScorerError(f"{path}: model format {metadata.get('format')!r} is not supported (expected {FORMAT})")
    return metadata


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




def publish_version(root: Path, target: Path, metadata: Mapping[str, Any], version: str) -> None:
    """Write a version's metadata, then point CURRENT at it: CURRENT moves last, so readers never see
    a version that is half written."""
    text = json.dumps(metadata, indent=2, sort_keys=True) + "\n"
    _atomic_write(target / METADATA_FILE, lambda fh: fh.write(text.encode("utf-8")))
    _atomic_write(root / CURRENT_FILE, lambda fh: fh.write(f"{version}\n".encode("ascii")))


def _atomic_write(path: Path, write: Any) -> None:
    """Write via a temporary file and rename, so a crash never leaves a torn file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        # mkstemp makes owner-only files; models are read by other services too.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(metrics: Mapping[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        # Metrics often arrive as numpy scalars or arrays.
        if isinstance(value, (np.generic, np.ndarray)):
            return value.tolist()
        raise TypeError(f"metrics value {value!r} is not JSON serialisable")

    try:
        return json.loads(json.dumps(dict(metrics), default=convert))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metrics must be JSON serialisable: {exc}") from exc
