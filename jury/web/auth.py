"""Signing in and out, and joining as a juror from an invitation link."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from jury.jurors import manage as jurors
from jury.jurors import users
from jury.web.errors import domain_message
from jury.web.forms import LoginForm
from jury.web.forms_lead import JoinForm
from models.errors import DomainError

bp = Blueprint("auth", __name__)
# Flask-Login flashes this on the way to the login page; its callback translates it at that moment
# (the mark below is for the catalogue: the session cannot hold a lazy string).
LOGIN_PROMPT = "Please log in to access this page."
_CATALOGUED = (_l("Please log in to access this page."),)


@bp.record_once
def _translate_the_login_prompt(state) -> None:
    manager = state.app.login_manager
    manager.login_message = LOGIN_PROMPT
    manager.localize_callback = _


def _safe_next(target: str | None, lead: bool = False) -> str:
    """Only same-site paths: an open redirect would help phishing. Without one, a lead lands on the
    lead's queue and a juror on their cases."""
    # Browsers read "/\\host" as "//host", so backslashes are refused too.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not urlsplit(target).netloc:
        return target
    return url_for("lead.overview") if lead else url_for("juror.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form."""
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.username.data, form.password.data)
        if user is not None:
            users.begin_session(user)
            login_user(user)
            return redirect(_safe_next(request.args.get("next"), user.is_lead))
        # One message for every failure: it must not tell an unknown name from a locked account.
        flash(_("Wrong username or password. After repeated failures an account is locked for a while."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End the session, and every other session of the account (a copied cookie dies with it)."""
    users.end_sessions(current_user, "logout", actor=f"user:{current_user.id}")
    logout_user()
    return redirect(url_for("auth.login"))


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
            flash(domain_message(error), "error")
            return render_template("auth/join.html", form=form, invite=invite), error.status_code
        flash(_("Welcome: your first cases are training cases. Log in to start."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/join.html", form=form, invite=invite)
