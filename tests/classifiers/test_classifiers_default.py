from __future__ import annotations

import time
from pathlib import Path

import pytest

from classifiers import LABELS, Scorer, ScorerError, SklearnScorer, ensure_default_model, load_scorer
from classifiers.seed_corpus import seed_corpus


def test_seed_corpus_is_deterministic_and_covers_every_label() -> None:
    texts, rows = seed_corpus()
    assert (texts, rows) == seed_corpus()
    assert 300 <= len(texts) <= 2_000
    assert len(set(texts)) == len(texts) == len(rows)
    for label in LABELS:
        assert any(row[label] for row in rows), label
    benign = sum(not any(row.values()) for row in rows)
    assert benign >= len(rows) // 3
    # Every more specific label implies toxicity, as in detoxify's data.
    assert all(row["toxicity"] for row in rows if any(row.values()))


def test_default_model_ranks_a_threat_above_benign_text(default_scorer) -> None:
    threat, benign = default_scorer.score(["I know where you live and I will kill you", "this movie killed it"])
    assert threat["threat"] > benign["threat"]
    assert threat["toxicity"] > benign["toxicity"]
    assert threat["threat"] > 0.5 > benign["threat"]


def test_default_model_separates_labels(default_scorer) -> None:
    insult, identity, obscene = default_scorer.score(
        ["you are a pathetic loser", "refugees are vermin", "this update is total crap"]
    )
    assert max(insult, key=insult.get) in {"toxicity", "insult"}
    assert identity["identity_attack"] > 0.5 > insult["identity_attack"]
    assert obscene["obscene"] > 0.5


def test_ensure_default_model_trains_once_then_loads(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    # CPU seconds of this process, not wall time: the demo's first start trains in seconds, and other
    # work on a shared host must not make that look slower than it is (it measured 4-5 CPU seconds).
    started = time.process_time()
    first = ensure_default_model(model_dir)
    assert time.process_time() - started < 10
    assert (model_dir / "CURRENT").read_text().strip() == first.version
    mtime = (model_dir / first.version / "model.joblib").stat().st_mtime_ns

    second = ensure_default_model(model_dir)
    assert second.version == first.version
    assert (model_dir / first.version / "model.joblib").stat().st_mtime_ns == mtime


def test_ensure_default_model_surfaces_a_broken_current(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_text("deadbeef\n")
    with pytest.raises(ScorerError):
        ensure_default_model(tmp_path)


def test_load_scorer_sklearn(default_model_dir: Path) -> None:
    scorer = load_scorer("sklearn", default_model_dir)
    assert isinstance(scorer, SklearnScorer) and isinstance(scorer, Scorer)


def test_load_scorer_ensemble_needs_detoxify(tmp_path: Path) -> None:
    from classifiers.scorer import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="detoxify.json is missing"):
        load_scorer("ensemble", tmp_path)


def test_load_scorer_detoxify_needs_a_description(tmp_path: Path) -> None:
    from classifiers.scorer import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="detoxify.json is missing"):
        load_scorer("detoxify", tmp_path)


def test_load_scorer_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ScorerError, match="unknown scorer kind 'bert'"):
        load_scorer("bert", tmp_path)
