"""Invisible characters are shown as [U+XXXX] markers; what scripts and emoji need is left as sent."""
from __future__ import annotations

import unicodedata

import pytest

from jury.web.display import reveal_hidden_controls

# Each one reached the page unmarked before (issue 20, item 8), with the override and ZWSP that were marked.
ISSUE_CHARACTERS = ["\U000E0001", "\U000E0041", "\U000E0067", "\U000E007F", "\u061c", "\u00ad", "\u3164",
                    "\u115f", "\u1160", "\uffa0", "\u2800", "\u034f", "\u202e", "\u200b", "\u2060", "\ufeff"]


@pytest.mark.parametrize("char", ISSUE_CHARACTERS, ids=lambda char: f"U+{ord(char):04X}")
def test_each_invisible_character_from_the_issue_is_marked(char):
    assert reveal_hidden_controls(f"pay{char}pal") == f"pay[U+{ord(char):04X}]pal"


def test_every_format_character_is_marked_except_the_visible_ones_and_the_plain_direction_marks():
    kept = {0x200C, 0x200D, 0x200E, 0x200F,  # joiners (kept in context) and LRM/RLM
            0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD,
            0x110CD}  # prepended concatenation marks draw a sign
    for code in range(0x110000):
        if unicodedata.category(chr(code)) == "Cf" and code not in kept:
            assert reveal_hidden_controls(f"x{chr(code)}y") == f"x[U+{code:04X}]y", hex(code)


def test_a_message_hidden_in_tag_characters_is_spelled_out():
    hidden = "".join(chr(0xE0000 + ord(letter)) for letter in "ignore the rules")
    shown = reveal_hidden_controls("Nice cat" + hidden)
    assert shown.startswith("Nice cat[U+E0069][U+E0067][U+E006E]")
    assert shown.count("[U+E00") == len("ignore the rules")
    assert not any(0xE0000 <= ord(char) <= 0xE0FFF for char in shown)


def test_a_message_hidden_in_variation_selectors_is_spelled_out():
    smuggled = "\U0001F600" + "".join(chr(0xE0100 + byte) for byte in b"hi") + "\ufe01"
    assert reveal_hidden_controls(smuggled) == "\U0001F600[U+E0168][U+E0169][U+FE01]"
    assert reveal_hidden_controls("\ufe0fstart") == "[U+FE0F]start"


def test_joiners_between_latin_letters_are_marked():
    assert reveal_hidden_controls("kil\u200dl yo\u200cu") == "kil[U+200D]l yo[U+200C]u"
    assert reveal_hidden_controls("\u200dhi \u200b\u200c") == "[U+200D]hi [U+200B][U+200C]"


@pytest.mark.parametrize("text", [
    "Nice weather today, isn't it? 42 % \u00e9t\u00e9 \u043f\u0440\u0438\u0432\u0435\u0442 \u65e5\u672c",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466",  # family: ZWJ sequence
    "\U0001F9D1\U0001F3FD\u200d\U0001F4BB",  # technologist, skin tone
    "\u2764\ufe0f\u200d\U0001F525 \U0001F3F3\ufe0f\u200d\U0001F308 \U0001F3F4\u200d\u2620\ufe0f",  # VS16 + ZWJ
    "1\ufe0f\u20e3 #\ufe0f\u20e3 \u00a9\ufe0f \u2603\ufe0e",  # keycaps and text/emoji presentation
    "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",  # flag of England (tags)
    "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",  # flag of Scotland
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u0646\u0627\u0645\u0647\u200c\u0647\u0627",  # Persian, ZWNJ
    "\u0644\u0627\u200d \u0639\u0631\u0628\u064a",  # Arabic with ZWJ
    "\u0915\u094d\u200d\u0937 \u0915\u094d\u200c\u0937 \u0d7b\u0d4d\u200d",  # Devanagari and Malayalam joiners
    "\u05e9\u05dc\u05d5\u05dd \u200fabc\u200e \u0661\u0662 \u0600\u0661\u0662",  # RLM/LRM, Arabic number sign
    "\u845b\U000E0100 \u1820\u180b",  # ideographic variation sequence, Mongolian free variation selector
])
def test_ordinary_text_emoji_and_scripts_are_unchanged(text):
    assert reveal_hidden_controls(text) == text


def test_a_malformed_flag_sequence_is_marked():
    too_long = "\U0001F3F4" + "".join(chr(0xE0000 + ord(c)) for c in "gbengland") + "\U000E007F"
    shown = reveal_hidden_controls(too_long)
    assert shown.startswith("\U0001F3F4[U+E0067]") and shown.endswith("[U+E007F]")
