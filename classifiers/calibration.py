"""Per-label isotonic calibration against the jury's verdicts, so a threshold of 0.8 means what it says.

A calibration is stored as JSON (breakpoints of a monotone map), never as a pickle.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .scorer import ScorerError

CALIBRATION_FILE = "calibration.json"
# Fewer examples than this, or only one class, and a label keeps its raw scores.
MIN_EXAMPLES = 30


@dataclass(frozen=True)
class Calibration:
    """Monotone maps from raw to calibrated probability, one per label, for one scorer version."""

    scorer: str  # "<name>:<version>" of the scorer it was fitted on
    maps: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(default_factory=dict)
    examples: int = 0

    @property
    def version(self) -> str:
        """A short hash of the maps: any change to them is a new version."""
        body = json.dumps({"scorer": self.scorer, "maps": self.maps}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:8]

    def apply(self, scores: Mapping[str, float]) -> dict[str, float]:
        """Calibrated probabilities (labels without a map pass through)."""
        out = {}
        for label, value in scores.items():
            if label in self.maps:
                xs, ys = self.maps[label]
                value = float(np.interp(value, xs, ys))
            out[label] = min(1.0, max(0.0, float(value)))
        return out

    def save(self, model_dir: str | os.PathLike[str]) -> Path:
        """Write model_dir/calibration.json atomically."""
        path = Path(model_dir) / CALIBRATION_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"scorer": self.scorer, "examples": self.examples,
                                   "maps": {k: [list(x), list(y)] for k, (x, y) in self.maps.items()}}))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str]) -> Calibration | None:
        """The calibration in model_dir, or None if there is none; a corrupt file is a ScorerError."""
        path = Path(model_dir) / CALIBRATION_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            maps = {label: (tuple(map(float, xs)), tuple(map(float, ys))) for label, (xs, ys) in data["maps"].items()}
            for label, (xs, ys) in maps.items():
                if len(xs) != len(ys) or len(xs) < 2 or list(xs) != sorted(xs):
                    raise ValueError(f"label {label}: breakpoints must be sorted pairs")
            return cls(scorer=str(data["scorer"]), maps=maps, examples=int(data.get("examples", 0)))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ScorerError(f"{path} is not a usable calibration: {error}") from error


def fit_calibration(scorer_id: str, raw: Sequence[Mapping[str, float]], truth: Sequence[Mapping[str, int]],
                    labels: Sequence[str], min_examples: int = MIN_EXAMPLES) -> Calibration:
    """Fit an isotonic map per label from raw scores and the jury's 0/1 answers."""
    from sklearn.isotonic import IsotonicRegression

    if len(raw) != len(truth):
        raise ValueError("raw scores and answers differ in length")
    maps = {}
    for label in labels:
        x = np.array([float(r.get(label, 0.0)) for r in raw])
        y = np.array([int(t.get(label, 0)) for t in truth])
        if len(x) < min_examples or y.min(initial=0) == y.max(initial=0):
            continue
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
        xs, ys = model.X_thresholds_, model.y_thresholds_
        if len(xs) < 2:
            continue
        maps[label] = (tuple(float(v) for v in xs), tuple(float(v) for v in ys))
    return Calibration(scorer=scorer_id, maps=maps, examples=len(raw))


class CalibratedScorer:
    """A scorer whose outputs go through a calibration fitted on it."""

    def __init__(self, base: Any, calibration: Calibration):
        if calibration.scorer != f"{base.name}:{base.version}":
            raise ScorerError(f"calibration was fitted on {calibration.scorer}, not on {base.name}:{base.version}")
        self.base = base
        self.calibration = calibration
        self.name = f"{base.name}+calibrated"
        self.version = f"{base.version}.{calibration.version}"
        self.labels = tuple(base.labels)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Score with the base scorer, then calibrate."""
        return [self.calibration.apply(scores) for scores in self.base.score(texts)]


def with_calibration(scorer: Any, model_dir: str | os.PathLike[str]) -> Any:
    """Wrap the scorer with model_dir's calibration when one exists for exactly this scorer version."""
    calibration = Calibration.load(model_dir)
    if calibration is None or calibration.scorer != f"{scorer.name}:{scorer.version}":
        return scorer
    return CalibratedScorer(scorer, calibration)
