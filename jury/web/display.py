"""Make characters that change how text looks, without being seen, visible in the UI.

Posts are written by attackers. A right-to-left override (U+202E) can make "gnp.exe" read as
"exe.png" and reverse the words around it; zero-width characters hide inside words to slip past
filters or to make two names look alike; Unicode tag characters (U+E0000 block) and runs of
variation selectors can carry a whole hidden message. Jurors must see what was really sent, so
every such character is shown as a visible "[U+202E]" marker.

Which characters, from the Unicode properties rather than a hand-picked list (built once, at
import, into one compiled pattern, since every template value passes through here):

* every format character (general category Cf, read from `unicodedata`), which takes in bidi
  controls, zero-width characters, the soft hyphen, U+061C, tags and the invisible operators;
* the rest of Default_Ignorable_Code_Point: Other_Default_Ignorable_Code_Point and
  Variation_Selector as Unicode's PropList.txt defines them (Hangul fillers U+115F, U+1160,
  U+3164, U+FFA0, the combining grapheme joiner U+034F, the Khmer inherent vowels, and the
  unassigned reserves that browsers are told to draw as nothing);
* U+2800 BRAILLE PATTERN BLANK, which is not default-ignorable (it is a real Braille cell) but
  renders as an empty space in every font, so it is a favourite for blank names and padding.

What is left alone, because ordinary writing and emoji need it:

* the Prepended_Concatenation_Marks (U+0600..U+0605, U+06DD, U+070F, U+0890, U+0891, U+08E2,
  U+110BD, U+110CD): format characters that draw a visible sign, used in Arabic, Syriac and
  Kaithi numbers and verse ends;
* the left-to-right and right-to-left marks (U+200E, U+200F): inserted by keyboards and editors
  in almost all real bidirectional text, and they cannot reorder what surrounds them;
* the joiners U+200C (ZWNJ) and U+200D (ZWJ) after a letter or symbol of a script that shapes
  or joins (Arabic, Persian, the Indic scripts...) and after an emoji (family, profession and
  flag sequences). After Latin, Greek, Cyrillic or Armenian letters, digits, punctuation,
  spaces, another invisible character, or at the very start, they do nothing a reader can see,
  so there they are revealed ("kil\u200dl" is shown as "kil[U+200D]l");
* one variation selector straight after a visible character (emoji presentation, keycaps,
  CJK ideographic variants, Mongolian letter forms). A run of two or more, or one with nothing
  visible before it, selects nothing and is revealed whole: that is how messages are smuggled
  in them;
* the tag characters of a well-formed emoji flag sequence (U+1F3F4, two to five tag letters
  or digits, U+E007F: England, Scotland, Wales). Any other tag character is revealed.
"""
from __future__ import annotations

import re
import unicodedata

# Unicode PropList.txt: Other_Default_Ignorable_Code_Point (the reserved ranges included).
OTHER_DEFAULT_IGNORABLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x2065, 0x2065),
                           (0x3164, 0x3164), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0000),
                           (0xE0002, 0xE001F), (0xE0080, 0xE00FF), (0xE01F0, 0xE0FFF))
# Unicode PropList.txt: Variation_Selector.
VARIATION_SELECTORS = ((0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
# Unicode PropList.txt: Prepended_Concatenation_Mark (format characters with a visible glyph).
PREPENDED_CONCATENATION_MARKS = frozenset((0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F,
                                           0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD))
BRAILLE_PATTERN_BLANK = 0x2800
JOINERS = frozenset((0x200C, 0x200D))
DIRECTION_MARKS = frozenset((0x200E, 0x200F))
# Format characters only exist in the Basic and Supplementary Multilingual Planes and in plane 14.
_PLANES_WITH_FORMAT_CHARACTERS = (range(0x0000, 0x20000), range(0xE0000, 0xE1000))
# Letters of scripts that never join or shape, plus digits, punctuation and symbols of the same blocks:
# a joiner after one of these changes nothing visible.
_NON_JOINING_SCRIPTS = ((0x0000, 0x058F), (0x1D00, 0x1DBF), (0x1E00, 0x1FFF), (0x2000, 0x206F),
                        (0x2C60, 0x2C7F), (0xA720, 0xA7FF), (0xFF00, 0xFF5E))
_TAG_LETTERS = "\U000E0061-\U000E007A"
_TAG_DIGITS = "\U000E0030-\U000E0039"


def _expand(ranges) -> set[int]:
    return {code for first, last in ranges for code in range(first, last + 1)}


def _always_hidden() -> set[int]:
    """Code points revealed wherever they are (the joiners and variation selectors are contextual)."""
    format_characters = {code for plane in _PLANES_WITH_FORMAT_CHARACTERS for code in plane
                         if unicodedata.category(chr(code)) == "Cf"}
    hidden = format_characters | _expand(OTHER_DEFAULT_IGNORABLE) | {BRAILLE_PATTERN_BLANK}
    return hidden - PREPENDED_CONCATENATION_MARKS - DIRECTION_MARKS - JOINERS - _expand(VARIATION_SELECTORS)


def _char_class(codes: set[int], negate: bool = False) -> str:
    """A regex character class of `codes`, written as ranges."""
    parts, ordered = [], sorted(codes)
    start = previous = ordered[0]
    for code in ordered[1:] + [None]:
        if code is not None and code == previous + 1:
            previous = code
            continue
        first, last = re.escape(chr(start)), re.escape(chr(previous))
        parts.append(first if start == previous else f"{first}-{last}")
        if code is not None:
            start = previous = code
    return f"[{'^' if negate else ''}{''.join(parts)}]"


ALWAYS_HIDDEN = frozenset(_always_hidden())
_SELECTORS = _expand(VARIATION_SELECTORS)
_WHITESPACE = {code for code in range(0x3000 + 1) if chr(code).isspace()}
# "At the start, or right after one of these" is written (?<!NOT-THESE) with a negated class.
_JOINER_IS_IDLE_AFTER = _char_class(_expand(_NON_JOINING_SCRIPTS) | ALWAYS_HIDDEN | JOINERS | _WHITESPACE,
                                    negate=True)
_SELECTOR_IS_IDLE_AFTER = _char_class(ALWAYS_HIDDEN | JOINERS | _SELECTORS | _WHITESPACE, negate=True)
# Any character that may need a marker: the cheap first test, so ordinary text is returned untouched.
CANDIDATES = re.compile(_char_class(ALWAYS_HIDDEN | JOINERS | _SELECTORS))
HIDDEN_CONTROLS = re.compile(
    f"(?P<flag>\U0001F3F4[{_TAG_LETTERS}]{{2}}[{_TAG_LETTERS}{_TAG_DIGITS}]{{1,3}}\U000E007F)"
    f"|{_char_class(ALWAYS_HIDDEN)}"
    f"|(?<!{_JOINER_IS_IDLE_AFTER})[\u200c\u200d]"
    f"|(?<!{_SELECTOR_IS_IDLE_AFTER}){_char_class(_SELECTORS)}"
    f"|{_char_class(_SELECTORS)}(?={_char_class(_SELECTORS)})"
)


def _marker(match: re.Match) -> str:
    if match.group("flag"):
        return match.group()
    return f"[U+{ord(match.group()):04X}]"


def reveal_hidden_controls(text: str) -> str:
    """Replace each invisible formatting or default-ignorable character with a visible [U+XXXX] marker."""
    if text.isascii() or not CANDIDATES.search(text):  # isascii() is a flag check: plain text costs nothing
        return text
    return HIDDEN_CONTROLS.sub(_marker, text)
