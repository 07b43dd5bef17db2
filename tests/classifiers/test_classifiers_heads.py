"""Calibrated heads: scores that mean what they say, measured on texts the model never saw."""
from __future__ import annotations

import random

import numpy as np
import pytest

from classifiers import ScorerError, SklearnScorer
from classifiers.heads import calibration_folds, platt
from classifiers.metrics import brier, confusion, expected_calibration_error

TOXIC = ["idiot", "moron", "trash", "loser", "scum", "stupid", "clown", "pathetic"]
NEUTRAL = [f"word{i}" for i in range(60)]


def noisy_posts(n: int, seed: int, share: float = 0.2) -> tuple[list[str], list[dict[str, int]]]:
    """Posts where an insult makes toxicity likelier but not certain: the label is noisy, as real ones are."""
    rng = random.Random(seed)
    texts, rows = [], []
    for _ in range(n):
        toxic = rng.random() < share
        # Toxic posts carry an insult 70 % of the time, others 10 %: a post with one is toxic about 2 times in 3.
        insult = rng.random() < (0.7 if toxic else 0.1)
        words = rng.sample(NEUTRAL, 6) + ([rng.choice(TOXIC)] if insult else [])
        rng.shuffle(words)
        texts.append(" ".join(words))
        rows.append({"toxicity": int(toxic)})
    return texts, rows


def measured(scorer: SklearnScorer, texts, rows) -> tuple[float, float, float]:
    y = np.array([r["toxicity"] for r in rows])
    predicted = np.array([s["toxicity"] for s in scorer.score(texts)])
    return expected_calibration_error(y, predicted), brier(y, predicted), float((predicted >= 0.5).mean())


def test_calibrated_scores_match_observed_rates_where_balanced_weights_do_not() -> None:
    texts, rows = noisy_posts(2_000, seed=1, share=0.1)
    fresh_texts, fresh_rows = noisy_posts(4_000, seed=2, share=0.1)
    calibrated = SklearnScorer.train(texts, rows, labels=("toxicity",))
    raw = SklearnScorer.train(texts, rows, labels=("toxicity",), params={"calibration_folds": 0})
    assert calibrated.metadata["calibrated"] == {"toxicity": True}
    assert raw.metadata["calibrated"] == {"toxicity": False}

    ece, score, flagged = measured(calibrated, fresh_texts, fresh_rows)
    raw_ece, raw_score, raw_flagged = measured(raw, fresh_texts, fresh_rows)
    # Balanced weights push scores up: at 0.5 the raw model flags more posts than there are positives
    # (10 %), though an insult makes a post toxic only about 4 times in 10.
    assert raw_ece > 0.07 and raw_flagged > 0.12
    assert ece < 0.04 and score < raw_score
    assert flagged < 0.05  # few posts are likelier toxic than not
    # Calibration is monotone: the ranking (and so ROC-AUC) is unchanged.
    a = [s["toxicity"] for s in calibrated.score(fresh_texts[:200])]
    b = [s["toxicity"] for s in raw.score(fresh_texts[:200])]
    assert np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1] > 0.99


def test_too_few_of_a_class_keeps_raw_scores_and_says_so(tiny_corpus) -> None:
    texts, rows = tiny_corpus
    scorer = SklearnScorer.train(texts, rows)
    assert not any(scorer.metadata["calibrated"].values())
    assert calibration_folds(np.array([1] * 8 + [0] * 100), 5) == 4
    assert calibration_folds(np.array([1] * 7 + [0] * 100), 5) == 0


@pytest.mark.parametrize("folds", [1, 21, "5", True])
def test_calibration_folds_are_checked(tiny_corpus, folds) -> None:
    texts, rows = tiny_corpus
    with pytest.raises(ScorerError, match="calibration_folds"):
        SklearnScorer.train(texts, rows, params={"calibration_folds": folds})


def test_platt_recovers_a_known_sigmoid() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, 20_000)
    y = (rng.uniform(size=logits.size) < 1 / (1 + np.exp(-(0.5 * logits - 1.0)))).astype(int)
    a, c = platt(logits, y)
    assert a == pytest.approx(0.5, abs=0.05) and c == pytest.approx(-1.0, abs=0.1)


def test_ece_and_confusion_arithmetic() -> None:
    y = np.array([1, 0, 1, 0])
    assert expected_calibration_error(y, np.array([1.0, 0.0, 1.0, 0.0])) == 0.0
    # Everything scored 0.9 where half are positive: a gap of 0.4.
    assert expected_calibration_error(y, np.full(4, 0.9)) == pytest.approx(0.4)
    row = confusion(y, np.array([0.9, 0.8, 0.1, 0.2]), 0.5)
    assert (row["tp"], row["fp"], row["fn"], row["tn"]) == (1, 1, 1, 1)
    assert row["precision"] == row["recall"] == row["f1"] == 0.5
    assert confusion(y, np.zeros(4), 0.5)["precision"] is None


def test_char_ngrams_can_be_left_out(tiny_corpus, tmp_path) -> None:
    texts, rows = tiny_corpus
    words = SklearnScorer.train(texts, rows, params={"char_max_features": 0})
    assert [name for name, _ in words._features.transformer_list] == ["word"]
    assert words.version != SklearnScorer.train(texts, rows).version
    words.save(tmp_path)
    assert SklearnScorer.load(tmp_path).score(texts[:3]) == words.score(texts[:3])
    with pytest.raises(ScorerError, match="char_max_features"):
        SklearnScorer.train(texts, rows, params={"char_max_features": -1})
