"""Forms of the lead console and the invitation page (Flask-WTF adds CSRF to each POST form)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from jury.web.forms_base import JuryForm
from models import CASE_STATES


class PolicyForm(JuryForm):
    """The reason for publishing, or the shadow run's own; the settings fields are generated from the
    settings themselves (jury.leads.policy_versions). Which reason is required depends on the button."""

    reason = TextAreaField("Reason for the change", validators=[Optional(), Length(max=2000)])
    shadow_name = StringField("Shadow run name", validators=[Optional(), Length(max=80)])
    shadow_days = IntegerField("Shadow for (days)", default=7, validators=[Optional(), NumberRange(1, 60)])
    shadow_reason = TextAreaField("Why try it", validators=[Optional(), Length(max=2000)])
    publish = SubmitField("Publish as a new version")
    shadow = SubmitField("Run in shadow mode instead")

    def validate(self, extra_validators=None) -> bool:
        """The pressed button's reason is required: publishing's, or the shadow run's."""
        valid = super().validate(extra_validators)
        needed = self.shadow_reason if self.shadow.data else self.reason
        if not (needed.data or "").strip():
            needed.errors = [*needed.errors, "Say why: it is kept with the change."]
            return False
        return valid


class RollbackForm(JuryForm):
    """Roll back to an earlier version."""

    reason = StringField("Reason", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Roll back to this version")


class StopShadowForm(JuryForm):
    """End a shadow run."""

    submit = SubmitField("Stop")


class TuningForm(JuryForm):
    """Which model, label and threshold to look at (a GET form: it changes nothing)."""

    class Meta:
        csrf = False

    model = SelectField("Model", validate_choice=False)
    label = SelectField("Label", validate_choice=False)
    threshold = FloatField("Candidate threshold", default=0.5, validators=[InputRequired(), NumberRange(0, 1)])
    days = IntegerField("Replay the last (days)", default=7, validators=[InputRequired(), NumberRange(1, 90)])


class JurorActionForm(JuryForm):
    """Approve, pause, resume, suspend or reinstate a juror."""

    reason = StringField("Reason", validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Apply")


class ResetPasswordForm(JuryForm):
    """Give a juror a temporary password."""

    submit = SubmitField("Reset password")


class InviteForm(JuryForm):
    """Create an invitation link."""

    note = StringField("Note (who it is for)", validators=[Optional(), Length(max=200)])
    days = IntegerField("Valid for (days)", default=7, validators=[InputRequired(), NumberRange(1, 30)])
    submit = SubmitField("Create invitation link")


class JoinForm(JuryForm):
    """Register from an invitation."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=256)])
    confirm = PasswordField(_l("Repeat the password"), validators=[EqualTo("password", _l("The passwords differ."))])
    submit = SubmitField(_l("Join"))


class CaseFilterForm(JuryForm):
    """Filter cases for bulk work (a GET form)."""

    class Meta:
        csrf = False

    post = StringField("Post id", validators=[Optional(), Length(max=128)])
    reporter = StringField("Reporter", validators=[Optional(), Length(max=128)])
    reason = StringField("Report reason", validators=[Optional(), Length(max=32)])
    state = SelectField("State", choices=[("", "any")] + [(s, s) for s in CASE_STATES], validators=[Optional()])
    since = DateField("Opened from", validators=[Optional()])
    until = DateField("Opened until", validators=[Optional()])


class BulkCloseForm(JuryForm):
    """Close the selected cases as unfounded."""

    note = StringField("Reason", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Close selected as unfounded")


class MuteForm(JuryForm):
    """Mute a reporter."""

    reporter = StringField("Reporter account", validators=[DataRequired(), Length(max=128)])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Mute reporter")


class UnmuteForm(JuryForm):
    """Unmute a reporter."""

    submit = SubmitField("Unmute")
