"""Sanity check of the scorer on real data (Davidson et al. 2017), when it is available."""

from __future__ import annotations

import csv

import numpy as np
from sklearn.metrics import roc_auc_score

from classifiers import SklearnScorer
from tests.conftest import shared_file


def test_toxicity_auc_on_davidson() -> None:
    path = shared_file("davidson-hate-offensive", "labeled_data.csv")
    # Tweets contain newlines inside quoted fields, hence the csv module.
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [(row["tweet"], int(row["class"] in ("0", "1"))) for row in csv.DictReader(fh)]
    order = np.random.default_rng(0).permutation(len(rows))
    train = [rows[i] for i in order[:6_000]]
    held_out = [rows[i] for i in order[6_000:8_000]]

    scorer = SklearnScorer.train(
        [text for text, _ in train],
        [{"toxicity": toxic} for _, toxic in train],
        labels=("toxicity",),
        name="davidson-check",
    )
    predicted = [s["toxicity"] for s in scorer.score([text for text, _ in held_out])]
    auc = roc_auc_score([toxic for _, toxic in held_out], predicted)
    assert auc > 0.93, f"ROC-AUC {auc:.3f}"
