"""One label's linear head: a class-balanced logistic regression whose probabilities are calibrated.

Class-balanced weights rank rare labels well but inflate every probability: on a test set with 42 %
positives such a model flagged 90 % of posts at 0.5. The head is therefore calibrated by
cross-fitting, as scikit-learn's ``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` does:
the regression is fitted on k-1 folds and its decision values on the held-out fold are collected,
a Platt sigmoid is fitted on those out-of-fold values, and the regression refitted on every row is
kept. The sigmoid is folded into the regression's weights (sigmoid(a * (x.w + b) + c) is a
logistic regression with weights a*w and intercept a*b + c), so calibrated scoring costs nothing
and the saved format is a plain ``LogisticRegression``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

# Folds of the cross-fitting; a label with fewer positives (or negatives) than two per fold uses
# fewer folds, and one with fewer than MIN_PER_CLASS of either class keeps its raw probabilities.
DEFAULT_CALIBRATION_FOLDS = 5
MIN_PER_CLASS = 8


def fit_head(matrix: Any, y: np.ndarray, params: Mapping[str, Any]) -> LogisticRegression:
    """Fit one label's class-balanced logistic regression, NB-weighted when the params ask for it."""
    model = LogisticRegression(C=params["C"], class_weight="balanced", max_iter=params["max_iter"])
    if not params.get("nb_weighting", False):
        return model.fit(matrix, y)
    # Smoothed log ratio of each feature's share of the positive vs the negative mass.
    positive = np.asarray(matrix[y == 1].sum(axis=0), dtype=np.float64).ravel() + 1.0
    negative = np.asarray(matrix[y == 0].sum(axis=0), dtype=np.float64).ravel() + 1.0
    ratio = np.log((positive / positive.sum()) / (negative / negative.sum()))
    model.fit(_scaled(matrix, ratio), y)
    # (x * r) . w == x . (r * w): folding the ratio into the weights leaves a plain
    # regression on the raw features, so scoring and the saved format are unchanged.
    model.coef_ = model.coef_ * ratio
    return model


def _scaled(matrix: Any, ratio: np.ndarray) -> Any:
    if hasattr(matrix, "multiply"):
        return matrix.multiply(ratio).tocsr()
    return np.asarray(matrix) * ratio


def calibration_folds(y: np.ndarray, wanted: int) -> int:
    """How many folds the cross-fitting of this label can use (0: too few of a class to calibrate)."""
    if wanted < 2:
        return 0
    smaller = int(min((y == 1).sum(), (y == 0).sum()))
    if smaller < MIN_PER_CLASS:
        return 0
    return min(wanted, smaller // 2)


def out_of_fold_logits(matrix: Any, y: np.ndarray, params: Mapping[str, Any], folds: int,
                       seed: int = 0) -> np.ndarray:
    """Each row's decision value from a head fitted without it (k stratified folds)."""
    logits = np.zeros(y.shape[0], dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(y.shape[0]), y):
        head = fit_head(matrix[train], y[train], params)
        logits[test] = head.decision_function(matrix[test])
    return logits


def platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, c) of the sigmoid a*logit + c that best maps decision values to observed rates.

    Platt's smoothed targets keep a separable training set from giving an infinite slope.
    """
    positives, negatives = float((y == 1).sum()), float((y == 0).sum())
    high, low = (positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0)
    targets = np.where(y == 1, high, low)
    # A weighted two-row-per-example regression fits soft targets with a plain LogisticRegression.
    x = np.concatenate([logits, logits]).reshape(-1, 1)
    labels = np.concatenate([np.ones_like(y), np.zeros_like(y)])
    weights = np.concatenate([targets, 1.0 - targets])
    model = LogisticRegression(C=1e4, max_iter=1_000).fit(x, labels, sample_weight=weights)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def fit_calibrated_head(matrix: Any, y: np.ndarray, params: Mapping[str, Any]) -> tuple[LogisticRegression, bool]:
    """The head refitted on every row with its cross-fitted sigmoid folded in; (head, calibrated?)."""
    folds = calibration_folds(y, int(params.get("calibration_folds", DEFAULT_CALIBRATION_FOLDS)))
    head = fit_head(matrix, y, params)
    if not folds:
        return head, False
    a, c = platt(out_of_fold_logits(matrix, y, params, folds), y)
    if a <= 0.0:
        # Held-out rows ranked no better than chance: a sigmoid fitted on that would flatten or
        # invert the model, so its raw probabilities are kept (and said to be uncalibrated).
        return head, False
    head.coef_ = head.coef_ * a
    head.intercept_ = head.intercept_ * a + c
    return head, True
