"""Measuring scorers on labelled texts: ROC-AUC, average precision, and what each threshold would flag.

``evaluate`` measures a trained scorer; ``cross_validate`` measures how well a fresh
``SklearnScorer`` learns a data set (k stratified folds); ``format_table`` renders either result
for people. Results are plain JSON-ready dicts. A threshold flags a text when its score is at or
above it, as the triage policy applies thresholds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .metrics import calibration_metrics, policy_table
from .scorer import Scorer
from .sklearn_model import SklearnScorer
from .tfidf_training import merge_params

DEFAULT_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
DEFAULT_BATCH = 1_000

# Named SklearnScorer parameter sets, kept where they win on data they were not trained on
# (benchmarks/quality.py; benchmarks/RESULTS.md, "Models that generalise"):
# "small" weights features by naive-Bayes log-count ratios and regularises more: trained on MLMA
#   English, it ranks Davidson at ROC-AUC 0.665 against 0.529 for "plain" and 0.607 for a bare
#   TF-IDF + LR, the best of any model across data sets.
# "fr" is "small" keeping accents, which carry meaning in French: the best on MLMA French in 5-fold
#   cross-validation (0.743, plain 0.697); no other French data set exists here to test it across.
# "nb" (naive-Bayes weighting alone) was dropped: never the best across data sets, 2-4x the
#   training time; `--param nb_weighting=true` still gives it.
PARAM_PRESETS: dict[str, dict[str, Any]] = {
    "plain": {},
    "small": {"nb_weighting": True, "C": 0.25},
    "fr": {"nb_weighting": True, "C": 0.25, "strip_accents": None},
}

Progress = Callable[[int], None]


def _check_rows(texts: Sequence[Any], label_rows: Sequence[Mapping[str, int]]) -> None:
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of texts, not a single string")
    if len(texts) != len(label_rows):
        raise ValueError(f"got {len(texts)} texts but {len(label_rows)} label rows")
    if not texts:
        raise ValueError("nothing to evaluate: no texts")


def _column(label_rows: Sequence[Mapping[str, int]], label: str) -> np.ndarray:
    try:
        values = np.fromiter((int(row[label]) for row in label_rows), dtype=np.int8, count=len(label_rows))
    except (KeyError, TypeError):
        raise ValueError(f"a label row has no value for {label!r}") from None
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError(f"values of {label!r} must be 0 or 1")
    return values


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)


def score_in_batches(
    scorer: Scorer, texts: Sequence[Any], batch_size: int = DEFAULT_BATCH, progress: Progress | None = None
) -> list[dict[str, float]]:
    """scorer.score over texts in chunks, calling progress(n) after each chunk of n texts."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    scores: list[dict[str, float]] = []
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start : start + batch_size])
        scores.extend(scorer.score(chunk))
        if progress is not None:
            progress(len(chunk))
    return scores


def label_metrics(
    y: np.ndarray, predicted: np.ndarray, thresholds: Sequence[float] = DEFAULT_THRESHOLDS
) -> dict[str, Any]:
    """ROC-AUC, average precision and a precision / recall / flag-rate table for one label."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    rows, positives = int(y.size), int(y.sum())
    result: dict[str, Any] = {"rows": rows, "positives": positives, "roc_auc": None, "average_precision": None}
    if positives in (0, rows):
        result["reason"] = f"only one class present ({'all positive' if positives else 'no positives'})"
    else:
        result["roc_auc"] = _rounded(roc_auc_score(y, predicted))
        result["average_precision"] = _rounded(average_precision_score(y, predicted))
    if rows:
        result.update(calibration_metrics(y, predicted))
    table = []
    for threshold in thresholds:
        flagged = predicted >= threshold
        n_flagged = int(flagged.sum())
        hits = int((flagged & (y == 1)).sum())
        table.append(
            {
                "threshold": float(threshold),
                "flagged": n_flagged,
                "flag_rate": _rounded(n_flagged / rows if rows else None),
                # Undefined rather than 0 or 1: nothing flagged says nothing about precision.
                "precision": _rounded(hits / n_flagged) if n_flagged else None,
                "recall": _rounded(hits / positives) if positives else None,
            }
        )
    result["thresholds"] = table
    return result


def evaluate(
    scorer: Scorer,
    texts: Sequence[Any],
    label_rows: Sequence[Mapping[str, int]],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    *,
    labels: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    policy_thresholds: Mapping[str, Mapping[str, float]] | None = None,
    scores_out: list[dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Score texts with scorer and measure each label the rows and the scorer share (or ``labels``).

    policy_thresholds ({setting: {label: threshold}}) adds confusion counts, precision, recall and F1
    at each; scores_out, a list, receives every text's scores.
    """
    _check_rows(texts, label_rows)
    thresholds = sorted(float(t) for t in thresholds)
    if any(not 0.0 <= t <= 1.0 for t in thresholds):
        raise ValueError("thresholds must lie in [0, 1]")
    in_rows = list(label_rows[0])
    if labels is None:
        labels = [label for label in in_rows if label in scorer.labels]
        if not labels:
            raise ValueError(f"the data's labels {in_rows} and the scorer's {list(scorer.labels)} have none in common")
    unknown = [label for label in labels if label not in scorer.labels]
    if unknown:
        raise ValueError(f"the scorer does not produce {unknown}; it has {list(scorer.labels)}")
    truth = {label: _column(label_rows, label) for label in labels}

    started = time.perf_counter()
    scores = score_in_batches(scorer, texts, batch_size, progress)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "kind": "evaluation",
        "model": {"name": getattr(scorer, "name", None), "version": getattr(scorer, "version", None)},
        "rows": len(texts),
        "score_seconds": round(seconds, 3),
        "labels": {},
    }
    not_scored = [label for label in in_rows if label not in labels]
    if not_scored:
        result["not_evaluated"] = not_scored
    for label in labels:
        predicted = np.fromiter((s[label] for s in scores), dtype=np.float64, count=len(scores))
        result["labels"][label] = label_metrics(truth[label], predicted, thresholds)
        if policy_thresholds:
            result["labels"][label]["policy"] = policy_table(truth[label], predicted, label, policy_thresholds)
    if scores_out is not None:
        scores_out.extend(scores)
    return result


def holdout_split(
    label_rows: Sequence[Mapping[str, int]], fraction: float = 0.2, seed: int = 0, stratify_label: str | None = None
) -> tuple[list[int], list[int]]:
    """(train indexes, held-out indexes), stratified on one label when both classes allow it."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 1.0:
        raise ValueError("the held-out fraction must be between 0 and 1")
    indexes = np.arange(len(label_rows))
    if len(indexes) < 2:
        raise ValueError("need at least 2 rows to hold some out")
    stratify = None
    if stratify_label is not None:
        y = _column(label_rows, stratify_label)
        counts = np.bincount(y, minlength=2)
        # Stratifying needs two of each class, and room for both in each part.
        n_test = math.ceil(fraction * len(y))
        if counts.min() >= 2 and 2 <= n_test <= len(y) - 2:
            stratify = y
    train, test = train_test_split(indexes, test_size=fraction, random_state=seed, stratify=stratify)
    return sorted(int(i) for i in train), sorted(int(i) for i in test)


# What cross_validate reports per label, per fold and summed up.
_CV_METRICS = ("roc_auc", "average_precision", "brier", "ece")


def _summary(values: list[float | None]) -> dict[str, Any]:
    known = [v for v in values if v is not None]
    return {
        "mean": _rounded(float(np.mean(known))) if known else None,
        "std": _rounded(float(np.std(known))) if known else None,
        "per_fold": values,
    }


def cross_validate(
    texts: Sequence[Any],
    label_rows: Sequence[Mapping[str, int]],
    folds: int = 5,
    seed: int = 0,
    labels: Sequence[str] = ("toxicity",),
    *,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    trainer: Callable[[list[Any], list[dict[str, int]]], Scorer] | None = None,
) -> dict[str, Any]:
    """Train a fresh scorer on each of k stratified splits; per-fold and mean ROC-AUC, AP, Brier and ECE.

    The scorer is an SklearnScorer with params, or what trainer(texts, rows) returns. Folds are
    stratified on the first label; progress(1) is called after each fold.
    """
    from sklearn.model_selection import StratifiedKFold

    _check_rows(texts, label_rows)
    labels = tuple(labels)
    if not labels:
        raise ValueError("labels must name at least one label")
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    merged = merge_params(params) if trainer is None else dict(params or {})
    truth = {label: _column(label_rows, label) for label in labels}
    first = truth[labels[0]]
    _check_stratifiable(first, folds, labels[0])

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    per_label: dict[str, dict[str, list[float | None]]] = {label: {n: [] for n in _CV_METRICS} for label in labels}
    if trainer is None:
        def trainer(fold_texts: list[Any], fold_rows: list[dict[str, int]]) -> Scorer:
            return SklearnScorer.train(fold_texts, fold_rows, name="cross-validation", labels=labels, params=params)
    started = time.perf_counter()
    for train, test in splitter.split(np.zeros(len(first)), first):
        scorer = trainer([texts[i] for i in train], [{label: int(truth[label][i]) for label in labels} for i in train])
        _score_fold(scorer, [texts[i] for i in test], {label: truth[label][test] for label in labels}, per_label)
        if progress is not None:
            progress(1)

    return {
        "kind": "cross_validation",
        "folds": folds,
        "seed": seed,
        "rows": len(texts),
        "params": merged,
        "seconds": round(time.perf_counter() - started, 1),
        "labels": {
            label: {
                "rows": len(texts),
                "positives": int(truth[label].sum()),
                **{name: _summary(per_label[label][name]) for name in _CV_METRICS},
            }
            for label in labels
        },
    }


def _check_stratifiable(y: np.ndarray, folds: int, label: str) -> None:
    """Every fold needs a row of each class of the label the folds are stratified on."""
    smallest = int(np.bincount(y, minlength=2).min())
    if smallest < folds:
        raise ValueError(
            f"{folds} folds need at least {folds} rows of each class of {label!r}; the smaller class has {smallest}"
        )


def _score_fold(scorer: Scorer, texts: list[Any], truth: Mapping[str, np.ndarray],
                per_label: dict[str, dict[str, list[float | None]]]) -> None:
    """Score one fold's held-out texts; append each label's ROC-AUC, AP, Brier and ECE to per_label."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores = scorer.score(texts)
    for label, y in truth.items():
        predicted = np.fromiter((s[label] for s in scores), dtype=np.float64, count=len(scores))
        # A fold where a label has one class only has no ROC-AUC or AP: recorded as None.
        both = 0 < int(y.sum()) < y.size
        auc = _rounded(roc_auc_score(y, predicted)) if both else None
        ap = _rounded(average_precision_score(y, predicted)) if both else None
        per_label[label]["roc_auc"].append(auc)
        per_label[label]["average_precision"].append(ap)
        for name, value in calibration_metrics(y, predicted).items():
            per_label[label][name].append(value)


def describe_cross_validation(cv: Mapping[str, Any] | None) -> str:
    """What cross-validated figures are, in words a reader cannot mistake for a test on other data."""
    if cv is None:
        return "not measured (--folds 0)"
    parts = []
    for label, m in cv["labels"].items():
        auc, ece = m["roc_auc"], m["ece"]
        if auc["mean"] is None:
            parts.append(f"{label} ROC-AUC undefined (a class is missing in every fold)")
        else:
            parts.append(f"{label} ROC-AUC {auc['mean']:.3f} ± {auc['std']:.3f}, ECE {ece['mean']:.3f}")
    return (f"{cv['folds']}-fold cross-validation, mean ± std over the folds: {'; '.join(parts)}. "
            "An estimate on the training file's own distribution; other data usually scores lower.")


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _policy_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The confusion counts at the policy's thresholds, one line per setting."""
    lines = ["  at the policy's thresholds:"] if rows else []
    for row in rows:
        lines.append(
            f"    {row['setting']} {row['threshold']:.2f}: precision {_fmt(row['precision'])}, "
            f"recall {_fmt(row['recall'])}, F1 {_fmt(row['f1'])}; "
            f"TP {row['tp']} FP {row['fp']} FN {row['fn']} TN {row['tn']}"
        )
    return lines


def format_table(result: Mapping[str, Any]) -> str:
    """A plain-text report of an evaluate() or cross_validate() result."""
    lines: list[str] = []
    if result.get("kind") == "cross_validation":
        lines.append(f"{result['folds']}-fold cross-validation on {result['rows']} rows (seed {result['seed']})")
        for label, m in result["labels"].items():
            auc, ap = m["roc_auc"], m["average_precision"]
            ece = m.get("ece") or {"mean": None, "std": None}
            lines.append(
                f"  {label}: {m['positives']} positive; ROC-AUC {_fmt(auc['mean'])} ± {_fmt(auc['std'])}, "
                f"AP {_fmt(ap['mean'])} ± {_fmt(ap['std'])}, ECE {_fmt(ece['mean'])} ± {_fmt(ece['std'])}"
            )
            lines.append("    per fold ROC-AUC: " + " ".join(_fmt(v) for v in auc["per_fold"]))
        return "\n".join(lines)

    model = result.get("model") or {}
    name = " ".join(str(part) for part in (model.get("name"), model.get("version")) if part)
    lines.append(f"{name or 'model'} on {result['rows']} rows")
    for label, m in result["labels"].items():
        head = f"{label}: {m['positives']}/{m['rows']} positive"
        if m.get("roc_auc") is None:
            head += f"; ROC-AUC and AP undefined: {m.get('reason', 'one class only')}"
        else:
            head += f"; ROC-AUC {_fmt(m['roc_auc'])}, AP {_fmt(m['average_precision'])}"
        head += f"; Brier {_fmt(m.get('brier'))}, ECE (10 bins) {_fmt(m.get('ece'))}"
        lines.append(head)
        lines.append(f"  {'threshold':>9}  {'precision':>9}  {'recall':>6}  {'flag rate':>9}  {'flagged':>7}")
        for row in m["thresholds"]:
            lines.append(
                f"  {row['threshold']:>9.2f}  {_fmt(row['precision']):>9}  {_fmt(row['recall']):>6}"
                f"  {_fmt(row['flag_rate']):>9}  {row['flagged']:>7}"
            )
        lines.extend(_policy_lines(m.get("policy") or []))
    if result.get("not_evaluated"):
        lines.append(f"not evaluated (the model does not produce them): {', '.join(result['not_evaluated'])}")
    return "\n".join(lines)
