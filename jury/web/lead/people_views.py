"""The lead's pages on people: jurors, invitations, and who may sit on a panel (with the gold set)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from jury.jurors import eligibility
from jury.jurors import manage as jurors
from jury.web.forms import PromoteGoldForm, RetireGoldForm
from jury.web.forms_lead import InviteForm, JurorActionForm, ResetPasswordForm
from jury.web.lead.lead_blueprint import bp
from models import USER_STATES
from triage import gold

NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/jurors")
def jurors_list():
    """Jurors with state, volume, agreement and last activity; invitations."""
    state = request.args.get("state") if request.args.get("state") in USER_STATES else None
    return render_template("lead/jurors.html", rows=jurors.list_jurors(state), state=state, states=USER_STATES,
                           transitions=jurors.TRANSITIONS, form=JurorActionForm(), reset_form=ResetPasswordForm(),
                           invite_form=InviteForm(), invites=jurors.recent_invites())


@bp.post("/jurors/<int:user_id>/<any(approve, pause, resume, suspend, reinstate):action>")
def juror_action(user_id: int, action: str):
    """Change a juror's state."""
    form = JurorActionForm()
    if not form.validate_on_submit():
        abort(400)
    user = jurors.change_state(user_id, action, reason=form.reason.data or "", actor_id=current_user.id)
    flash(f"{user.username} is now {user.state}.", "info")
    return redirect(url_for("lead.jurors_list"))


@bp.post("/jurors/<int:user_id>/reset-password")
def juror_reset_password(user_id: int):
    """Set a temporary password and show it once."""
    if not ResetPasswordForm().validate_on_submit():
        abort(400)
    user, temporary = jurors.reset_password(user_id, actor_id=current_user.id)
    return render_template("lead/password_reset.html", user=user, password=temporary), 200, NO_STORE


@bp.post("/jurors/invites")
def juror_invite():
    """Create an invitation link and show it."""
    form = InviteForm()
    if not form.validate_on_submit():
        flash("An invitation lasts 1 to 30 days.", "error")
        return redirect(url_for("lead.jurors_list"))
    invite, token = jurors.create_invite(current_app.config["SECRET_KEY"], note=form.note.data or "",
                                         days=form.days.data, actor_id=current_user.id)
    link = url_for("auth.join", token=token, _external=True)
    return render_template("lead/invite_created.html", invite=invite, link=link), 200, NO_STORE


@bp.get("/panels/")
def panels():
    """The gold set and every juror's state and gold record."""
    return render_template("lead/panels.html", gold_cases=gold.gold_cases(), jurors=eligibility.juror_records(),
                           decided=eligibility.recently_decided())


@bp.get("/panels/cases/<int:case_id>")
def panel_case(case_id: int):
    """Each juror's eligibility for one case, with every reason they are excluded."""
    panel = eligibility.case_panel(case_id, request.args.get("username") or None)
    return render_template("lead/case_panel.html", panel=panel, promote_form=PromoteGoldForm(),
                           retire_form=RetireGoldForm())


@bp.post("/panels/cases/<int:case_id>/promote")
def gold_promote(case_id: int):
    """Add a decided case to the gold set."""
    if not PromoteGoldForm().validate_on_submit():
        abort(400)
    gold_case = gold.promote(case_id, current_user)
    flash(f"Case {case_id} joined the gold set as case {gold_case.id}.", "info")
    return redirect(url_for("lead.panel_case", case_id=case_id))


@bp.post("/panels/cases/<int:case_id>/retire")
def gold_retire(case_id: int):
    """Stop dealing a gold case."""
    if not RetireGoldForm().validate_on_submit():
        abort(400)
    gold.retire(case_id, current_user)
    flash(f"Gold case {case_id} retired: it is no longer dealt.", "info")
    return redirect(url_for("lead.panel_case", case_id=case_id))
