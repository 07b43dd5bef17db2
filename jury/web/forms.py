"""WTForms forms; Flask-WTF adds the CSRF token to each."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from jury.web.forms_base import JuryForm
from models.rules import RULES


def rule_choices() -> list[tuple[str, str]]:
    """(code, title) pairs for rule pickers."""
    return [(rule.code, rule.title) for rule in RULES]


class LoginForm(JuryForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Log in"))


class NextCaseForm(JuryForm):
    """Ask to be dealt the next case (a POST: it takes a seat)."""

    submit = SubmitField(_l("Next case"))


class VoteForm(JuryForm):
    """A juror's vote: remove with a rule, or keep."""

    decision = HiddenField(validators=[DataRequired()])
    rule = RadioField("Rule", choices=rule_choices(), validators=[Optional()], validate_choice=False)
    note = TextAreaField(_l("Note (optional, seen by leads only)"),
                         validators=[Optional(), Length(max=2000, message=_l("A note is at most %(max)d characters."))])


class SkipForm(JuryForm):
    """Give the seat back without voting."""

    submit = SubmitField(_l("Skip"))


LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


class ProfileForm(JuryForm):
    """A juror's own settings: interface language, reading languages, content opt-outs."""

    locale = SelectField(_l("Interface language"),
                         choices=[("", _l("As my browser asks")), ("en", "English"), ("fr", "Français")],
                         validators=[Optional()])
    languages = StringField(_l("Languages you read (codes such as en, fr, de; comma-separated)"),
                            validators=[DataRequired(), Length(max=64)])
    opted_out = SelectMultipleField(_l("Never deal me cases about"), choices=rule_choices(),
                                    option_widget=widgets.CheckboxInput(),
                                    widget=widgets.ListWidget(prefix_label=False), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def validate_languages(self, field) -> None:
        """Two- or three-letter codes, at most ten."""
        codes = [code.strip().lower() for code in (field.data or "").split(",") if code.strip()]
        if not codes or len(codes) > 10 or not all(LANGUAGE_CODE.match(code) for code in codes):
            raise ValidationError(_l("Give one to ten language codes such as en, fr."))

    def language_codes(self) -> list[str]:
        """The reading languages as a clean list, in the order given."""
        return list(dict.fromkeys(code.strip().lower() for code in self.languages.data.split(",") if code.strip()))


class PasswordChangeForm(JuryForm):
    """The account holder replaces their password (a lead's temporary one, say)."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password (at least 10 characters)"),
                                 validators=[DataRequired(), Length(max=256)])
    repeat_password = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Change the password"))


class PromoteGoldForm(JuryForm):
    """A lead adds a decided case to the gold set."""

    submit = SubmitField("Add to the gold set")


class LeadDecisionForm(JuryForm):
    """A lead's decision on an escalated case."""

    outcome = SelectField("Decision", choices=[("remove", "Remove"), ("keep", "Keep")],
                          validate_choice=False)
    # Checked below, with messages a lead can act on (not WTForms' bare "Not a valid choice").
    rule = SelectField("Rule (for a removal)", choices=[("", "—")] + rule_choices(), validate_choice=False)
    note = TextAreaField("Reason", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Decide")

    def validate_outcome(self, field):
        """Only remove or keep."""
        if field.data not in ("remove", "keep"):
            raise ValidationError("The decision must be Remove or Keep.")

    def validate_rule(self, field):
        """A known rule, and one is needed for a removal."""
        if field.data and field.data not in {code for code, _title in rule_choices()}:
            raise ValidationError("That is not one of the rules: pick a rule from the list.")
        if not field.data and self.outcome.data == "remove":
            raise ValidationError("A removal needs one of the rules.")


class RetryActionForm(JuryForm):
    """Retry a dead action."""

    submit = SubmitField("Retry")


class ReferralForm(JuryForm):
    """Export a critical case's referral packet (the export is an audit event, so it is a POST)."""

    submit = SubmitField("Export the referral packet")


class ClusterReverseForm(JuryForm):
    """Reverse a cluster's standing removal for every copy it removed, with the reason the authors read."""

    reason = TextAreaField("Why (each author reads it)", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Reverse for every copy")


class ClusterResumeForm(JuryForm):
    """Let a paused cluster's later copies be removed without a juror again."""

    submit = SubmitField("Resume removing later copies")


class RetrainForm(JuryForm):
    """Retrain the site model on the jury's verdicts now."""

    submit = SubmitField("Retrain the site model now")


class SandboxReportForm(JuryForm):
    """Report a sandbox post to Jury, as a network user would."""

    reason = SelectField("Reason", choices=[("", "Report as…")] + rule_choices(), validators=[DataRequired()])
    submit = SubmitField("Report")


class SandboxAccountForm(JuryForm):
    """Whom a visitor of the sandbox network browses as (the stand-in for the network's own login)."""

    account = SelectField("Browse the network as", choices=[("", "a visitor")], validate_choice=False,
                          validators=[Optional(), Length(max=128)])
    submit = SubmitField("Switch")


class AppealForm(JuryForm):
    """An author's statement against a decision (no account needed: the signed link is the key)."""

    statement = TextAreaField("Why was the decision wrong?", validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField("Send my appeal")


class AppealSignOffForm(JuryForm):
    """A lead confirms or refuses a fresh panel's reversal, with a reason the appellant reads."""

    decision = SelectField("Decision", choices=[("approve", "Confirm the reversal"),
                                                ("reject", "Do not confirm: the decision stands")])
    reason = TextAreaField("Reason (sent to the appellant)", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Sign off")


class PeriodForm(JuryForm):
    """A reporting period (GET form: no state changes, so no CSRF token)."""

    class Meta:
        csrf = False

    start = StringField("From (YYYY-MM-DD)", validators=[DataRequired(), Length(max=10)])
    end = StringField("To (YYYY-MM-DD, included)", validators=[DataRequired(), Length(max=10)])


class RetireGoldForm(JuryForm):
    """A lead stops dealing a gold case."""

    submit = SubmitField("Retire from the gold set")


class ReestimateForm(JuryForm):
    """Re-estimate every juror's reliability now instead of waiting for the sweeper."""

    submit = SubmitField("Re-estimate reliabilities now")
