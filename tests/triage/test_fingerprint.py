"""Fingerprints: copies dressed up to dodge matching still match; quotes and padding do not."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import fingerprint
from triage.fingerprint import jaccard, normalise, similarity, sketch

THREAT = ("I know where you live @mayor_jones. Tonight I will come to your house and kill you and your "
          "family. Nobody will stop me.")
DEFAULT = 0.6  # the policy's default clusters.similarity


def estimated(first: str, second: str) -> float:
    """The similarity the matcher computes, from the two signatures."""
    return similarity(sketch(first).signature, sketch(second).signature)


# --- normalisation: one evasion at a time -----------------------------------------------------


@pytest.mark.parametrize("dressed", [
    pytest.param("I KNOW where You live", id="case"),
    pytest.param("І knоw whеrе yоu livе", id="cyrillic homoglyphs"),
    pytest.param("Ι ΚΝΟW whΕrΕ yου live", id="greek homoglyphs"),
    pytest.param("Ｉ ｋｎｏｗ ｗｈｅｒｅ ｙｏｕ ｌｉｖｅ", id="fullwidth (NFKC)"),
    pytest.param("𝐈 𝐤𝐧𝐨𝐰 𝐰𝐡𝐞𝐫𝐞 𝐲𝐨𝐮 𝐥𝐢𝐯𝐞", id="mathematical bold (NFKC)"),
    pytest.param("I kn\u200bow wh\u200ce\u200dre y\ufeffou li\u2060ve", id="zero-width characters"),
    pytest.param("I \u202eknow\u202c where \u2066you\u2069 live\u200f", id="bidi controls"),
    pytest.param("I  know\n\twhere   you live ", id="whitespace"),
    pytest.param("I kno\u0301w whe\u0308re you live", id="combining marks"),
    pytest.param("I know 🔪 where you 💀 live 👍🏽🇺🇸", id="emoji"),
    pytest.param("I kn0w wh3r3 y0u l1v3", id="leetspeak"),
    pytest.param("1 kn0w wh3r3 y0u l1v3", id="leetspeak, a word of one digit stays"),
])
def test_each_evasion_normalises_to_the_plain_text(dressed):
    expected = "i know where you live"
    assert normalise(dressed) == (expected if not dressed.startswith("1 ") else "1" + expected[1:])


def test_numbers_stay_numbers_and_only_words_with_letters_are_folded():
    assert normalise("Meet at 10, room 404, on 12/01/2021") == "meet at 10, room 404, on 12/01/2021"
    assert normalise("$h00t the c0ps 4t 10") == "shoot the cops at 10"


def test_urls_and_mentions_become_placeholders_and_hashtags_keep_their_word():
    text = "@bob @alice@social.example see https://evil.example/x?y=1 and www.t.co/abc or bad.example/page #Kill #them"
    assert normalise(text) == "<user> <user> see <url> and <url> or <url> kill them"


def test_an_email_address_is_not_a_mention():
    assert "<user>" not in normalise("write to bob@example.org today")


@pytest.mark.parametrize("dressed", [
    "I w i l l  k i l l  y o u",
    "I.will.kill.you",
    "I wiiiill KILLLL you!!!",
    "I wіll kіll yоu",
    "I\u200bwill\u200bkill\u200byou",
    "I will 🔪 kill 🔪 you 🔪",
    "I w1ll k1ll y0u",
])
def test_copies_built_to_dodge_matching_share_the_exact_fingerprint(dressed):
    assert sketch(dressed).fingerprint == sketch("I will kill you").fingerprint


@pytest.mark.parametrize("text", ["", "🔪🔪🔪", "ok", "https://example.org/abc", "@someone", "\u200b\u200b"])
def test_texts_too_short_to_shingle_are_not_matchable(text):
    result = sketch(text)
    assert not result.matchable and result.band_keys == ()


def test_hostile_input_of_any_size_normalises_without_error():
    huge = "\ud800\U000e0041" + "z\u0336a\u0336lgo text " * 50_000
    result = sketch(huge)
    assert result.matchable
    assert len(normalise(huge)) <= fingerprint.MAX_CHARS


# --- signatures: near-copies match ------------------------------------------------------------


@pytest.mark.parametrize("copy", [
    pytest.param(THREAT.replace("o", "о").replace("e", "е"), id="homoglyphs"),
    pytest.param("\u200b".join(THREAT), id="zero-width between every character"),
    pytest.param(THREAT.replace(" ", " 🔪 ", 5) + " 💀💀", id="emoji"),
    pytest.param(THREAT.replace("@mayor_jones", "@council_smith"), id="another mention"),
    pytest.param(THREAT + " https://t.co/abc123", id="a link added"),
    pytest.param(THREAT + " #justice #patriots", id="hashtags added"),
    pytest.param(THREAT.replace("Tonight", "Tomorrow"), id="a word changed"),
    pytest.param(THREAT.replace("Tonight", "Tomorrow").replace("family", "kids"), id="two words changed"),
    pytest.param(THREAT + " You have been warned.", id="a sentence added"),
    pytest.param(" ".join(THREAT.replace("@mayor_jones", "")), id="spaced out"),
])
def test_near_copies_reach_the_default_similarity_and_share_a_band(copy):
    assert estimated(THREAT, copy) >= DEFAULT
    assert set(sketch(THREAT).band_keys) & set(sketch(copy).band_keys)


def test_unrelated_posts_are_far_apart():
    other = "The weather in the city is lovely today, we walked by the river and had ice cream."
    assert estimated(THREAT, other) < 0.1
    assert jaccard(THREAT, other) < 0.1


def test_the_signature_estimates_the_exact_jaccard_similarity():
    copy = THREAT.replace("Tonight", "Tomorrow").replace("family", "kids")
    assert abs(estimated(THREAT, copy) - jaccard(THREAT, copy)) < 0.15


def test_signatures_survive_storage():
    signature = sketch(THREAT).signature
    stored = fingerprint.signature_bytes(signature)
    assert len(stored) == 4 * fingerprint.NUM_PERM
    assert similarity(stored, signature) == 1.0


# --- not over-matching ------------------------------------------------------------------------

COUNTER_SPEECH = [
    f'Someone just posted this at our mayor: "{THREAT}" This is disgusting and criminal. I reported it to '
    "the police and so should you. Threats like this have no place in our town.",
    f'Police are investigating a message sent to Mayor Jones on Tuesday night. The post read: "{THREAT}" A '
    "spokesperson said officers were treating it as a credible threat and that the mayor is safe.",
    f"Quoting a violent post to condemn it: {THREAT} Whoever wrote this should be ashamed, and everyone who "
    "shares it without comment is helping them spread fear.",
]


@pytest.mark.parametrize("quote", COUNTER_SPEECH, ids=["counter-speech", "news", "condemnation"])
def test_a_threat_quoted_inside_a_longer_text_is_not_a_near_duplicate(quote):
    assert jaccard(THREAT, quote) < 0.45
    assert estimated(THREAT, quote) < DEFAULT


def test_a_lawful_post_padded_with_the_threats_words_is_not_a_near_duplicate():
    padded = ("I will come to the house tonight for the family dinner, nobody will stop me from bringing the "
              "pie. Kill the lights when you live, I know where you keep the candles.")
    assert jaccard(THREAT, padded) < 0.35
    assert estimated(THREAT, padded) < DEFAULT


def test_the_threats_words_shuffled_are_not_a_near_duplicate():
    words = THREAT.split()
    shuffled = " ".join(words[1::2] + words[0::2])
    assert estimated(THREAT, shuffled) < DEFAULT


# --- properties -------------------------------------------------------------------------------

WORDS = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9), min_size=6, max_size=25)
INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u00ad"])
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "s": "ѕ"}


@settings(max_examples=60, deadline=None)
@given(words=WORDS, data=st.data())
def test_invisible_characters_anywhere_change_nothing(words, data):
    text = " ".join(words)
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 10))):
        chars.insert(data.draw(st.integers(0, len(chars))), data.draw(INVISIBLE))
    assert sketch("".join(chars)).fingerprint == sketch(text).fingerprint


@settings(max_examples=60, deadline=None)
@given(words=WORDS, swaps=st.sets(st.sampled_from(sorted(HOMOGLYPHS)), min_size=1))
def test_homoglyphs_change_nothing(words, swaps):
    text = " ".join(words)
    dressed = "".join(HOMOGLYPHS[c] if c in swaps else c for c in text)
    assert sketch(dressed).fingerprint == sketch(text).fingerprint


@settings(max_examples=60, deadline=None)
@given(words=WORDS, gaps=st.lists(st.sampled_from([" ", "  ", "\n", "\t", " 🔥 ", "💀", " \u3000 "]), min_size=1))
def test_spacing_and_emoji_between_words_change_nothing(words, gaps):
    dressed = "".join(word + gaps[i % len(gaps)] for i, word in enumerate(words))
    assert sketch(dressed).fingerprint == sketch(" ".join(words)).fingerprint


CONDEMNATION = (
    "We have seen the post below shared across the network this week and we want to be clear about where "
    "this community stands. Nobody should be afraid to go home because of what a stranger typed. Report it, "
    "do not share it without comment, check on the people it names, and remember that every one of these "
    "messages is read by a real person with a family, a job and a street address of their own. Moderators "
    "are reviewing each copy, and the police have been told. Here is what was written, so you know it when "
    "you see it again, and after it our advice for anyone who receives one of these threats themselves.")


@settings(max_examples=40, deadline=None)
@given(words=WORDS)
def test_a_text_wrapped_in_twice_its_length_of_other_words_never_matches_it(words):
    text = " ".join(words)
    assert len(text) <= 250
    assert jaccard(text, f"{CONDEMNATION[:300]} {text} {CONDEMNATION[300:]}") < DEFAULT


def test_batch_signatures_are_the_values_datasketch_computes():
    rng = random.Random(5)
    words = ["kill", "vote", "river", "mayor", "house", "quiet"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 60))) for _ in range(300)]
    keys = [fingerprint.compact(normalise(text)) for text in texts]
    hashes = [h for h in fingerprint.shingle_hashes(keys) if len(h)]
    batch = fingerprint.signatures_of(hashes)
    assert batch.shape == (len(hashes), fingerprint.NUM_PERM)
    for row, values in zip(batch, hashes, strict=True):
        assert (row == fingerprint.signature_of(values)).all()
