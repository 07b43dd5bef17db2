"""A versioned model directory: each version in its own folder, CURRENT naming the one in use.

Layout::

    model_dir/
        CURRENT                 # the version in use, one line
        <version>/model.joblib  # the fitted model
        <version>/metadata.json # provenance, params, metrics, checksum

Files are written through a temporary file and a rename, and CURRENT moves last, so a reader never
sees a torn file or a half-written version; only names inside model_dir are ever resolved.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .scorer import ScorerError

# Bump when the layout of model.joblib changes, so old files are refused cleanly.
FORMAT = 1
MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CURRENT_FILE = "CURRENT"

# Versions become directory names: only plain, non-hidden names are accepted.
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def version_path(root: Path, version: object, *rest: str) -> Path:
    """Resolve root/version/rest, refusing anything that would land outside root."""
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise ScorerError(f"invalid model version {version!r}: expected letters, digits, '.', '_' or '-'")
    base = root.resolve()
    path = base.joinpath(version, *rest).resolve()
    # Symlinks count too: a version directory pointing elsewhere is refused.
    if path == base or not path.is_relative_to(base):
        raise ScorerError(f"model version {version!r} resolves outside {root}; refusing it")
    return path


def read_metadata(path: Path, version: str) -> dict[str, Any]:
    """A version's metadata.json, refused unless it describes that version in this FORMAT."""
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


def publish_version(root: Path, target: Path, metadata: Mapping[str, Any], version: str) -> None:
    """Write a version's metadata, then point CURRENT at it: CURRENT moves last, so readers never see
    a version that is half written."""
    text = json.dumps(metadata, indent=2, sort_keys=True) + "\n"
    atomic_write(target / METADATA_FILE, lambda fh: fh.write(text.encode("utf-8")))
    atomic_write(root / CURRENT_FILE, lambda fh: fh.write(f"{version}\n".encode("ascii")))


def atomic_write(path: Path, write: Any) -> None:
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


def jsonable(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Metrics as plain JSON values (numpy scalars and arrays become numbers and lists), else ValueError."""

    def convert(value: Any) -> Any:
        # Metrics often arrive as numpy scalars or arrays.
        if isinstance(value, (np.generic, np.ndarray)):
            return value.tolist()
        raise TypeError(f"metrics value {value!r} is not JSON serialisable")

    try:
        return json.loads(json.dumps(dict(metrics), default=convert))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metrics must be JSON serialisable: {exc}") from exc
