"""Isotonic calibration against verdicts, and the ensemble's arithmetic with stand-in members."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers import ScorerError, ensure_default_model, load_scorer
from classifiers.calibration import CalibratedScorer, Calibration, fit_calibration, with_calibration
from classifiers.ensemble import EnsembleScorer


class Fixed:
    """A stand-in scorer returning a fixed score per text."""

    def __init__(self, name: str, value: float, labels=("toxicity",)):
        self.name, self.version, self.labels, self.value = name, "1", labels, value
        self.seen: list[str] = []

    def score(self, texts):
        self.seen.extend(texts)
        return [{label: self.value for label in self.labels} for _ in texts]


def overconfident_data(n: int = 400, seed: int = 0):
    """Raw scores that say 0.9 where only ~half are violations: a threshold of 0.8 would mislead."""
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0, 1, n)
    truth = (rng.uniform(0, 1, n) < raw * 0.55).astype(int)
    return [{"toxicity": float(r)} for r in raw], [{"toxicity": int(t)} for t in truth]


def test_calibration_makes_scores_match_observed_rates():
    raw, truth = overconfident_data()
    calibration = fit_calibration("m:1", raw, truth, ["toxicity", "threat"])
    assert "toxicity" in calibration.maps and "threat" not in calibration.maps  # no threat answers at all
    high = [t["toxicity"] for r, t in zip(raw, truth, strict=True) if r["toxicity"] >= 0.8]
    calibrated = calibration.apply({"toxicity": 0.9, "threat": 0.3})
    assert calibrated["threat"] == 0.3
    assert abs(calibrated["toxicity"] - np.mean(high)) < 0.15
    assert calibrated["toxicity"] < 0.7
    # Monotone: a higher raw score never calibrates lower.
    values = [calibration.apply({"toxicity": x})["toxicity"] for x in np.linspace(0, 1, 50)]
    assert values == sorted(values)


def test_calibration_round_trips_as_json_and_refuses_garbage(tmp_path: Path):
    raw, truth = overconfident_data()
    calibration = fit_calibration("m:1", raw, truth, ["toxicity"])
    calibration.save(tmp_path)
    loaded = Calibration.load(tmp_path)
    assert loaded == calibration and loaded.version == calibration.version
    assert Calibration.load(tmp_path / "nowhere") is None
    (tmp_path / "calibration.json").write_text(json.dumps({"scorer": "m:1", "maps": {"toxicity": [[1, 0], [0, 1]]}}))
    with pytest.raises(ScorerError, match="not a usable calibration"):
        Calibration.load(tmp_path)


def test_too_few_examples_leave_scores_raw():
    raw, truth = overconfident_data(n=10)
    assert fit_calibration("m:1", raw, truth, ["toxicity"]).maps == {}


def test_a_calibration_only_applies_to_the_scorer_it_was_fitted_on(tmp_path: Path):
    scorer = ensure_default_model(tmp_path)
    raw, truth = overconfident_data()
    fit_calibration("other:0", raw, truth, ["toxicity"]).save(tmp_path)
    assert with_calibration(scorer, tmp_path) is scorer
    with pytest.raises(ScorerError, match="fitted on"):
        CalibratedScorer(scorer, Calibration.load(tmp_path))
    fit_calibration(f"{scorer.name}:{scorer.version}", raw, truth, ["toxicity"]).save(tmp_path)
    loaded = load_scorer("sklearn", tmp_path)
    assert isinstance(loaded, CalibratedScorer) and loaded.version.startswith(scorer.version)
    assert loaded.name == f"{scorer.name}+calibrated"


def test_ensemble_averages_members_and_routes_other_languages():
    site, english, multi = Fixed("site", 0.2), Fixed("detox", 0.6), Fixed("multi", 1.0)
    ensemble = EnsembleScorer(site, english, multi)
    texts = ["Good morning everyone, the meeting is on Thursday.", "Bonjour à tous, la réunion est jeudi soir.", "🙂"]
    scores = ensemble.score(texts)
    assert [s["toxicity"] for s in scores] == pytest.approx([0.4, 0.6, 0.4])
    assert multi.seen == [texts[1]] and english.seen == [texts[0], texts[2]]
    assert site.seen == texts
    weighted = EnsembleScorer(site, english, weights={"site": 3, "detoxify": 1})
    assert weighted.score(["x"])[0]["toxicity"] == pytest.approx((3 * 0.2 + 0.6) / 4)


def test_ensemble_labels_missing_from_one_member_use_the_other():
    ensemble = EnsembleScorer(Fixed("site", 0.2, ("toxicity", "threat")), Fixed("detox", 0.6))
    assert ensemble.score(["x"])[0] == pytest.approx({"toxicity": 0.4, "threat": 0.2})
