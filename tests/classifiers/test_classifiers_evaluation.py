"""Evaluation and cross-validation of scorers; the parameter presets, checked on real data when present."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from classifiers import ScorerError, SklearnScorer
from classifiers.datasets import load_labelled_csv
from classifiers.evaluation import (
    DEFAULT_THRESHOLDS,
    PARAM_PRESETS,
    cross_validate,
    evaluate,
    format_table,
    holdout_split,
)
from tests.conftest import shared_file

GOOD = ["lovely", "thanks", "great", "sunny", "friendly", "kind", "delicious", "welcome", "congrats", "cheerful"]
BAD = ["idiot", "moron", "trash", "pathetic", "loser", "scum", "stupid", "worthless", "filthy", "clown"]
FILLER = ["the", "a", "today", "really", "post", "about", "this", "that", "people", "we"]


def synthetic(n: int, seed: int) -> tuple[list[str], list[dict[str, int]]]:
    """Separable texts: toxic ones use insult words, the others friendly words; insult never positive."""
    rng = random.Random(seed)
    texts, rows = [], []
    for i in range(n):
        toxic = i % 3 == 0
        words = rng.sample(BAD if toxic else GOOD, 2) + rng.sample(FILLER, 4)
        rng.shuffle(words)
        texts.append(" ".join(words))
        rows.append({"toxicity": int(toxic), "insult": 0})
    return texts, rows


class FixedScorer:
    """A scorer that returns preset probabilities, to check the arithmetic exactly."""

    name, version, labels = "fixed", "1", ("toxicity",)

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    def score(self, texts):
        return [{"toxicity": self.values[t]} for t in texts]


@pytest.fixture(scope="module")
def separable_model() -> SklearnScorer:
    texts, rows = synthetic(300, seed=1)
    return SklearnScorer.train(texts, rows, labels=("toxicity", "insult"))


def test_evaluate_on_a_separable_set(separable_model) -> None:
    texts, rows = synthetic(240, seed=2)
    done: list[int] = []
    result = evaluate(separable_model, texts, rows, batch_size=100, progress=done.append)
    assert done == [100, 100, 40]
    assert result["rows"] == 240 and result["model"]["version"] == separable_model.version

    toxicity = result["labels"]["toxicity"]
    assert toxicity["rows"] == 240 and toxicity["positives"] == 80
    assert toxicity["roc_auc"] > 0.99 and toxicity["average_precision"] > 0.99
    table = toxicity["thresholds"]
    assert [row["threshold"] for row in table] == list(DEFAULT_THRESHOLDS)
    recalls = [row["recall"] for row in table]
    rates = [row["flag_rate"] for row in table]
    assert recalls == sorted(recalls, reverse=True) and rates == sorted(rates, reverse=True)
    middle = table[DEFAULT_THRESHOLDS.index(0.5)]
    assert middle["precision"] > 0.95 and middle["recall"] > 0.95
    assert middle["flag_rate"] == pytest.approx(1 / 3, abs=0.05)


def test_a_label_with_one_class_has_no_auc_but_a_reason(separable_model) -> None:
    texts, rows = synthetic(60, seed=3)
    insult = evaluate(separable_model, texts, rows)["labels"]["insult"]
    assert insult["roc_auc"] is None and insult["average_precision"] is None
    assert "one class" in insult["reason"]
    assert all(row["recall"] is None for row in insult["thresholds"])
    assert "undefined" in format_table(evaluate(separable_model, texts, rows))


def test_table_arithmetic_on_fixed_scores() -> None:
    scores = {"a": 0.95, "b": 0.7, "c": 0.4, "d": 0.1, "e": 0.05}
    rows = [{"toxicity": v} for v in (1, 0, 1, 0, 0)]
    result = evaluate(FixedScorer(scores), list(scores), rows, thresholds=(0.5, 0.1, 0.99))
    label = result["labels"]["toxicity"]
    by_threshold = {row["threshold"]: row for row in label["thresholds"]}
    assert list(by_threshold) == [0.1, 0.5, 0.99]
    # At or above the threshold flags, as the triage policy does.
    assert by_threshold[0.1] == {"threshold": 0.1, "flagged": 4, "flag_rate": 0.8, "precision": 0.5, "recall": 1.0}
    assert by_threshold[0.5] == {"threshold": 0.5, "flagged": 2, "flag_rate": 0.4, "precision": 0.5, "recall": 0.5}
    assert by_threshold[0.99]["precision"] is None and by_threshold[0.99]["recall"] == 0.0
    assert label["roc_auc"] == pytest.approx(5 / 6, abs=1e-4)


def test_evaluate_only_shared_labels_and_rejects_bad_input(separable_model) -> None:
    rows = [{"toxicity": 1, "threat": 0}, {"toxicity": 0, "threat": 1}]
    result = evaluate(separable_model, ["you idiot", "lovely day"], rows)
    assert list(result["labels"]) == ["toxicity"] and result["not_evaluated"] == ["threat"]
    with pytest.raises(ValueError, match="none in common"):
        evaluate(separable_model, ["x"], [{"threat": 1}])
    with pytest.raises(ValueError, match="does not produce"):
        evaluate(separable_model, ["x"], [{"toxicity": 1}], labels=["threat"])
    with pytest.raises(ValueError):
        evaluate(separable_model, ["x", "y"], [{"toxicity": 1}])
    with pytest.raises(ValueError):
        evaluate(separable_model, ["x"], [{"toxicity": 1}], thresholds=(1.5,))
    with pytest.raises(ValueError, match="0 or 1"):
        evaluate(separable_model, ["x"], [{"toxicity": 2}])


def test_cross_validate_reports_per_fold_and_mean() -> None:
    texts, rows = synthetic(150, seed=4)
    ticks: list[int] = []
    result = cross_validate(texts, rows, folds=3, seed=0, progress=ticks.append)
    assert ticks == [1, 1, 1]
    auc = result["labels"]["toxicity"]["roc_auc"]
    assert len(auc["per_fold"]) == 3 and auc["mean"] > 0.99
    assert result["labels"]["toxicity"]["average_precision"]["mean"] > 0.99
    assert result["folds"] == 3 and result["rows"] == 150 and result["params"]["C"] == 4.0
    assert "3-fold" in format_table(result)
    # Same seed, same folds, same figures.
    assert cross_validate(texts, rows, folds=3, seed=0)["labels"] == result["labels"]


def test_cross_validate_with_a_one_class_label_and_too_few_rows() -> None:
    texts, rows = synthetic(60, seed=5)
    result = cross_validate(texts, rows, folds=3, labels=("toxicity", "insult"))
    assert result["labels"]["insult"]["roc_auc"]["per_fold"] == [None, None, None]
    assert result["labels"]["insult"]["roc_auc"]["mean"] is None
    with pytest.raises(ValueError, match="at least 5 rows of each class"):
        cross_validate(texts[:9], rows[:9], folds=5)
    with pytest.raises(ScorerError, match="unknown parameter"):
        cross_validate(texts, rows, folds=3, params={"depth": 3})


def test_holdout_split_is_stratified_and_reproducible() -> None:
    _, rows = synthetic(100, seed=6)
    train, test = holdout_split(rows, 0.2, seed=1, stratify_label="toxicity")
    assert len(test) == 20 and sorted(train + test) == list(range(100))
    assert sum(rows[i]["toxicity"] for i in test) in (6, 7)
    assert holdout_split(rows, 0.2, seed=1, stratify_label="toxicity") == (train, test)
    # One positive: no stratification possible, still a split.
    lonely = [{"toxicity": int(i == 0)} for i in range(10)]
    assert len(holdout_split(lonely, 0.3, stratify_label="toxicity")[1]) == 3


# -- the parameters the presets use -----------------------------------------------------------


def test_optional_params_at_their_defaults_keep_the_version(tiny_corpus) -> None:
    texts, rows = tiny_corpus
    plain = SklearnScorer.train(texts, rows)
    explicit = SklearnScorer.train(texts, rows, params={"strip_accents": "unicode", "nb_weighting": False})
    assert explicit.version == plain.version and explicit.params == plain.params
    assert SklearnScorer.train(texts, rows, params={"nb_weighting": True}).version != plain.version
    assert SklearnScorer.train(texts, rows, params={"strip_accents": None}).version != plain.version


@pytest.mark.parametrize("params", [{"strip_accents": "yes"}, {"nb_weighting": "yes"}])
def test_optional_params_are_checked(tiny_corpus, params) -> None:
    texts, rows = tiny_corpus
    with pytest.raises(ScorerError):
        SklearnScorer.train(texts, rows, params=params)


def test_nb_weighting_is_folded_into_a_plain_regression(tiny_corpus, tmp_path: Path) -> None:
    texts, rows = tiny_corpus
    # Without the calibration, which rescales the folded weights (tested in test_classifiers_heads.py).
    scorer = SklearnScorer.train(texts, rows, params={"nb_weighting": True, "calibration_folds": 0})
    head = scorer._heads["toxicity"]
    assert type(head) is LogisticRegression
    # The folded head on raw features equals a regression fitted on NB-scaled features.
    matrix = scorer._features.transform(texts)
    y = np.array([r["toxicity"] for r in rows])
    pos = np.asarray(matrix[y == 1].sum(axis=0)).ravel() + 1.0
    neg = np.asarray(matrix[y == 0].sum(axis=0)).ravel() + 1.0
    ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
    reference = LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000).fit(matrix.multiply(ratio).tocsr(), y)
    np.testing.assert_allclose(
        head.predict_proba(matrix), reference.predict_proba(matrix.multiply(ratio).tocsr()), atol=1e-6
    )
    scorer.save(tmp_path)
    assert SklearnScorer.load(tmp_path).score(texts) == scorer.score(texts)


def test_strip_accents_none_keeps_accented_words_apart() -> None:
    texts = ["il est né ici", "le nez rouge", "une tête de mule", "une tete de mule"]
    rows = [{"toxicity": v} for v in (0, 1, 0, 1)]
    kept = SklearnScorer.train(texts, rows, labels=("toxicity",), params={"strip_accents": None})
    stripped = SklearnScorer.train(texts, rows, labels=("toxicity",))
    assert "tête" in kept._features.transformer_list[0][1].vocabulary_
    assert "tête" not in stripped._features.transformer_list[0][1].vocabulary_


def test_presets_are_valid_params(tiny_corpus) -> None:
    texts, rows = tiny_corpus
    for name, params in PARAM_PRESETS.items():
        assert SklearnScorer.train(texts, rows, params=params).score(["hello"]), name


# -- real data, when the shared data sets are present ---------------------------------------




def test_davidson_toxic_vs_neither_five_fold() -> None:
    texts, rows = load_labelled_csv(shared_file("davidson-hate-offensive", "labeled_data.csv"), format="davidson")
    assert len(texts) == 24_783
    # NB weighting, without the calibration: a monotone map per fold leaves ROC-AUC as it is.
    result = cross_validate(texts, rows, folds=5, seed=0, params={"nb_weighting": True, "calibration_folds": 0})
    auc = result["labels"]["toxicity"]["roc_auc"]
    assert auc["mean"] >= 0.985, auc
    assert min(auc["per_fold"]) >= 0.98, auc


def test_mlma_french_five_fold() -> None:
    texts, rows = load_labelled_csv(shared_file("mlma-hate-speech", "fr_dataset.csv"), format="mlma")
    assert len(texts) == 4_014 and sum(r["toxicity"] for r in rows) == 3_193
    result = cross_validate(texts, rows, folds=5, seed=0, params=PARAM_PRESETS["fr"])
    auc = result["labels"]["toxicity"]["roc_auc"]
    assert auc["mean"] >= 0.72, auc
