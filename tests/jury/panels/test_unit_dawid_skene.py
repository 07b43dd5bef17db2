"""Dawid–Skene against small cases computed by hand (each computation is in the comments)."""
from __future__ import annotations

import math
import random

import pytest

from jury.panels.dawid_skene import (
    FLAGGED,
    REPORTED,
    Calibration,
    JurorMatrix,
    dawid_skene,
    explain,
    posterior,
    score_feature,
    sigmoid,
)


def test_a_new_juror_starts_at_the_prior_accuracy():
    # No votes: sensitivity = specificity = a / (a + b) = 3 / 4.
    matrix = JurorMatrix()
    assert matrix.sensitivity == matrix.specificity == 0.75
    # A remove vote is worth log(0.75 / 0.25) = log 3 in favour of "violates".
    assert matrix.log_likelihood_ratio(1) == pytest.approx(math.log(3))
    assert matrix.log_likelihood_ratio(0) == pytest.approx(-math.log(3))


def test_posterior_by_hand():
    # Two jurors with sens = spec = 0.8 both vote remove, prior 0.5 (log-odds 0):
    # odds = (0.8/0.2) * (0.8/0.2) = 16, posterior = 16/17 = 0.941176...
    good = JurorMatrix(0.8, 0.8)
    assert posterior(0.0, [(good, 1), (good, 1)]) == pytest.approx(16 / 17)
    # A third juror with sens 0.9, spec 0.6 votes keep: ratio (1-0.9)/0.6 = 1/6,
    # odds = 16/6 = 8/3, posterior = (8/3)/(11/3) = 8/11 = 0.7272...
    lenient = JurorMatrix(0.9, 0.6)
    assert posterior(0.0, [(good, 1), (good, 1), (lenient, 0)]) == pytest.approx(8 / 11)
    # A model prior of 0.2 (odds 1/4) on the two remove votes: odds 16/4 = 4, posterior 0.8.
    assert posterior(math.log(0.25), [(good, 1), (good, 1)]) == pytest.approx(0.8)


def test_known_answers_alone_fix_the_matrices_in_one_step():
    # Juror A on four gold items: violates->remove, violates->keep, keeps->keep, keeps->keep.
    # With pseudo-counts a=3 (right), b=1 (wrong):
    #   sensitivity = (3 + 1 remove on the 2 violating) / (4 + 2) = 4/6
    #   specificity = (3 + 2 keeps on the 2 kept)      / (4 + 2) = 5/6
    votes = [("g1", "A", 1), ("g2", "A", 0), ("g3", "A", 0), ("g4", "A", 0)]
    known = {"g1": 1, "g2": 1, "g3": 0, "g4": 0}
    estimate = dawid_skene(votes, known=known)
    assert estimate.jurors["A"].sensitivity == pytest.approx(4 / 6)
    assert estimate.jurors["A"].specificity == pytest.approx(5 / 6)
    assert estimate.posteriors == {"g1": 1.0, "g2": 1.0, "g3": 0.0, "g4": 0.0}
    assert estimate.converged


def test_two_jurors_who_disagree_on_one_item_settle_at_the_symmetric_fixed_point():
    # One unknown item, base rate fixed at 0.5; A votes remove, B votes keep.
    # By symmetry the posterior T is 1/2. Then:
    #   A: sens = (3 + T*1)/(4 + T) = 3.5/4.5 = 7/9,  spec = (3 + 0)/(4 + (1-T)) = 3/4.5 = 2/3
    #   B: sens = (3 + 0)/(4 + T) = 2/3,              spec = (3 + (1-T))/(4 + (1-T)) = 7/9
    # Check: A's remove vote weighs log((7/9)/(1/3)) = log(7/3), B's keep log((1/3)/(7/9)) = log(3/7),
    # they cancel and T stays 1/2: a fixed point.
    estimate = dawid_skene([("x", "A", 1), ("x", "B", 0)], class_prior=0.5)
    assert estimate.posteriors["x"] == pytest.approx(0.5)
    assert estimate.jurors["A"].sensitivity == pytest.approx(7 / 9)
    assert estimate.jurors["A"].specificity == pytest.approx(2 / 3)
    assert estimate.jurors["B"].sensitivity == pytest.approx(2 / 3)
    assert estimate.jurors["B"].specificity == pytest.approx(7 / 9)


def test_a_juror_who_contradicts_the_gold_set_counts_against_their_own_vote():
    # C votes the opposite of six gold answers (3 violating, 3 kept):
    #   sens = (3 + 0)/(4 + 3) = 3/7, spec = 3/7 -> a remove vote weighs log((3/7)/(4/7)) = log(3/4) < 0.
    gold = {f"g{i}": i % 2 for i in range(6)}
    votes = [(item, "C", 1 - label) for item, label in gold.items()]
    # D agrees with all six: sens = spec = (3 + 3)/(4 + 3) = 6/7.
    votes += [(item, "D", label) for item, label in gold.items()]
    estimate = dawid_skene(votes, known=gold)
    assert estimate.jurors["C"].sensitivity == pytest.approx(3 / 7)
    assert estimate.jurors["D"].specificity == pytest.approx(6 / 7)
    c = estimate.jurors["C"]
    assert c.log_likelihood_ratio(1) == pytest.approx(math.log(3 / 4))
    # On a new item C says remove: with prior 0.5 the posterior is (3/4)/(1+3/4) = 3/7, below a half.
    assert posterior(0.0, [(c, 1)]) == pytest.approx(3 / 7)


def test_em_recovers_accuracies_and_beats_majority_with_spammers():
    rng = random.Random(7)
    accuracies = {"good1": 0.95, "good2": 0.9, "spam1": 0.5, "spam2": 0.5, "spam3": 0.5}
    truth = {f"i{n}": rng.random() < 0.5 for n in range(400)}
    votes = [(item, juror, int(label if rng.random() < acc else not label))
             for item, label in truth.items() for juror, acc in accuracies.items()]
    estimate = dawid_skene(votes)
    assert estimate.jurors["good1"].accuracy > 0.88
    assert abs(estimate.jurors["spam1"].accuracy - 0.5) < 0.1
    ds_right = sum((estimate.posteriors[i] > 0.5) == t for i, t in truth.items())
    majority_right = sum((sum(v for it, _, v in votes if it == i) >= 3) == t for i, t in truth.items())
    assert ds_right > majority_right


def test_model_scores_become_a_calibrated_prior():
    rng = random.Random(3)
    truth = {f"i{n}": rng.random() < 0.5 for n in range(300)}
    # A score that separates the classes: the fitted slope is positive and the prior follows it.
    features = {item: (1.5 if label else -1.5) + rng.gauss(0, 1) for item, label in truth.items()}
    votes = [(item, juror, int(label if rng.random() < 0.8 else not label))
             for item, label in truth.items() for juror in ("A", "B")]
    estimate = dawid_skene(votes, features=features)
    assert estimate.calibration.slope > 0.5
    assert estimate.calibration.log_odds(3.0) > 2 and estimate.calibration.log_odds(-3.0) < -2
    # Items with no model score get the intercept only.
    assert Calibration(0.1, 2.0).log_odds(None) == 0.1


def test_explain_lists_every_term():
    terms = explain(0.0, [("J-1", JurorMatrix(0.8, 0.8), 1), ("J-2", JurorMatrix(0.8, 0.8), 1)])
    assert terms["prior"] == 0.5 and terms["posterior"] == pytest.approx(16 / 17, abs=1e-6)
    assert [t["log_likelihood_ratio"] for t in terms["votes"]] == [round(math.log(4), 4)] * 2


def test_degenerate_inputs():
    assert dawid_skene([]).posteriors == {}
    # A gold item nobody voted on keeps its label; labels may be booleans.
    assert dawid_skene([], known={"g": True}).posteriors == {"g": 1.0}
    assert score_feature(None) is None and score_feature(0.5) == 0.0
    assert math.isfinite(score_feature(1.0)) and math.isfinite(score_feature(0.0))
    # A juror who is always right never becomes certain: the matrix is clipped.
    perfect = dawid_skene([(f"g{i}", "P", 1) for i in range(5000)], known={f"g{i}": 1 for i in range(5000)})
    assert perfect.jurors["P"].sensitivity < 1


def test_reported_and_flagged_items_each_get_their_own_calibration():
    """As on a network in a flood: reported posts violate nine times in ten whatever the model scored them
    (mostly low), and posts only the model flagged (all scored high) violate one time in seven. One line
    through both reads the score backwards and overrates the flagged posts; a calibration per group reads
    each right."""
    rng = random.Random(5)
    truth, features, groups = {}, {}, {}
    for n in range(400):
        reported = n % 2 == 0
        item = f"i{n}"
        truth[item] = rng.random() < (0.9 if reported else 0.15)
        score = rng.uniform(0.05, 0.8) if reported else rng.uniform(0.8, 0.95)
        features[item], groups[item] = math.log(score / (1 - score)), REPORTED if reported else FLAGGED
    votes = [(item, juror, int(label if rng.random() < 0.75 else not label))
             for item, label in truth.items() for juror in ("A", "B", "C")]
    one_line = dawid_skene(votes, features=features)
    grouped = dawid_skene(votes, features=features, groups=groups)
    high, low = math.log(0.85 / 0.15), math.log(0.3 / 0.7)
    assert one_line.calibration.slope < 0  # a higher score reads as less likely to violate
    assert abs(sigmoid(one_line.calibration.log_odds(high)) - 0.15) > 0.08
    assert sigmoid(grouped.calibrations[FLAGGED].log_odds(high)) == pytest.approx(0.15, abs=0.05)
    assert sigmoid(grouped.calibrations[REPORTED].log_odds(low)) == pytest.approx(0.9, abs=0.05)
    assert grouped.calibration == grouped.calibrations[FLAGGED]
    # Without groups every item is FLAGGED: the calibration for reported items is never fitted.
    assert one_line.calibrations[REPORTED] == Calibration()
