"""A scorer backed by detoxify's transformer models (unitaryai/detoxify).

Two ways to get a model:

- ``DetoxifyScorer.from_published("original" | "unbiased" | "multilingual")`` downloads detoxify's
  release checkpoint (torch hub cache, then github.com) and its Hugging Face config and tokenizer.
- ``DetoxifyScorer.from_checkpoint(checkpoint, config_dir)`` loads a checkpoint file offline, with
  the config and tokenizer saved (``save_pretrained``) in ``config_dir``.

A checkpoint is a pickle (``torch.load(..., weights_only=False)``): loading one runs code from the
file. ``load_detoxify(model_dir)`` therefore reads only files inside ``model_dir/detoxify/``,
described by ``model_dir/detoxify/detoxify.json``::

    {"published": "original"}
    {"checkpoint": "toxic_original.ckpt", "config_dir": "bert-base-uncased", "model_type": "original"}

(``model_type`` is optional for a checkpoint; it only names the scorer, ``detoxify-<model_type>``.)

To run a published model without internet access, download its checkpoint elsewhere, save the
config of its base model with ``num_labels`` set to the checkpoint's number of classes, and its
tokenizer, into one folder next to it, e.g.::

    AutoConfig.from_pretrained("bert-base-uncased", num_labels=6).save_pretrained(folder)
    AutoTokenizer.from_pretrained("bert-base-uncased").save_pretrained(folder)

torch, transformers and detoxify are imported on first use, so importing this module is cheap
and a missing dependency surfaces as a ScorerError.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from .detoxify_checkpoint import (
    build_model,
    check_checkpoint,
    check_config_dir,
    check_loaded,
    checkpoint_source,
    read_checkpoint,
    short_error,
)
from .scorer import LABELS, ModelNotFoundError, ScorerError, file_sha256
from .text import DEFAULT_MAX_CHARS, prepare_text

DEFAULT_BATCH_SIZE = 32
DETOXIFY_DIR = "detoxify"
SPEC_FILE = "detoxify.json"
DEFAULT_CHECKPOINT_TYPE = "custom"

# The published models this project supports, with the Hugging Face base model each one's
# config and tokenizer come from (needed to run it offline).
PUBLISHED_BASES: dict[str, str] = {
    "original": "bert-base-uncased",
    "unbiased": "roberta-base",
    "multilingual": "xlm-roberta-base",
}

_CHECKPOINT_KEYS = {"checkpoint", "config_dir", "model_type"}
# Scores store "detoxify-<model_type>" in a 64-character column.
_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_MAX_SPEC_BYTES = 64 * 1024


def _require() -> tuple[ModuleType, ModuleType, ModuleType]:
    """Import torch, transformers and detoxify, turning their absence into a ScorerError."""
    try:
        import detoxify
        import torch
        import transformers
    except ImportError as exc:
        raise ScorerError(
            f"the detoxify scorer needs torch, transformers and detoxify ({exc}); "
            "install them with pip install -r requirements.txt"
        ) from exc
    return torch, transformers, detoxify


class DetoxifyScorer:
    """Toxicity scorer running one of detoxify's transformer models, on CPU or CUDA."""

    def __init__(
        self,
        model: Any,
        *,
        name: str,
        version: str,
        device: str,
        source: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        class_names = list(model.class_names)
        labels = tuple(label for label in LABELS if label in class_names)
        if not labels:
            raise ScorerError(f"{source}: the model's classes {class_names} include none of {list(LABELS)}")
        self.name = name
        self.version = version
        # Classes outside LABELS (e.g. the unbiased model's identity-mention columns) are not reported.
        self.labels = labels
        self.class_names = tuple(class_names)
        self.device = device
        self.source = source
        self.batch_size = _check_batch_size(batch_size)
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ScorerError(f"max_chars must be a positive integer, got {max_chars!r}")
        self._max_chars = max_chars
        self._model = model
        # A fast tokenizer must not be used from two threads at once ("Already borrowed").
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DetoxifyScorer(name={self.name!r}, version={self.version!r}, device={self.device!r})"

    # -- construction -------------------------------------------------------

    @classmethod
    def from_published(
        cls,
        model_type: str,
        device: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> DetoxifyScorer:
        """Load a published detoxify model, downloading its weights unless torch hub has them cached."""
        if model_type not in PUBLISHED_BASES:
            raise ScorerError(
                f"unknown published detoxify model {model_type!r}; available: {', '.join(PUBLISHED_BASES)}"
            )
        _check_batch_size(batch_size)
        torch, _, detoxify = _require()
        device = _resolve_device(torch, device)
        url = detoxify.detoxify.MODEL_URLS[model_type]
        try:
            model = detoxify.Detoxify(model_type, device=device)
        except OSError as exc:  # URLError, HTTP errors, Hugging Face offline/connection errors
            raise ScorerError(
                f"cannot load the published detoxify model {model_type!r}: its weights ({url}) or the config "
                f"and tokenizer of {PUBLISHED_BASES[model_type]!r} could not be downloaded "
                f"({type(exc).__name__}: {short_error(exc)}). Without internet access, use a local checkpoint: "
                f"download the file elsewhere, put it with the saved config and tokenizer under "
                f"<model_dir>/{DETOXIFY_DIR}/ and describe them in {SPEC_FILE} as "
                '{"checkpoint": ..., "config_dir": ...} (see DetoxifyScorer.from_checkpoint)'
            ) from exc
        except Exception as exc:
            raise ScorerError(
                f"cannot load the published detoxify model {model_type!r}: {type(exc).__name__}: {short_error(exc)}"
            ) from exc
        check_loaded(model, source=url)
        return cls(
            model,
            name=f"detoxify-{model_type}",
            version=f"{_package_version()}-{model_type}",
            device=device,
            source=url,
            batch_size=batch_size,
            max_chars=max_chars,
        )

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint_path: str | os.PathLike[str],
        config_dir: str | os.PathLike[str],
        device: str | None = None,
        *,
        model_type: str = DEFAULT_CHECKPOINT_TYPE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> DetoxifyScorer:
        """Load a detoxify checkpoint offline; config_dir holds the saved Hugging Face config and tokenizer.

        The checkpoint is unpickled: only pass files from a trusted place (see load_detoxify).
        """
        if not isinstance(model_type, str) or not _TYPE_RE.fullmatch(model_type):
            raise ScorerError(
                f"invalid detoxify model type {model_type!r}: expected up to 40 letters, digits, '.', '_' or '-'"
            )
        _check_batch_size(batch_size)
        path = Path(checkpoint_path)
        config_path = Path(config_dir)
        if not path.is_file():
            raise ModelNotFoundError(f"detoxify checkpoint {path} not found (or not a file)")
        if not config_path.is_dir():
            raise ModelNotFoundError(f"detoxify config folder {config_path} not found (or not a folder)")
        torch, transformers, detoxify = _require()
        device = _resolve_device(torch, device)

        try:
            version = file_sha256(path)[:12]
        except OSError as exc:
            raise ScorerError(f"cannot read detoxify checkpoint {path}: {exc}") from exc
        # Checked here, before detoxify builds anything, so a bad file fails with a clear
        # message; mmap keeps this first read cheap for a full-size model.
        loaded = read_checkpoint(torch, path)
        arch, classes, weight_names = check_checkpoint(torch, transformers, loaded, path)
        check_config_dir(config_path, arch["num_classes"], path)
        checkpoint = checkpoint_source(torch, loaded, arch, path, config_path)
        del loaded
        model = build_model(detoxify, model_type, checkpoint, device=device, path=path, config_path=config_path,
                            num_classes=arch["num_classes"])
        # An in-memory copy is as large as the weights: let it go before anything else.
        del checkpoint

        if list(model.class_names) != classes:
            raise ScorerError(f"detoxify checkpoint {path}: classes changed while loading; was it replaced?")
        check_loaded(model, source=str(path), weight_names=weight_names)
        return cls(
            model,
            name=f"detoxify-{model_type}",
            version=version,
            device=device,
            source=str(path),
            batch_size=batch_size,
            max_chars=max_chars,
        )

    # -- scoring ------------------------------------------------------------

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Return one {label: probability} dict per text, in batches; odd or empty texts are scored, never rejected."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("score() takes a sequence of texts, not a single string")
        cleaned = [prepare_text(t, self._max_chars)[0] for t in texts]
        # Nothing left after cleaning means nothing to object to, and the model would
        # only score its own special tokens.
        results = [dict.fromkeys(self.labels, 0.0) for _ in cleaned]
        # Similar lengths side by side waste less work on padding; the order is restored below.
        pending = sorted((i for i, text in enumerate(cleaned) if text), key=lambda i: len(cleaned[i]))
        for start in range(0, len(pending), self.batch_size):
            chunk = pending[start : start + self.batch_size]
            columns = self._predict([cleaned[i] for i in chunk])
            for row, i in enumerate(chunk):
                results[i] = {label: columns[label][row] for label in self.labels}
        return results

    def _predict(self, batch: list[str]) -> dict[str, list[float]]:
        with self._lock:
            raw = self._model.predict(batch)
        columns: dict[str, list[float]] = {}
        for label in self.labels:
            values = raw[label]
            # detoxify squeezes a batch of one down to a bare number.
            values = values if isinstance(values, list) else [values]
            if len(values) != len(batch):
                raise ScorerError(f"{self.name}: got {len(values)} scores for a batch of {len(batch)}")
            column = []
            for value in values:
                value = float(value)
                if not math.isfinite(value):
                    raise ScorerError(f"{self.name} {self.version}: the model produced a non-finite score")
                column.append(min(1.0, max(0.0, value)))
            columns[label] = column
        return columns


def load_detoxify(
    model_dir: str | os.PathLike[str],
    device: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    folder_name: str = DETOXIFY_DIR,
) -> DetoxifyScorer:
    """Load the detoxify model described by model_dir/<folder_name>/detoxify.json; only files inside it are read.

    The ensemble keeps its multilingual model in a second folder (`detoxify-multilingual`).
    """
    root = Path(model_dir)
    if not root.is_dir():
        raise ModelNotFoundError(f"model directory {root} does not exist")
    base = root.resolve()
    folder = (base / folder_name).resolve()
    if not folder.is_relative_to(base) or folder == base:
        raise ScorerError(f"{root / folder_name} resolves outside {root}; refusing it")
    spec_path = folder / SPEC_FILE
    if not spec_path.is_file():
        raise ModelNotFoundError(
            f"no detoxify model configured: {root / folder_name / SPEC_FILE} is missing; write "
            '{"published": "original"} or {"checkpoint": "<file>", "config_dir": "<folder>"} there'
        )
    spec = _read_spec(spec_path)

    if "published" in spec:
        if set(spec) != {"published"}:
            raise ScorerError(f"{spec_path}: 'published' cannot be combined with {sorted(set(spec) - {'published'})}")
        return DetoxifyScorer.from_published(spec["published"], device=device, batch_size=batch_size)

    unknown = sorted(set(spec) - _CHECKPOINT_KEYS)
    if unknown:
        raise ScorerError(f"{spec_path}: unknown key(s) {unknown}; expected 'published' or {sorted(_CHECKPOINT_KEYS)}")
    if "checkpoint" not in spec or "config_dir" not in spec:
        raise ScorerError(
            f"{spec_path} must hold either {{\"published\": <model type>}} or both 'checkpoint' and 'config_dir'"
        )
    checkpoint = _inside(folder, spec["checkpoint"], "checkpoint", spec_path)
    config_dir = _inside(folder, spec["config_dir"], "config_dir", spec_path)
    return DetoxifyScorer.from_checkpoint(
        checkpoint,
        config_dir,
        device=device,
        model_type=spec.get("model_type", DEFAULT_CHECKPOINT_TYPE),
        batch_size=batch_size,
    )


# -- helpers ------------------------------------------------------------------


def _check_batch_size(batch_size: object) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ScorerError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def _resolve_device(torch: ModuleType, device: str | None) -> str:
    """The device to run on: CUDA when available unless one is named."""
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ScorerError(f"invalid torch device {device!r}: {exc}") from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ScorerError(f"device {device!r} was asked for, but CUDA is not available to this torch build")
    return str(parsed)


def _package_version() -> str:
    try:
        return importlib_metadata.version("detoxify")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def _read_spec(spec_path: Path) -> dict[str, Any]:
    try:
        with spec_path.open("rb") as fh:
            raw = fh.read(_MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise ScorerError(f"cannot read {spec_path}: {exc}") from exc
    if len(raw) > _MAX_SPEC_BYTES:
        raise ScorerError(f"{spec_path} is too large to be a detoxify model description")
    try:
        spec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ScorerError(f"{spec_path} is not valid JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise ScorerError(f"{spec_path} must hold a JSON object")
    return spec


def _inside(folder: Path, name: object, key: str, spec_path: Path) -> Path:
    """Resolve folder/name, refusing absolute names and anything (symlinks included) that lands outside folder."""
    if not isinstance(name, str) or not name.strip():
        raise ScorerError(f"{spec_path}: {key} must be a non-empty name inside {folder}")
    if Path(name).is_absolute():
        raise ScorerError(f"{spec_path}: {key} {name!r} is an absolute path; give a name inside {folder}")
    path = (folder / name).resolve()
    if path == folder or not path.is_relative_to(folder):
        raise ScorerError(f"{spec_path}: {key} {name!r} resolves outside {folder}; refusing it")
    return path
