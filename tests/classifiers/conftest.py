"""Shared fixtures for the classifiers tests: one default model trained per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import LABELS, SklearnScorer, ensure_default_model


@pytest.fixture(scope="session")
def default_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory holding the seed-corpus default model."""
    model_dir = tmp_path_factory.mktemp("models")
    ensure_default_model(model_dir)
    return model_dir


@pytest.fixture(scope="session")
def default_scorer(default_model_dir: Path) -> SklearnScorer:
    """The default model, loaded from disk."""
    return SklearnScorer.load(default_model_dir)


@pytest.fixture()
def tiny_corpus() -> tuple[list[str], list[dict[str, int]]]:
    """A handful of labelled rows where every label has both classes."""
    texts = [
        "I will hurt you tonight",
        "I'm going to beat you up, you piece of shit",
        "you are a stupid idiot",
        "those people are vermin",
        "what the hell is this crap",
        "have a lovely day",
        "the band killed it last night",
        "thanks for the help with the printer",
        "see you at the market tomorrow",
        "great match yesterday",
    ]
    active = [
        {"toxicity", "threat"},
        {"toxicity", "threat", "obscene", "severe_toxicity", "insult"},
        {"toxicity", "insult"},
        {"toxicity", "identity_attack"},
        {"toxicity", "obscene"},
        *([set()] * 5),
    ]
    rows = [{label: int(label in labels) for label in LABELS} for labels in active]
    return texts, rows
