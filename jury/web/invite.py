"""Joining as a juror from an invitation link."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from jury.jurors import manage as jurors
from jury.web.forms_lead import JoinForm
from models.errors import DomainError

bp = Blueprint("invite", __name__)


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    """The registration page an invitation links to: creates a juror on probation."""
    secret = current_app.config["SECRET_KEY"]
    invite = jurors.check_invite(secret, token)
    form = JoinForm()
    if form.validate_on_submit():
        try:
            jurors.redeem_invite(secret, token, form.username.data, form.password.data)
        except DomainError as error:
            flash(str(error), "error")
            return render_template("join.html", form=form, invite=invite), error.status_code
        flash("Welcome: your account is on probation until a lead approves it. Log in to start.", "info")
        return redirect(url_for("auth.login"))
    return render_template("join.html", form=form, invite=invite)
