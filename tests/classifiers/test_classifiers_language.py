"""Language identification of posts."""
from __future__ import annotations

import csv

import pytest

from classifiers.language import detect_language
from tests.conftest import shared_file


@pytest.mark.parametrize("text,expected", [
    ("Bonjour tout le monde, comment allez-vous ce matin ?", "fr"),
    ("Does anyone know a good bakery near the station?", "en"),
    ("Ich weiß nicht, wo der Bahnhof ist.", "de"),
    ("¿Dónde está la estación de tren, por favor?", "es"),
])
def test_common_languages(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", None, "🙂🙂🙂", "!!!", "ok", b"\xff\xfe", "12345 678"])
def test_too_little_to_say_is_none(text):
    assert detect_language(text) is None


def test_mlma_french_tweets_are_mostly_french():
    path = shared_file("mlma-hate-speech", "fr_dataset.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        texts = [row["tweet"] for row in csv.DictReader(handle)][:500]
    found = [detect_language(text) for text in texts]
    decided = [code for code in found if code]
    assert len(decided) > 300
    assert sum(code == "fr" for code in decided) / len(decided) > 0.8
