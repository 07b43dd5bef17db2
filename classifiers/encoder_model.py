"""The encoder scorer: TF-IDF word features beside a sentence encoder's embeddings, one calibrated
linear head per label.

Sentence embeddings carry meaning that word counts miss (a paraphrased insult, a slur spelt
differently), so the model ranks text unlike its training data better; they cost a transformer
pass per post (about 150 posts/s on two CPU cores). The encoder's files are copied into each
version folder, with their checksums in the metadata, and loaded from there only, offline::

    model_dir/encoder/CURRENT
    model_dir/encoder/<version>/model.joblib     # TF-IDF + heads (checksummed, as SklearnScorer's)
    model_dir/encoder/<version>/metadata.json    # + the encoder files' checksums
    model_dir/encoder/<version>/encoder/...      # the sentence-transformers model
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from scipy import sparse
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer

from .heads import DEFAULT_CALIBRATION_FOLDS, fit_calibrated_head
from .model_files import CURRENT_FILE, METADATA_FILE, MODEL_FILE, publish_version
from .model_files import atomic_write as _atomic_write
from .model_files import read_metadata as _read_metadata
from .model_files import version_path as _inside
from .scorer import LABELS, ModelNotFoundError, ScorerError, file_sha256
from .text import DEFAULT_MAX_CHARS, prepare_text
from .tfidf_training import check_labels as _check_labels
from .tfidf_training import data_digest as _data_digest
from .tfidf_training import label_column as _label_column

FORMAT = 1
ENCODER_DIR = "encoder"  # the encoder models' folder inside MODEL_DIR
ENCODER_FILES = "encoder"  # the encoder's files inside a version folder
DEFAULT_PARAMS: dict[str, Any] = {
    "word_ngram_range": [1, 2],
    "word_max_features": 20_000,
    "min_df": 1,
    # Strong regularisation: a head free to fit (C=4) learned the training set's own words and
    # ranked data sets it was not trained on up to 0.09 ROC-AUC lower; at C=0.25 it leans on the
    # embeddings' meaning (benchmarks/RESULTS.md, "What was tried").
    "C": 0.25,
    "max_iter": 1_000,
    "max_chars": DEFAULT_MAX_CHARS,
    # Embeddings are unit vectors, as TF-IDF rows are; this scales them against the word features
    # (under the one L2 penalty, the embedding block is regularised as if by C * weight**2).
    "embedding_weight": 1.0,
    "batch_size": 64,
    "calibration_folds": DEFAULT_CALIBRATION_FOLDS,
}


def load_encoder(path: str | os.PathLike[str], *, offline: bool = True) -> Any:
    """A sentence-transformers encoder from a local folder (offline), or from a hub name where allowed."""
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=offline)
    except Exception as error:  # noqa: BLE001 - any failure to load is the same problem for the user
        where = "a local folder" if offline else "a local folder or a hub name reachable from here"
        raise ScorerError(f"cannot load the sentence encoder {str(path)!r} ({where}): {error}") from error


class EmbeddingCache:
    """An encoder that remembers each text's embedding: cross-validation encodes every text once."""

    def __init__(self, encoder: Any, batch_size: int = 64, source: str | None = None):
        self.encoder, self.batch_size = encoder, batch_size
        self.source = source
        self._seen: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if missing:
            for text, vector in zip(missing, _encode(self.encoder, missing, self.batch_size), strict=True):
                self._seen[text] = vector
        dim = self.encoder.get_embedding_dimension()
        return np.stack([self._seen[t] for t in texts]) if texts else np.zeros((0, dim), dtype=np.float32)


def _encode(encoder: Any, texts: Sequence[str], batch_size: int) -> np.ndarray:
    if isinstance(encoder, EmbeddingCache):
        return encoder.encode(texts)
    return np.asarray(encoder.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)


class EncoderScorer:
    """Toxicity scorer: TF-IDF words and sentence embeddings side by side, one calibrated regression per label."""

    def __init__(self, *, name: str, version: str, labels: Sequence[str], tfidf: TfidfVectorizer, encoder: Any,
                 heads: Mapping[str, Any], params: Mapping[str, Any], metadata: Mapping[str, Any]) -> None:
        self.name, self.version, self.labels = name, version, tuple(labels)
        self.params, self.metadata = dict(params), dict(metadata)
        self._tfidf, self._encoder, self._heads = tfidf, encoder, dict(heads)

    def __repr__(self) -> str:
        return f"EncoderScorer(name={self.name!r}, version={self.version!r})"

    def _features(self, cleaned: list[str], fit: bool = False) -> sparse.csr_matrix:
        words = self._tfidf.fit_transform(cleaned) if fit else self._tfidf.transform(cleaned)
        embedded = _encode(self._encoder, cleaned, int(self.params["batch_size"]))
        weight = float(self.params["embedding_weight"])
        return sparse.hstack([words, sparse.csr_matrix(embedded * weight)]).tocsr()

    @classmethod
    def train(cls, texts: Sequence[str], label_rows: Sequence[Mapping[str, int]], *, encoder: Any,
              name: str = "encoder-tfidf", labels: Sequence[str] | None = None,
              params: Mapping[str, Any] | None = None, source: str | None = None) -> EncoderScorer:
        """Fit on texts and their 0/1 rows.

        encoder is a loaded SentenceTransformer (or an EmbeddingCache of one); source, the folder or
        hub name it came from, is recorded in the metadata.
        """
        labels = _check_labels(LABELS if labels is None else labels)
        unknown = sorted(set(params or {}) - set(DEFAULT_PARAMS))
        if unknown:
            raise ScorerError(f"unknown encoder parameter(s) {unknown}; known: {sorted(DEFAULT_PARAMS)}")
        merged = json.loads(json.dumps({**DEFAULT_PARAMS, **(params or {})}, sort_keys=True))
        if isinstance(texts, (str, bytes)) or len(texts) != len(label_rows) or not texts:
            raise ValueError("need a non-empty sequence of texts and one label row per text")
        cleaned = [prepare_text(t, merged["max_chars"])[0] for t in texts]
        targets = {label: _label_column(label_rows, label) for label in labels}
        tfidf = TfidfVectorizer(analyzer="word", ngram_range=tuple(merged["word_ngram_range"]),
                                max_features=merged["word_max_features"], min_df=merged["min_df"],
                                sublinear_tf=True, strip_accents="unicode", dtype=np.float32)
        scorer = cls(name=name, version="unsaved", labels=labels, tfidf=tfidf, encoder=encoder, heads={},
                     params=merged, metadata={})
        try:
            matrix = scorer._features(cleaned, fit=True)
        except ValueError as exc:
            raise ValueError(f"cannot extract features from the training texts: {exc}") from exc
        calibrated = {}
        for label, y in targets.items():
            if np.unique(y).size == 1:
                scorer._heads[label], calibrated[label] = float(y[0]), False
            else:
                scorer._heads[label], calibrated[label] = fit_calibrated_head(matrix, y, merged)
        data_sha256 = _data_digest(cleaned, targets)
        spec = json.dumps({"format": FORMAT, "name": name, "labels": list(labels), "params": merged,
                           "data": data_sha256, "encoder": _encoder_id(encoder, source)}, sort_keys=True)
        scorer.version = hashlib.sha256(spec.encode()).hexdigest()[:12]
        scorer.metadata = {
            "format": FORMAT, "kind": "encoder", "name": name, "version": scorer.version, "labels": list(labels),
            "rows": len(cleaned), "positives": {label: int(y.sum()) for label, y in targets.items()},
            "calibrated": calibrated, "data_sha256": data_sha256, "params": merged,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "sklearn_version": sklearn.__version__,
            "encoder": _encoder_id(encoder, source),
        }
        return scorer

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One {label: calibrated probability} dict per text; a text empty after cleaning scores 0."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("score() takes a sequence of texts, not a single string")
        cleaned = [prepare_text(t, int(self.params["max_chars"]))[0] for t in texts]
        if not cleaned:
            return []
        matrix = self._features(cleaned)
        columns = {}
        for label in self.labels:
            head = self._heads[label]
            if isinstance(head, float):
                columns[label] = np.full(len(cleaned), head)
            else:
                columns[label] = expit(np.asarray(matrix @ head.coef_[0]).ravel() + head.intercept_[0])
        empty = [i for i, text in enumerate(cleaned) if not text]
        return [{label: 0.0 if i in empty else float(columns[label][i]) for label in self.labels}
                for i in range(len(cleaned))]

    def save(self, model_dir: str | os.PathLike[str], *, metrics: Mapping[str, Any] | None = None) -> Path:
        """Write model_dir/<version>/ (model, metadata, the encoder's files) and point CURRENT at it."""
        root = Path(model_dir)
        root.mkdir(parents=True, exist_ok=True)
        target = _inside(root, self.version)
        target.mkdir(exist_ok=True)
        base = self._encoder.encoder if isinstance(self._encoder, EmbeddingCache) else self._encoder
        base.save(str(target / ENCODER_FILES))
        payload = {"format": FORMAT, "labels": list(self.labels), "tfidf": self._tfidf, "heads": self._heads}
        _atomic_write(target / MODEL_FILE, lambda fh: joblib.dump(payload, fh, compress=3))
        metadata = {**self.metadata, "model_sha256": file_sha256(target / MODEL_FILE),
                    "encoder_files": _manifest(target / ENCODER_FILES)}
        if metrics is not None:
            metadata["metrics"] = json.loads(json.dumps(dict(metrics), default=float))
        publish_version(root, target, metadata, self.version)
        self.metadata = metadata
        return target

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str]) -> EncoderScorer:
        """The version model_dir/CURRENT names; every file is checked against its checksum and read offline."""
        root = Path(model_dir)
        current = root / CURRENT_FILE
        if not current.is_file():
            raise ModelNotFoundError(f"no encoder model in {root}: train one with "
                                     "`flask classifiers train --preset encoder --encoder PATH_OR_NAME`")
        with current.open("rb") as fh:
            version = fh.read(256).decode("utf-8", errors="replace").strip()
        target = _inside(root, version)
        metadata = _read_metadata(_inside(root, version, METADATA_FILE), version)
        if metadata.get("kind") != "encoder":
            raise ScorerError(f"{target} does not hold an encoder model")
        model_path = target / MODEL_FILE
        if not model_path.is_file() or file_sha256(model_path) != metadata.get("model_sha256"):
            raise ScorerError(f"{model_path} is missing or does not match its checksum; refusing to load it")
        if _manifest(target / ENCODER_FILES) != metadata.get("encoder_files"):
            raise ScorerError(f"the encoder files in {target / ENCODER_FILES} do not match their checksums")
        payload = joblib.load(model_path)
        if not isinstance(payload, dict) or payload.get("labels") != metadata.get("labels"):
            raise ScorerError(f"{model_path}: labels in the model and its metadata disagree")
        encoder = load_encoder(target / ENCODER_FILES, offline=True)
        return cls(name=str(metadata["name"]), version=version, labels=payload["labels"], tfidf=payload["tfidf"],
                   encoder=encoder, heads=payload["heads"], params={**DEFAULT_PARAMS, **metadata["params"]},
                   metadata=metadata)


def _manifest(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under folder."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _encoder_id(encoder: Any, source: str | None) -> dict[str, Any]:
    """What identifies an encoder in a model's version: where it came from (last part) and its dimensions."""
    base = encoder.encoder if isinstance(encoder, EmbeddingCache) else encoder
    source = source or getattr(encoder, "source", None) or "unnamed"
    return {"source": Path(str(source)).name, "dimensions": int(base.get_embedding_dimension())}
