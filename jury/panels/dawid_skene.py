"""Dawid–Skene for two classes: per-juror confusion matrices and case posteriors, by EM.

Pure numpy: no Flask, no database. Class 1 is "violates" (a remove vote), class 0 "keeps".
Each juror has a sensitivity P(remove vote | violates) and a specificity P(keep vote | keeps),
smoothed by Beta pseudo-counts so a juror with few votes stays near a sane prior accuracy.
Items with a known answer (gold cases, a lead's decision) keep their label fixed: they seed the
juror matrices instead of being estimated. An optional per-item feature (a model score on the
log-odds scale) gives each item its own prior, through a logistic calibration fitted in the
same EM, so the model counts for what it is worth on this network and no more. Items may come in
groups (`groups`: whether users reported the post, `REPORTED`, or only the model flagged it,
`FLAGGED`), each with a calibration of its own: what a score means differs between the two. A
reported post scored 0.3 is often a violation the model missed, a post nobody reported is flagged
only for its score, and one line through both would read each wrongly.
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# A new juror is taken to be right 3 times in 4 on both classes, worth 4 votes of evidence.
PRIOR_ACCURACY = 0.75
PRIOR_STRENGTH = 4.0
# Matrices are kept away from 0 and 1 so one vote never counts as certainty.
CLIP = 1e-3
# Ridge on the calibration's coefficients (a standard normal prior on each): a handful of items,
# or items whose labels the prior itself suggested, cannot make the model all-powerful.
CALIBRATION_RIDGE = 1.0
# No calibration coefficient beyond this: a prior of e^10 to 1 is certainty enough.
CALIBRATION_BOUND = 10.0
# The item groups of `groups=`: a post only the model flagged, and a post users reported.
FLAGGED, REPORTED = 0, 1


@dataclass(frozen=True)
class JurorMatrix:
    """A juror's estimated 2x2 confusion matrix, as sensitivity and specificity."""

    sensitivity: float = PRIOR_ACCURACY
    specificity: float = PRIOR_ACCURACY
    votes: float = 0.0  # evidence behind the estimate (soft votes seen)

    def log_likelihood_ratio(self, label: int) -> float:
        """log P(vote | violates) - log P(vote | keeps) for a vote (1 remove, 0 keep)."""
        sens = min(max(self.sensitivity, CLIP), 1 - CLIP)
        spec = min(max(self.specificity, CLIP), 1 - CLIP)
        if label:
            return math.log(sens / (1 - spec))
        return math.log((1 - sens) / spec)

    @property
    def accuracy(self) -> float:
        """Balanced accuracy: the mean of sensitivity and specificity."""
        return (self.sensitivity + self.specificity) / 2


@dataclass(frozen=True)
class Calibration:
    """Prior log-odds of "violates" = intercept + slope * feature (slope 0: the base rate only)."""

    intercept: float = 0.0
    slope: float = 0.0

    def log_odds(self, feature: float | None) -> float:
        """Prior log-odds for an item with this feature (None: no model score)."""
        if feature is None or not math.isfinite(feature):
            return self.intercept
        return self.intercept + self.slope * feature


@dataclass
class Estimate:
    """What EM found: juror matrices, item posteriors, the prior's calibration per item group."""

    jurors: dict[Hashable, JurorMatrix]
    posteriors: dict[Hashable, float]
    calibrations: dict[int, Calibration]
    iterations: int
    log_likelihood: float
    converged: bool
    known: dict[Hashable, int] = field(default_factory=dict)

    @property
    def calibration(self) -> Calibration:
        """The calibration of FLAGGED items (the only one when no groups were given)."""
        return self.calibrations[FLAGGED]


def sigmoid(x):
    """Logistic function, numerically safe for arrays and floats."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def posterior(prior_log_odds: float, votes: Iterable[tuple[JurorMatrix, int]]) -> float:
    """P(violates) for one item from its prior log-odds and its (matrix, label) votes."""
    total = prior_log_odds + sum(matrix.log_likelihood_ratio(label) for matrix, label in votes)
    return float(sigmoid(total))


def _beta_rate(hits, trials, prior_accuracy: float, strength: float):
    """Smoothed rate: (a + hits) / (a + b + trials) with a + b = strength."""
    return (prior_accuracy * strength + hits) / (strength + trials)


def _fit_calibration(features: np.ndarray, targets: np.ndarray, start: Calibration) -> Calibration:
    """Weighted logistic regression of soft targets on one feature (Newton, ridge-damped)."""
    w = np.array([start.intercept, start.slope], dtype=float)
    x = np.column_stack([np.ones_like(features), features])
    ridge = CALIBRATION_RIDGE * np.eye(2)
    for _ in range(25):
        p = sigmoid(x @ w)
        gradient = x.T @ (targets - p) - ridge @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        # Damped Newton: big steps are where logistic fits on near-separable data run away.
        largest = float(np.max(np.abs(step)))
        if largest > 2.0:
            step *= 2.0 / largest
        w = np.clip(w + step, -CALIBRATION_BOUND, CALIBRATION_BOUND)
        if np.max(np.abs(step)) < 1e-8:
            break
    return Calibration(float(w[0]), float(w[1]))


@dataclass
class _Votes:
    """The votes as arrays: per vote its item (vi), juror (vj) and label (vl); per item its known
    label (where is_known) and its feature (nan where has_feature is false)."""

    item_index: dict[Hashable, int]
    juror_index: dict[Hashable, int]
    vi: np.ndarray
    vj: np.ndarray
    vl: np.ndarray
    is_known: np.ndarray
    known_value: np.ndarray
    feature: np.ndarray
    has_feature: np.ndarray
    group: np.ndarray  # FLAGGED or REPORTED per item

    @property
    def n_items(self) -> int:
        return len(self.item_index)

    @property
    def n_jurors(self) -> int:
        return len(self.juror_index)


def _arrays(rows: Sequence[tuple[Hashable, Hashable, int]], known: Mapping[Hashable, int],
            features: Mapping[Hashable, float] | None, groups: Mapping[Hashable, int] | None) -> _Votes:
    """Index items (voted on, then known) and jurors in order of first appearance; gather the arrays."""
    items: list[Hashable] = list(dict.fromkeys([r[0] for r in rows] + list(known)))
    jurors: list[Hashable] = list(dict.fromkeys(r[1] for r in rows))
    item_index = {item: i for i, item in enumerate(items)}
    juror_index = {juror: j for j, juror in enumerate(jurors)}
    n_items = len(items)
    vi = np.fromiter((item_index[r[0]] for r in rows), dtype=np.int64, count=len(rows))
    vj = np.fromiter((juror_index[r[1]] for r in rows), dtype=np.int64, count=len(rows))
    vl = np.fromiter((r[2] for r in rows), dtype=float, count=len(rows))

    is_known = np.zeros(n_items, dtype=bool)
    known_value = np.zeros(n_items)
    for item, label in known.items():
        is_known[item_index[item]] = True
        known_value[item_index[item]] = label
    feature = np.full(n_items, np.nan)
    for item, value in (features or {}).items():
        if item in item_index and value is not None and math.isfinite(value):
            feature[item_index[item]] = float(value)
    group = np.full(n_items, FLAGGED, dtype=np.int64)
    for item, value in (groups or {}).items():
        if item in item_index:
            group[item_index[item]] = REPORTED if value == REPORTED else FLAGGED
    return _Votes(item_index, juror_index, vi, vj, vl, is_known, known_value, feature, ~np.isnan(feature), group)


def _juror_rates(v: _Votes, t: np.ndarray, prior_accuracy: float,
                 prior_strength: float) -> tuple[np.ndarray, np.ndarray]:
    """M-step: each juror's sensitivity and specificity from the soft labels t, smoothed and clipped."""
    tv = t[v.vi]
    sens = _beta_rate(np.bincount(v.vj, weights=tv * v.vl, minlength=v.n_jurors),
                      np.bincount(v.vj, weights=tv, minlength=v.n_jurors), prior_accuracy, prior_strength)
    spec = _beta_rate(np.bincount(v.vj, weights=(1 - tv) * (1 - v.vl), minlength=v.n_jurors),
                      np.bincount(v.vj, weights=1 - tv, minlength=v.n_jurors), prior_accuracy, prior_strength)
    return np.clip(sens, CLIP, 1 - CLIP), np.clip(spec, CLIP, 1 - CLIP)


def _item_priors(v: _Votes, base: float, calibrations: Mapping[int, Calibration]) -> np.ndarray:
    """Each item's prior log-odds: its group's calibration where it has a feature, else the base rate."""
    prior = np.full(v.n_items, math.log(base / (1 - base)))
    for group, calibration in calibrations.items():
        scored = v.has_feature & (v.group == group)
        prior[scored] = calibration.intercept + calibration.slope * v.feature[scored]
    return prior


def _fit_calibrations(v: _Votes, t: np.ndarray, start: Mapping[int, Calibration]) -> dict[int, Calibration]:
    """M-step for the prior: each group's calibration on its own scored items (at least two of them)."""
    fitted = dict(start)
    for group in (FLAGGED, REPORTED):
        scored = v.has_feature & (v.group == group)
        if scored.sum() >= 2:
            fitted[group] = _fit_calibration(v.feature[scored], t[scored], start[group])
    return fitted


def _posteriors(v: _Votes, prior: np.ndarray, sens: np.ndarray, spec: np.ndarray) -> tuple[np.ndarray, float]:
    """E-step: each item's posterior from its prior and its votes, and the votes' log-likelihood."""
    vj, vl = v.vj, v.vl
    llr = np.where(vl == 1, np.log(sens[vj] / (1 - spec[vj])), np.log((1 - sens[vj]) / spec[vj]))
    evidence = np.bincount(v.vi, weights=llr, minlength=v.n_items)
    # Log-likelihood of the votes (up to the matrices' own priors), for reporting and convergence.
    log_p1 = np.bincount(v.vi, weights=np.where(vl == 1, np.log(sens[vj]), np.log(1 - sens[vj])),
                         minlength=v.n_items)
    log_p0 = np.bincount(v.vi, weights=np.where(vl == 1, np.log(1 - spec[vj]), np.log(spec[vj])),
                         minlength=v.n_items)
    prior_p = sigmoid(prior)
    log_likelihood = float(np.sum(np.where(
        v.is_known, np.where(v.known_value == 1, log_p1, log_p0),
        np.logaddexp(np.log(prior_p) + log_p1, np.log1p(-prior_p) + log_p0))))
    return np.where(v.is_known, v.known_value, sigmoid(prior + evidence)), log_likelihood


def dawid_skene(votes: Iterable[tuple[Hashable, Hashable, int]], known: Mapping[Hashable, int] | None = None,
                features: Mapping[Hashable, float] | None = None, *, class_prior: float | None = None,
                prior_accuracy: float = PRIOR_ACCURACY, prior_strength: float = PRIOR_STRENGTH,
                max_iter: int = 200, tol: float = 1e-6, start: Mapping[int, Calibration] | None = None,
                groups: Mapping[Hashable, int] | None = None) -> Estimate:
    """Run EM over (item, juror, label) votes; label 1 = violates/remove, 0 = keeps.

    known: item -> label, fixed throughout (gold answers). features: item -> real number, the
    model's score on a log-odds scale; items without one get the base rate. groups: item ->
    FLAGGED or REPORTED (FLAGGED where not given); each group's calibration is fitted on its own
    items. class_prior: fix the base rate instead of estimating it (then features are ignored).
    """
    known = {item: int(bool(label)) for item, label in (known or {}).items()}
    rows = [(item, juror, int(bool(label))) for item, juror, label in votes]
    v = _arrays(rows, known, features if class_prior is None else None, groups)
    n_items, n_jurors = v.n_items, v.n_jurors

    # Start from the smoothed share of remove votes: majority voting, softened.
    removes = np.bincount(v.vi, weights=v.vl, minlength=n_items)
    counts = np.bincount(v.vi, minlength=n_items).astype(float)
    t = np.where(v.is_known, v.known_value, (1 + removes) / (2 + counts))
    calibrations = {FLAGGED: Calibration(), REPORTED: Calibration(), **(start or {})}
    base = 0.5 if class_prior is None else class_prior
    log_likelihood = -math.inf
    converged = False
    iteration = 0
    sens = np.full(n_jurors, prior_accuracy)
    spec = np.full(n_jurors, prior_accuracy)
    for iteration in range(1, max_iter + 1):  # noqa: B007 - read after the loop
        # M-step: juror matrices from soft labels, then the prior.
        sens, spec = _juror_rates(v, t, prior_accuracy, prior_strength)
        if class_prior is None:
            base = float((1 + t.sum()) / (2 + n_items))
            calibrations = _fit_calibrations(v, t, calibrations)
        base = min(max(base, CLIP), 1 - CLIP)
        new_t, log_likelihood = _posteriors(v, _item_priors(v, base, calibrations), sens, spec)
        change = float(np.max(np.abs(new_t - t))) if n_items else 0.0
        t = new_t
        if change < tol:
            converged = True
            break
    if class_prior is not None or not v.has_feature.any():
        calibrations = dict.fromkeys(calibrations, Calibration(math.log(base / (1 - base)), 0.0))
    seen = np.bincount(v.vj, minlength=n_jurors).astype(float)
    return Estimate(
        jurors={juror: JurorMatrix(float(sens[j]), float(spec[j]), float(seen[j]))
                for juror, j in v.juror_index.items()},
        posteriors={item: float(t[i]) for item, i in v.item_index.items()},
        calibrations=calibrations, iterations=iteration, log_likelihood=log_likelihood,
        converged=converged, known=known,
    )


def score_feature(probability: float | None) -> float | None:
    """A model probability on the log-odds scale (the feature the calibration uses)."""
    if probability is None:
        return None
    p = min(max(float(probability), 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def explain(prior_log_odds: float, votes: Sequence[tuple[Hashable, JurorMatrix, int]]) -> dict:
    """Every term of a posterior, for a lead: the prior, each vote's weight, the result."""
    terms = [{"juror": juror, "vote": "remove" if label else "keep",
              "sensitivity": round(matrix.sensitivity, 4), "specificity": round(matrix.specificity, 4),
              "log_likelihood_ratio": round(matrix.log_likelihood_ratio(label), 4)}
             for juror, matrix, label in votes]
    total = prior_log_odds + sum(matrix.log_likelihood_ratio(label) for _, matrix, label in votes)
    return {"prior": round(float(sigmoid(prior_log_odds)), 6), "prior_log_odds": round(prior_log_odds, 4),
            "votes": terms, "log_odds": round(total, 4), "posterior": round(float(sigmoid(total)), 6)}
