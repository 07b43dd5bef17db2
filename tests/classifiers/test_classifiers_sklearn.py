from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from classifiers import LABELS, Scorer, ScorerError, SklearnScorer
from classifiers.scorer import ModelNotFoundError

ODD_INPUTS = [
    None,
    "",
    "x" * 1_000_000,
    b"\xff\xfe\xfd not utf-8 \x80",
    "😡🔥💀",
    "\u202eevil\u202c \u200b\u200b\u200b",
    "مرحبا بكم שלום",
    "\x00\x01\x02",
]


def _assert_valid(scores: list[dict[str, float]], labels: tuple[str, ...], n: int) -> None:
    assert len(scores) == n
    for row in scores:
        assert set(row) == set(labels)
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in row.values())


def test_train_scores_every_label_in_range(tiny_corpus) -> None:
    texts, rows = tiny_corpus
    scorer = SklearnScorer.train(texts, rows)
    assert isinstance(scorer, Scorer)
    assert scorer.labels == LABELS
    _assert_valid(scorer.score(texts), LABELS, len(texts))
    assert scorer.score([]) == []


def test_save_load_round_trip_gives_identical_scores(tiny_corpus, tmp_path: Path) -> None:
    texts, rows = tiny_corpus
    scorer = SklearnScorer.train(texts, rows)
    saved = scorer.save(tmp_path, metrics={"auc": np.float64(0.5), "per_label": {"threat": 1}})

    assert saved == (tmp_path / scorer.version).resolve()
    assert (tmp_path / "CURRENT").read_text().strip() == scorer.version
    metadata = json.loads((saved / "metadata.json").read_text())
    assert metadata["name"] == "sklearn-tfidf"
    assert metadata["version"] == scorer.version
    assert metadata["labels"] == list(LABELS)
    assert metadata["rows"] == len(texts)
    assert metadata["metrics"] == {"auc": 0.5, "per_label": {"threat": 1}}
    assert metadata["created_at"].endswith("+00:00")
    assert {"data_sha256", "params"} <= set(metadata)

    probe = texts + ["something else entirely", ""]
    for loaded in (SklearnScorer.load(tmp_path), SklearnScorer.load(tmp_path, version=scorer.version)):
        assert (loaded.name, loaded.version, loaded.labels) == (scorer.name, scorer.version, scorer.labels)
        assert loaded.score(probe) == scorer.score(probe)


def test_version_is_stable_and_tracks_data_and_params(tiny_corpus) -> None:
    texts, rows = tiny_corpus
    first = SklearnScorer.train(texts, rows).version
    assert SklearnScorer.train(list(texts), [dict(r) for r in rows]).version == first
    assert SklearnScorer.train(texts[:-1], rows[:-1]).version != first
    flipped = [dict(r) for r in rows]
    flipped[-1]["toxicity"] = 1
    assert SklearnScorer.train(texts, flipped).version != first
    assert SklearnScorer.train(texts, rows, params={"C": 1.0}).version != first


def test_single_class_label_predicts_a_constant(tiny_corpus) -> None:
    texts, rows = tiny_corpus
    rows = [{**row, "threat": 0, "insult": 1} for row in rows]
    scorer = SklearnScorer.train(texts, rows)
    scores = scorer.score(["I will hurt you", "lovely weather"])
    assert [s["threat"] for s in scores] == [0.0, 0.0]
    assert [s["insult"] for s in scores] == [1.0, 1.0]
    assert scores[0]["toxicity"] > scores[1]["toxicity"]


def test_custom_label_subset(tiny_corpus) -> None:
    texts, rows = tiny_corpus
    scorer = SklearnScorer.train(texts, [{"toxicity": r["toxicity"]} for r in rows], labels=("toxicity",))
    assert scorer.labels == ("toxicity",)
    _assert_valid(scorer.score(texts), ("toxicity",), len(texts))


def test_odd_inputs_score_without_error(default_scorer) -> None:
    scores = default_scorer.score(ODD_INPUTS)
    _assert_valid(scores, LABELS, len(ODD_INPUTS))
    assert scores[0] == scores[1] == dict.fromkeys(LABELS, 0.0)


def test_score_rejects_a_bare_string(default_scorer) -> None:
    with pytest.raises(TypeError):
        default_scorer.score("just one text")


@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"toxicity": 1}], "no value"),
        ([dict.fromkeys(LABELS, 2)], "must be 0 or 1"),
    ],
)
def test_train_rejects_bad_label_rows(rows, message) -> None:
    with pytest.raises(ValueError, match=message):
        SklearnScorer.train(["text"], rows)


def test_train_rejects_mismatched_lengths_and_unknown_params(tiny_corpus) -> None:
    texts, rows = tiny_corpus
    with pytest.raises(ValueError):
        SklearnScorer.train(texts, rows[:-1])
    with pytest.raises(ScorerError, match="unknown parameter"):
        SklearnScorer.train(texts, rows, params={"learning_rate": 1})


@pytest.mark.parametrize("version", ["../x", "..", ".", "/etc", "a/b", "", ".hidden", "x" * 200])
def test_load_refuses_versions_outside_model_dir(tmp_path: Path, version: str) -> None:
    with pytest.raises(ScorerError):
        SklearnScorer.load(tmp_path, version=version)


def test_load_refuses_current_pointing_outside(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_text("../elsewhere\n")
    with pytest.raises(ScorerError, match="invalid model version"):
        SklearnScorer.load(tmp_path)


def test_load_refuses_symlinked_version_dir(tiny_corpus, tmp_path: Path) -> None:
    texts, rows = tiny_corpus
    outside = tmp_path / "outside"
    scorer = SklearnScorer.train(texts, rows)
    scorer.save(outside)
    models = tmp_path / "models"
    models.mkdir()
    os.symlink(outside / scorer.version, models / scorer.version)
    with pytest.raises(ScorerError, match="outside"):
        SklearnScorer.load(models, version=scorer.version)


def test_load_missing_dir_or_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        SklearnScorer.load(tmp_path / "nope")
    with pytest.raises(ModelNotFoundError, match="CURRENT is missing"):
        SklearnScorer.load(tmp_path)
    with pytest.raises(ModelNotFoundError, match="not found"):
        SklearnScorer.load(tmp_path, version="abc123")


def test_load_refuses_corrupt_model(tiny_corpus, tmp_path: Path) -> None:
    texts, rows = tiny_corpus
    saved = SklearnScorer.train(texts, rows).save(tmp_path)
    (saved / "model.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ScorerError, match="checksum"):
        SklearnScorer.load(tmp_path)


def test_load_refuses_corrupt_metadata(tiny_corpus, tmp_path: Path) -> None:
    texts, rows = tiny_corpus
    saved = SklearnScorer.train(texts, rows).save(tmp_path)
    (saved / "metadata.json").write_text("{not json")
    with pytest.raises(ScorerError, match="cannot read"):
        SklearnScorer.load(tmp_path)
    (saved / "metadata.json").unlink()
    with pytest.raises(ScorerError, match="no metadata.json"):
        SklearnScorer.load(tmp_path)


def test_save_rejects_unserialisable_metrics_before_writing(tiny_corpus, tmp_path: Path) -> None:
    texts, rows = tiny_corpus
    with pytest.raises(ValueError, match="JSON"):
        SklearnScorer.train(texts, rows).save(tmp_path, metrics={"when": object()})
    assert list(tmp_path.iterdir()) == []


def _scikit_learn_reference(scorer: SklearnScorer, texts: list[str]) -> list[dict[str, float]]:
    """What the scorer gave before its fast path: FeatureUnion.transform and predict_proba per label."""
    from classifiers.text import prepare_text

    cleaned = [prepare_text(t, scorer._max_chars)[0] for t in texts]
    matrix = scorer._features.transform(cleaned)
    columns = {label: scorer._predict(label, matrix, len(cleaned)) for label in scorer.labels}
    for i, text in enumerate(cleaned):
        if not text:
            for column in columns.values():
                column[i] = 0.0
    return [{label: float(columns[label][i]) for label in scorer.labels} for i in range(len(cleaned))]


@pytest.mark.parametrize("params", [None, {"nb_weighting": True}])
def test_the_fast_path_scores_exactly_as_scikit_learn_does(tiny_corpus, params) -> None:
    texts, rows = tiny_corpus
    # One label seen with a single class keeps its constant head among the fitted ones.
    rows = [{**row, "threat": 0} for row in rows]
    scorer = SklearnScorer.train(texts, rows, params=params)
    probe = list(texts) + ODD_INPUTS[1:] + ["you are a worthless idiot", "lovely weather today"]
    assert scorer.score(probe) == _scikit_learn_reference(scorer, probe)
    # A retrained head (a new object under the same label) is picked up, not the cached stack.
    retrained = SklearnScorer.train(texts[::-1], rows[::-1], params={**(params or {}), "C": 0.5})
    scorer._heads["toxicity"] = retrained._heads["toxicity"]
    assert scorer.score(probe) == _scikit_learn_reference(scorer, probe)
