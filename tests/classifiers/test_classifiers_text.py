from __future__ import annotations

import pytest

from classifiers.text import prepare_text


@pytest.mark.parametrize("value", [None, "", b"", "   \n\t  "])
def test_empty_inputs_become_empty_text(value: object) -> None:
    assert prepare_text(value) == ("", False)


def test_bytes_are_decoded_with_replacement() -> None:
    text, truncated = prepare_text(b"caf\xc3\xa9 \xff\xfe bad bytes")
    assert text == "café bad bytes"
    assert not truncated


def test_binary_junk_does_not_raise() -> None:
    text, _ = prepare_text(bytes(range(256)) * 10)
    assert "\x00" not in text and "\ufffd" not in text


def test_zero_width_and_bidi_controls_are_removed() -> None:
    assert prepare_text("i\u200bd\u200di\u2060o\ufefft \u202egnirts")[0] == "idiot gnirts"


def test_lookalike_characters_are_folded() -> None:
    assert prepare_text("ｉｄｉｏｔ")[0] == "idiot"


def test_whitespace_is_collapsed() -> None:
    assert prepare_text("  hello\n\n\tworld\u00a0 ")[0] == "hello world"


@pytest.mark.parametrize("value", ["😡😡😡", "مرحبا שלום hello 你好", "Привет мир", "\ud800 lone surrogate"])
def test_unusual_scripts_survive(value: str) -> None:
    text, truncated = prepare_text(value)
    assert text and not truncated
    text.encode("utf-8")


def test_huge_text_is_truncated() -> None:
    text, truncated = prepare_text("word " * 200_000, max_chars=1_000)
    assert truncated
    assert 0 < len(text) <= 1_000


def test_huge_bytes_are_truncated() -> None:
    text, truncated = prepare_text(b"x" * 1_000_000)
    assert truncated and len(text) == 10_000


def test_text_at_the_limit_is_not_truncated() -> None:
    assert prepare_text("a" * 50, max_chars=50) == ("a" * 50, False)


def test_non_text_objects_are_stringified() -> None:
    assert prepare_text(42) == ("42", False)


def test_max_chars_must_be_positive() -> None:
    with pytest.raises(ValueError):
        prepare_text("hi", max_chars=0)
