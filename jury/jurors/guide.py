"""The juror's guide to each rule: translated titles, summaries and examples, keyed by rule code."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from models.rules import RULES


@dataclass(frozen=True)
class RuleGuide:
    """One rule as the juror's pages show it."""

    code: str
    key: str  # the number key that picks it on the case page
    title: str
    summary: str
    breaks: tuple[str, ...]
    does_not: tuple[str, ...]


# Rule texts again, marked for translation (models.rules stays the English source of truth).
_TEXTS = {
    "violence_threat": (
        _l("Violence or threats"),
        _l("Threatens, incites or glorifies violence against a person or group."),
        (_l("“I know where you live and I will hurt you tonight.”"),
         _l("Praising an attack and calling for more.")),
        (_l("“That film absolutely killed it.”"), _l("Reporting on a war without glorifying it."))),
    "hate": (
        _l("Hate"),
        _l("Attacks people for a protected characteristic (origin, religion, gender, disability...)."),
        (_l("“People from that town are vermin.”"), _l("Slurs aimed at a religion or an origin.")),
        (_l("Criticising a government's policy."), _l("Quoting a slur in order to condemn it."))),
    "harassment": (
        _l("Harassment"),
        _l("Targets a person with insults, intimidation or sustained unwanted contact."),
        (_l("“You are a pathetic idiot and everyone despises you.”"),
         _l("Replying to one person again and again after being asked to stop.")),
        (_l("Strong disagreement with an argument."), _l("Friendly banter between friends."))),
    "sexual": (
        _l("Sexual content"),
        _l("Sexual content outside what the network allows, or any sexualisation of minors."),
        (_l("Explicit sexual descriptions on a general-audience network."),
         _l("Anything sexualising a minor (always remove).")),
        (_l("Sex education in plain words."), _l("A kiss in a wedding photo caption."))),
    "self_harm": (
        _l("Self-harm"),
        _l("Encourages or instructs suicide, self-injury or eating disorders."),
        (_l("Instructions for self-injury."), _l("Telling someone they should end their life.")),
        (_l("Someone saying they are struggling and asking for help."), _l("Sharing a helpline number."))),
    "spam": (
        _l("Spam or scams"),
        _l("Repetitive, deceptive or fraudulent content."),
        (_l("“Buy cheap followers now, half price!!!” posted everywhere."),
         _l("Fake giveaways asking for card numbers.")),
        (_l("A small shop announcing its opening once."), _l("Sharing one's own blog post."))),
    "illegal": (
        _l("Illegal content"),
        _l("Content that is unlawful where the network operates (say which law in a note)."),
        (_l("Selling prohibited weapons or drugs."), _l("Publishing someone's private documents.")),
        (_l("Discussing whether a law is fair."), _l("News about a crime."))),
    "other": (
        _l("Other rule"),
        _l("Breaks another of the network's terms (say which in a note)."),
        (_l("Impersonating another account."),),
        (_l("An opinion you dislike."),)),
}


def rule_guides() -> list[RuleGuide]:
    """Every rule in order, with its number key (1-8) and translated texts."""
    # Built once per language: the texts are fixed while the process runs, and every case page
    # shows them (about 50 translations looked up each time otherwise).
    return list(_guides_in(str(get_locale() or "en")))


@functools.lru_cache(maxsize=16)
def _guides_in(locale: str) -> tuple[RuleGuide, ...]:
    """rule_guides for one language (the request's, which the lazy strings read)."""
    guides = []
    for index, rule in enumerate(RULES, start=1):
        title, summary, breaks, does_not = _TEXTS.get(rule.code, (rule.title, rule.summary, (), ()))
        guides.append(RuleGuide(rule.code, str(index), str(title), str(summary),
                                tuple(str(x) for x in breaks), tuple(str(x) for x in does_not)))
    return tuple(guides)


def rule_title(code: str | None) -> str:
    """The translated title of a rule code (the code itself if unknown)."""
    entry = _TEXTS.get(code or "")
    return str(entry[0]) if entry else (code or "")
