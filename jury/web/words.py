"""Codes as words: what a page shows for a rule, a case's state and origin, a verdict's method, a
decision, a model's score label, an appeal's or a juror's state, a network action's type and state, a
post's or an account's state on the network, a strike's status and an account timeline's kinds of
event, in the reader's language.

The codes stay in the database, the API and the exports; people read the words. Each is a Jinja
filter (`{{ case.state|state_word }}`), registered by jury.web. A code with no word here (a newer
state, a network's own report reason) is shown as written, its underscores as spaces.
"""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from jury.jurors.guide import rule_title as _guide_rule_title
from models.rules import RULES, RULES_BY_CODE

CASE_STATES = {
    "queued": _l("waiting for jurors"),
    "in_review": _l("in review"),
    "decided": _l("decided"),
    "actioned": _l("decided and carried out"),
    "escalated": _l("escalated to a lead"),
    "gold": _l("known-answer case"),
}
CASE_ORIGINS = {
    "reported": _l("reported by users"),
    "auto_flagged": _l("flagged by the model"),
    "appeal": _l("appeal"),
    "gold": _l("known-answer case"),
    "cluster": _l("near-copy of a decided post"),
    "confirm": _l("near-copy to confirm"),
    "spot_check": _l("spot check of a near-copy"),
}
VERDICT_METHODS = {
    "quorum": _l("panel majority"),
    "weighted": _l("panel, weighted by each juror's reliability"),
    "lead": _l("a lead's decision"),
    "auto": _l("automatic"),
    "cluster": _l("the decision on a near-copy, applied"),
}
DECISIONS = {"remove": _l("Remove"), "keep": _l("Keep")}
SCORE_LABELS = {
    "toxicity": _l("Toxicity"),
    "severe_toxicity": _l("Severe toxicity"),
    "obscene": _l("Obscenity"),
    "threat": _l("Threat"),
    "insult": _l("Insult"),
    "identity_attack": _l("Attack on identity"),
}
APPEAL_STATES = {
    "pending": _l("with a fresh panel"),
    "awaiting_signoff": _l("awaiting a lead's sign-off"),
    "upheld": _l("upheld"),
    "overturned": _l("overturned"),
}
JUROR_STATES = {
    "probation": _l("in training"),
    "active": _l("active"),
    "paused": _l("paused"),
    "suspended": _l("suspended"),
}
ACTION_TYPES = {
    "remove_post": _l("remove the post"),
    "restore_post": _l("restore the post"),
    "hide_post": _l("hide the post"),
    "unhide_post": _l("show the post again"),
    "warn_account": _l("warn the author"),
    "suspend_account": _l("suspend the author"),
    "unsuspend_account": _l("lift the author's suspension"),
    "notify": _l("tell the reporter"),
    "critical_case": _l("alert the on-call lead"),
}
ACTION_STATES = {
    "pending": _l("waiting to be sent"),
    "sending": _l("being sent"),
    "failed": _l("failed, will retry"),
    "sent": _l("sent"),
    "dead": _l("refused for good"),
}
POST_STATES = {
    "visible": _l("visible"),
    "hidden": _l("hidden"),
    "removed": _l("removed"),
    "restored": _l("restored"),
}
ACCOUNT_STATES = {
    "active": _l("in good standing"),
    "warned": _l("warned"),
    "suspended": _l("suspended"),
    "banned": _l("banned"),
}
STRIKE_STATUSES = {"active": _l("in force"), "expired": _l("expired"), "withdrawn": _l("withdrawn")}
# The account page's timeline: what each line is.
EVENT_KINDS = {
    "post": _l("Post"),
    "report_against": _l("Reported"),
    "report_by": _l("Report made"),
    "case": _l("Case"),
    "verdict": _l("Decision"),
    "action": _l("Network action"),
    "appeal": _l("Appeal"),
    "strike": _l("Strike"),
}
APPELLANT_ROLES = {"author": _l("author"), "reporter": _l("reporter")}
# Pages that received a rule's English title (a case's report reasons) still get it translated.
_CODE_OF_TITLE = {rule.title: rule.code for rule in RULES}


def _as_written(code) -> str:
    return "" if code is None else str(code).replace("_", " ")


def rule_title(value: str | None) -> str:
    """A rule's title in the reader's language, from its code or its English title; anything else as written."""
    code = value if value in RULES_BY_CODE else _CODE_OF_TITLE.get(value or "")
    return _guide_rule_title(code) if code else _as_written(value)


def _word(words: dict):
    def word(code: str | None) -> str:
        found = words.get(code or "")
        return str(found) if found is not None else _as_written(code)
    return word


state_word = _word(CASE_STATES)
origin_word = _word(CASE_ORIGINS)
method_word = _word(VERDICT_METHODS)
decision_word = _word(DECISIONS)
score_word = _word(SCORE_LABELS)
appeal_state_word = _word(APPEAL_STATES)
juror_state_word = _word(JUROR_STATES)
action_type_word = _word(ACTION_TYPES)
action_state_word = _word(ACTION_STATES)
post_state_word = _word(POST_STATES)
account_state_word = _word(ACCOUNT_STATES)
strike_status_word = _word(STRIKE_STATUSES)
event_kind_word = _word(EVENT_KINDS)
appellant_word = _word(APPELLANT_ROLES)

FILTERS = {"rule_title": rule_title, "state_word": state_word, "origin_word": origin_word,
           "method_word": method_word, "decision_word": decision_word, "score_word": score_word,
           "appeal_state_word": appeal_state_word, "juror_state_word": juror_state_word,
           "action_type_word": action_type_word, "action_state_word": action_state_word,
           "post_state_word": post_state_word, "account_state_word": account_state_word,
           "strike_status_word": strike_status_word, "event_kind_word": event_kind_word,
           "appellant_word": appellant_word}


def register(app: Flask) -> None:
    """Make every word a template filter."""
    app.jinja_env.filters.update(FILTERS)
