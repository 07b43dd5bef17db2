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

import io
import json
import logging
import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from .base import LABELS, ModelNotFoundError, ScorerError, file_sha256
from .text import DEFAULT_MAX_CHARS, prepare_text

log = logging.getLogger(__name__)

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

# detoxify renames the Jigsaw 2018 column names to these (detoxify.load_checkpoint).
_RENAMED_CLASSES = {"toxic": "toxicity", "severe_toxic": "severe_toxicity", "identity_hate": "identity_attack"}
_CHECKPOINT_KEYS = {"checkpoint", "config_dir", "model_type"}
# Scores store "detoxify-<model_type>" in a 64-character column.
_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
# The last layer of a sequence classifier (BERT/ALBERT: classifier, RoBERTa/XLM-R: classifier.out_proj).
_CLASSIFIER_RE = re.compile(r"(?:^|\.)classifier(?:\.out_proj)?\.weight$")
# Tokenizers saved without a model_max_length report this huge sentinel and never truncate.
_ROBERTA_LIKE = {"roberta", "xlm-roberta", "camembert", "longformer"}
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
                f"({type(exc).__name__}: {_short(exc)}). Without internet access, use a local checkpoint: "
                f"download the file elsewhere, put it with the saved config and tokenizer under "
                f"<model_dir>/{DETOXIFY_DIR}/ and describe them in {SPEC_FILE} as "
                '{"checkpoint": ..., "config_dir": ...} (see DetoxifyScorer.from_checkpoint)'
            ) from exc
        except Exception as exc:
            raise ScorerError(
                f"cannot load the published detoxify model {model_type!r}: {type(exc).__name__}: {_short(exc)}"
            ) from exc
        _check_loaded(model, source=url)
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
        loaded = _read_checkpoint(torch, path)
        arch, classes, weight_names = _check_checkpoint(torch, transformers, loaded, path)
        _check_config_dir(config_path, arch["num_classes"], path)

        checkpoint: Any = str(path)
        if not Path(arch["model_type"]).is_dir():
            # detoxify always reads a config from config.arch.args.model_type, even when given
            # a config folder: a hub id ("bert-base-uncased") fails offline, and a folder baked
            # in on another machine is missing here. Hand it a copy that points at config_dir.
            log.info(
                "detoxify checkpoint %s: model_type %r is not a local folder; using %s",
                path.name,
                arch["model_type"],
                config_path,
            )
            checkpoint = _rebased_checkpoint(torch, loaded, str(config_path))
        del loaded

        try:
            model = detoxify.Detoxify(
                model_type, checkpoint=checkpoint, device=device, huggingface_config_path=str(config_path)
            )
        except RuntimeError as exc:
            if "mismatch" in str(exc):
                raise ScorerError(
                    f"detoxify checkpoint {path}: its weights do not fit the model described by {config_path} "
                    f"(check hidden sizes, layers and num_labels={arch['num_classes']}): {_short(exc)}"
                ) from exc
            raise ScorerError(f"cannot build the detoxify model from {path}: {_short(exc)}") from exc
        except OSError as exc:
            raise ScorerError(
                f"cannot load the config and tokenizer for detoxify checkpoint {path} from {config_path} "
                f"(expected the files written by save_pretrained): {_short(exc)}"
            ) from exc
        except Exception as exc:
            raise ScorerError(
                f"cannot build the detoxify model from {path}: {type(exc).__name__}: {_short(exc)}"
            ) from exc
        # An in-memory copy is as large as the weights: let it go before anything else.
        del checkpoint

        if list(model.class_names) != classes:
            raise ScorerError(f"detoxify checkpoint {path}: classes changed while loading; was it replaced?")
        _check_loaded(model, source=str(path), weight_names=weight_names)
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


def _short(exc: BaseException, limit: int = 400) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."




def _read_checkpoint(torch: ModuleType, path: Path) -> Any:
    """Unpickle a checkpoint with its tensors memory-mapped (copied only for pre-zip files)."""
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=False, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            # Files saved in the legacy (pre-zip) format cannot be mapped.
            return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ScorerError(
            f"cannot read detoxify checkpoint {path}: the file is corrupt or not a torch checkpoint "
            f"({type(exc).__name__}: {_short(exc, 200)})"
        ) from exc


def _dig(loaded: Mapping[str, Any], dotted: str, path: Path) -> Any:
    node: Any = loaded
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            raise ScorerError(f"{path} is not a detoxify checkpoint: {dotted} is missing")
        node = node[key]
    return node


def _check_checkpoint(
    torch: ModuleType, transformers: ModuleType, loaded: Any, path: Path
) -> tuple[dict[str, Any], list[str], frozenset[str]]:
    """Validate a checkpoint's layout; return its arch args, its (renamed) classes and weight names."""
    if not isinstance(loaded, Mapping) or "config" not in loaded or "state_dict" not in loaded:
        raise ScorerError(
            f"{path} is not a detoxify checkpoint: expected a dict with 'config' and 'state_dict', "
            f"got {type(loaded).__name__}"
        )
    args = _dig(loaded, "config.arch.args", path)
    if not isinstance(args, Mapping):
        raise ScorerError(f"{path}: config.arch.args must be a mapping")
    arch = {key: args.get(key) for key in ("model_type", "model_name", "tokenizer_name", "num_classes")}
    for key in ("model_type", "model_name", "tokenizer_name"):
        if not isinstance(arch[key], str) or not arch[key]:
            raise ScorerError(f"{path}: config.arch.args.{key} must be a non-empty string, got {arch[key]!r}")
    num_classes = arch["num_classes"]
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ScorerError(f"{path}: config.arch.args.num_classes must be a positive integer, got {num_classes!r}")
    model_class = getattr(transformers, arch["model_name"], None)
    if not isinstance(model_class, type) or not hasattr(model_class, "config_class"):
        raise ScorerError(f"{path}: config.arch.args.model_name {arch['model_name']!r} is not a transformers model")
    if not isinstance(getattr(transformers, arch["tokenizer_name"], None), type):
        raise ScorerError(
            f"{path}: config.arch.args.tokenizer_name {arch['tokenizer_name']!r} is not a transformers tokenizer"
        )

    raw_classes = _dig(loaded, "config.dataset.args.classes", path)
    if isinstance(raw_classes, str) or not isinstance(raw_classes, Sequence) or not raw_classes:
        raise ScorerError(f"{path}: config.dataset.args.classes must be a non-empty list of names")
    if not all(isinstance(c, str) and c for c in raw_classes):
        raise ScorerError(f"{path}: config.dataset.args.classes must hold non-empty strings, got {raw_classes!r}")
    classes = [_RENAMED_CLASSES.get(c, c) for c in raw_classes]
    if len(set(classes)) != len(classes):
        raise ScorerError(f"{path}: class names repeat once detoxify's renames apply: {classes}")
    if len(classes) != num_classes:
        raise ScorerError(
            f"{path}: config.arch.args.num_classes is {num_classes} but config.dataset.args.classes "
            f"lists {len(classes)} names"
        )

    state_dict = loaded["state_dict"]
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise ScorerError(f"{path}: state_dict must be a non-empty mapping of weight names to tensors")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise ScorerError(f"{path}: state_dict must map weight names to tensors")
    heads = [name for name in state_dict if _CLASSIFIER_RE.search(name)]
    if heads:
        rows = state_dict[heads[-1]].shape[0]
        if rows != num_classes:
            raise ScorerError(
                f"{path}: the classifier ({heads[-1]}) has {rows} outputs but config.arch.args.num_classes "
                f"is {num_classes}"
            )
    return arch, classes, frozenset(state_dict)


def _check_config_dir(config_dir: Path, num_classes: int, path: Path) -> None:
    """The saved config must describe as many labels as the checkpoint has classes."""
    config_file = config_dir / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScorerError(
            f"{config_dir} has no config.json: save the model config there with save_pretrained"
        ) from None
    except (OSError, ValueError) as exc:
        raise ScorerError(f"cannot read {config_file}: {exc}") from exc
    if not isinstance(config, dict):
        raise ScorerError(f"{config_file} does not hold a JSON object")
    id2label = config.get("id2label")
    num_labels = len(id2label) if isinstance(id2label, dict) else config.get("num_labels", 2)
    if num_labels != num_classes:
        raise ScorerError(
            f"{config_file} describes {num_labels} labels but checkpoint {path.name} has {num_classes} classes; "
            f"save the config with num_labels={num_classes}"
        )


def _rebased_checkpoint(torch: ModuleType, loaded: Mapping[str, Any], model_type: str) -> io.BytesIO:
    """An in-memory copy of the checkpoint whose config.arch.args.model_type is model_type."""
    config = dict(loaded["config"])
    arch = dict(config["arch"])
    arch["args"] = {**arch["args"], "model_type": model_type}
    config["arch"] = arch
    buffer = io.BytesIO()
    torch.save({**loaded, "config": config}, buffer)
    buffer.seek(0)
    return buffer


def _check_loaded(model: Any, *, source: str, weight_names: frozenset[str] | None = None) -> None:
    """Checks on the built model: one output per class, every weight from the file, sane truncation."""
    num_labels = model.model.config.num_labels
    if num_labels != len(model.class_names):
        raise ScorerError(f"{source}: the model has {num_labels} outputs for {len(model.class_names)} classes")
    if weight_names is not None:
        # transformers silently gives random values to weights a file lacks.
        missing = _missing_weights(model.model, weight_names)
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise ScorerError(
                f"detoxify checkpoint {source} lacks weights for {len(missing)} of the model's parameters "
                f"({shown}); it does not match config.arch.args.model_name or was saved with other key names"
            )
    _cap_tokenizer_length(model.tokenizer, model.model.config)


def _missing_weights(module: Any, weight_names: frozenset[str]) -> list[str]:
    prefix = getattr(module, "base_model_prefix", "") or ""
    missing = []
    for name, _ in module.named_parameters():
        candidates = {name}
        if prefix and name.startswith(prefix + "."):
            candidates.add(name[len(prefix) + 1 :])
        elif prefix:
            candidates.add(f"{prefix}.{name}")
        # Very old BERT checkpoints call LayerNorm's parameters gamma and beta.
        candidates |= {re.sub(r"\.weight$", ".gamma", c) for c in candidates if "LayerNorm" in c}
        candidates |= {re.sub(r"\.bias$", ".beta", c) for c in candidates if "LayerNorm" in c}
        if not candidates & weight_names:
            missing.append(name)
    return missing


def _cap_tokenizer_length(tokenizer: Any, config: Any) -> None:
    """Make truncation effective when the saved tokenizer does not say how long a sequence may be."""
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return
    # RoBERTa-style models reserve two positions (offset by the padding index).
    limit = min(512, positions - 2 if getattr(config, "model_type", "") in _ROBERTA_LIKE else positions)
    if not isinstance(tokenizer.model_max_length, int) or tokenizer.model_max_length > limit:
        tokenizer.model_max_length = limit


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
