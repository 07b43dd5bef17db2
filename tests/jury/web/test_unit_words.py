"""Codes become words in English and in French: every state, origin, method, decision, score label and rule,
network action type and state, post and account state, strike status and account timeline line."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from classifiers import LABELS
from jury.web import words
from models import (
    ACCOUNT_STATES,
    ACTION_STATES,
    APPEAL_STATES,
    CASE_ORIGINS,
    CASE_STATES,
    DECISIONS,
    POST_STATES,
    USER_STATES,
    VERDICT_METHODS,
)
from models.rules import RULES
from network import ACTION_TYPES
from network.oncall import ALERT_TYPE
from triage.policy import VERDICT_METHODS as POLICY_METHODS

KINDS = [
    (words.state_word, CASE_STATES),
    (words.origin_word, CASE_ORIGINS),
    (words.method_word, VERDICT_METHODS + POLICY_METHODS),
    (words.decision_word, DECISIONS),
    (words.score_word, LABELS),
    (words.appeal_state_word, APPEAL_STATES),
    (words.juror_state_word, USER_STATES),
    (words.rule_title, tuple(rule.code for rule in RULES)),
    (words.action_type_word, ACTION_TYPES + (ALERT_TYPE,)),
    (words.action_state_word, ACTION_STATES),
    (words.post_state_word, POST_STATES),
    (words.account_state_word, ACCOUNT_STATES),
    (words.strike_status_word, ("active", "expired", "withdrawn")),
    (words.event_kind_word, ("post", "report_against", "report_by", "case", "verdict", "action", "appeal", "strike")),
    (words.appellant_word, ("author", "reporter")),
]


@pytest.mark.parametrize(("word", "codes"), KINDS, ids=[word.__name__ for word, _ in KINDS])
def test_every_code_has_a_word_in_both_languages(sqlite_app, word, codes):
    with sqlite_app.test_request_context():
        for code in codes:
            with force_locale("en"):
                english = word(code)
            with force_locale("fr"):
                french = word(code)
            assert "_" not in english and english, code
            assert french and french != english, (code, french)


def test_a_report_reason_shown_as_its_english_title_is_translated_too(sqlite_app):
    with sqlite_app.test_request_context(), force_locale("fr"):
        assert words.rule_title("harassment") == "Harcèlement"
        assert words.rule_title("Harassment") == "Harcèlement"  # the case page's reports carry titles
        assert words.rule_title(None) == ""


def test_an_unknown_code_is_shown_as_written(sqlite_app):
    with sqlite_app.test_request_context(), force_locale("fr"):
        assert words.state_word("under_audit") == "under audit"
        assert words.rule_title('<b>"odd"</b>') == '<b>"odd"</b>'  # escaped by the template, like any value


def test_the_filters_are_installed(sqlite_app):
    for name in words.FILTERS:
        assert sqlite_app.jinja_env.filters[name] is words.FILTERS[name]
