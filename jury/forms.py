"""WTForms forms; Flask-WTF adds the CSRF token to each."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from jury.rules import RULES


def rule_choices() -> list[tuple[str, str]]:
    """(code, title) pairs for rule pickers."""
    return [(rule.code, rule.title) for rule in RULES]


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    submit = SubmitField("Log in")


class NextCaseForm(FlaskForm):
    """Ask to be dealt the next case (a POST: it takes a seat)."""

    submit = SubmitField("Next case")


class VoteForm(FlaskForm):
    """A juror's vote: remove with a rule, or keep."""

    decision = HiddenField(validators=[DataRequired()])
    rule = RadioField("Rule", choices=rule_choices(), validators=[Optional()], validate_choice=False)
    note = TextAreaField("Note (optional, seen by leads only)", validators=[Optional(), Length(max=2000)])


class SkipForm(FlaskForm):
    """Give the seat back without voting."""

    submit = SubmitField("Skip")


class LeadDecisionForm(FlaskForm):
    """A lead's decision on an escalated case."""

    outcome = SelectField("Decision", choices=[("remove", "Remove"), ("keep", "Keep")])
    rule = SelectField("Rule (for a removal)", choices=[("", "—")] + rule_choices(), validators=[Optional()])
    note = TextAreaField("Reason", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Decide")


class RetryActionForm(FlaskForm):
    """Retry a dead action."""

    submit = SubmitField("Retry")


class RetrainForm(FlaskForm):
    """Retrain the site model on the jury's verdicts now."""

    submit = SubmitField("Retrain the site model now")


class SandboxReportForm(FlaskForm):
    """Report a sandbox post to Jury, as a network user would."""

    reason = SelectField("Reason", choices=[("", "Report as…")] + rule_choices(), validators=[DataRequired()])
    submit = SubmitField("Report")


class ReestimateForm(FlaskForm):
    """Re-estimate every juror's reliability now instead of waiting for the sweeper."""

    submit = SubmitField("Re-estimate reliabilities now")
