"""Whether scores mean what they say (Brier score, expected calibration error) and what a threshold does.

A threshold flags a score at or above it, as the triage policy applies thresholds.
"""
from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

ECE_BINS = 10


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)


def brier(y: np.ndarray, predicted: np.ndarray) -> float:
    """Mean squared distance between each probability and what happened (0 is perfect)."""
    return float(np.mean((np.asarray(predicted, dtype=np.float64) - y) ** 2))


def expected_calibration_error(y: np.ndarray, predicted: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error over equal-width bins of [0, 1].

    Per bin, the gap between the mean score and the share of positives, weighted by the bin's share
    of rows; the last bin includes 1.0.
    """
    predicted = np.clip(np.asarray(predicted, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(y, dtype=np.float64)
    if predicted.size == 0:
        raise ValueError("no scores to measure")
    which = np.minimum((predicted * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(predicted[mask].mean() - y[mask].mean())
    return float(total / predicted.size)


def confusion(y: np.ndarray, predicted: np.ndarray, threshold: float) -> dict[str, Any]:
    """Confusion counts, precision, recall and F1 when scores at or over threshold are flagged."""
    flagged = np.asarray(predicted) >= threshold
    truth = np.asarray(y) == 1
    tp, fp = int((flagged & truth).sum()), int((flagged & ~truth).sum())
    fn, tn = int((~flagged & truth).sum()), int((~flagged & ~truth).sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if tp + fn else None)
    return {"threshold": float(threshold), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": _rounded(precision), "recall": _rounded(recall), "f1": _rounded(f1)}


def calibration_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """The Brier score and the 10-bin ECE of one label's scores."""
    return {"brier": _rounded(brier(y, predicted)), "ece": _rounded(expected_calibration_error(y, predicted))}


def policy_table(y: np.ndarray, predicted: np.ndarray, label: str,
                 policy_thresholds: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """Confusion counts, precision, recall and F1 at each policy setting's threshold for this label."""
    rows = []
    for setting, thresholds in policy_thresholds.items():
        if label in thresholds:
            rows.append({"setting": setting, **confusion(y, predicted, float(thresholds[label]))})
    return rows


def write_scores_csv(path: str | os.PathLike[str], label_rows: Sequence[Mapping[str, int]],
                     scores: Sequence[Mapping[str, float]], labels: Sequence[str]) -> int:
    """One CSV row per input text: its row number (from 1), its true labels and each label's score."""
    if len(label_rows) != len(scores):
        raise ValueError("label rows and scores differ in length")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", *(f"true_{label}" for label in labels), *(f"score_{label}" for label in labels)])
        for number, (truth, score) in enumerate(zip(label_rows, scores, strict=True), start=1):
            writer.writerow([number, *(int(truth[label]) for label in labels),
                             *(f"{float(score[label]):.6f}" for label in labels)])
    return len(scores)
