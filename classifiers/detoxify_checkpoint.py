"""Checks on a detoxify checkpoint and on the model detoxify builds from it.

A bad file fails here with a message that names what is wrong, before detoxify builds anything;
the built model is then checked for an output per class and every weight taken from the file.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from .scorer import ScorerError

log = logging.getLogger(__name__)

# detoxify renames the Jigsaw 2018 column names to these (detoxify.load_checkpoint).
_RENAMED_CLASSES = {"toxic": "toxicity", "severe_toxic": "severe_toxicity", "identity_hate": "identity_attack"}
# The last layer of a sequence classifier (BERT/ALBERT: classifier, RoBERTa/XLM-R: classifier.out_proj).
_CLASSIFIER_RE = re.compile(r"(?:^|\.)classifier(?:\.out_proj)?\.weight$")
# Tokenizers saved without a model_max_length report this huge sentinel and never truncate.
_ROBERTA_LIKE = {"roberta", "xlm-roberta", "camembert", "longformer"}


def short_error(exc: BaseException, limit: int = 400) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_checkpoint(torch: ModuleType, path: Path) -> Any:
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
            f"({type(exc).__name__}: {short_error(exc, 200)})"
        ) from exc


def _dig(loaded: Mapping[str, Any], dotted: str, path: Path) -> Any:
    node: Any = loaded
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            raise ScorerError(f"{path} is not a detoxify checkpoint: {dotted} is missing")
        node = node[key]
    return node


def check_checkpoint(
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


def check_config_dir(config_dir: Path, num_classes: int, path: Path) -> None:
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


def rebased_checkpoint(torch: ModuleType, loaded: Mapping[str, Any], model_type: str) -> io.BytesIO:
    """An in-memory copy of the checkpoint whose config.arch.args.model_type is model_type."""
    config = dict(loaded["config"])
    arch = dict(config["arch"])
    arch["args"] = {**arch["args"], "model_type": model_type}
    config["arch"] = arch
    buffer = io.BytesIO()
    torch.save({**loaded, "config": config}, buffer)
    buffer.seek(0)
    return buffer



def checkpoint_source(torch: ModuleType, loaded: Mapping[str, Any], arch: Mapping[str, Any], path: Path,
                      config_path: Path) -> Any:
    """What to hand detoxify: the checkpoint's path, or an in-memory copy pointing at config_path."""
    if Path(arch["model_type"]).is_dir():
        return str(path)
    # detoxify always reads a config from config.arch.args.model_type, even when given
    # a config folder: a hub id ("bert-base-uncased") fails offline, and a folder baked
    # in on another machine is missing here. Hand it a copy that points at config_dir.
    log.info(
        "detoxify checkpoint %s: model_type %r is not a local folder; using %s",
        path.name,
        arch["model_type"],
        config_path,
    )
    return rebased_checkpoint(torch, loaded, str(config_path))


def build_model(detoxify: ModuleType, model_type: str, checkpoint: Any, *, device: str, path: Path,
                config_path: Path, num_classes: int) -> Any:
    """detoxify's model from a checked checkpoint, its failures turned into ScorerErrors that say why."""
    try:
        return detoxify.Detoxify(
            model_type, checkpoint=checkpoint, device=device, huggingface_config_path=str(config_path)
        )
    except RuntimeError as exc:
        if "mismatch" in str(exc):
            raise ScorerError(
                f"detoxify checkpoint {path}: its weights do not fit the model described by {config_path} "
                f"(check hidden sizes, layers and num_labels={num_classes}): {short_error(exc)}"
            ) from exc
        raise ScorerError(f"cannot build the detoxify model from {path}: {short_error(exc)}") from exc
    except OSError as exc:
        raise ScorerError(
            f"cannot load the config and tokenizer for detoxify checkpoint {path} from {config_path} "
            f"(expected the files written by save_pretrained): {short_error(exc)}"
        ) from exc
    except Exception as exc:
        raise ScorerError(
            f"cannot build the detoxify model from {path}: {type(exc).__name__}: {short_error(exc)}"
        ) from exc


def check_loaded(model: Any, *, source: str, weight_names: frozenset[str] | None = None) -> None:
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
