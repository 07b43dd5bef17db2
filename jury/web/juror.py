"""The juror's pages: home, the dealt case, voting and skipping, the rule guide and the profile.

Vote and skip answer JSON with the next case's HTML when the page asks for it (the
keyboard screen swaps it in); a plain form POST still redirects, so nothing needs JS.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user

from jury.jurors import author_history, users
from jury.jurors.guide import rule_guides
from jury.jurors.profiles import update_profile
from jury.jurors.stats import juror_stats
from jury.panels import screen, voting
from jury.panels.case_view import case_view
from jury.web.errors import domain_message
from jury.web.forms import NextCaseForm, PasswordChangeForm, ProfileForm, SkipForm, VoteForm
from models.errors import DomainError
from triage import dealing

bp = Blueprint("juror", __name__)


def _juror():
    """The logged-in user itself: services read its attributes many times, and every read through
    the current_user proxy costs a look-up of its own (about 80 per vote, over 1 ms)."""
    return current_user._get_current_object()


def _wants_json() -> bool:
    """The keyboard screen's fetch asks for JSON; browsers without JS post plain forms."""
    return request.accept_mimetypes.best == "application/json"


def _case_page(case_id: int, template: str):
    """Render the case (whole page or the swappable fragment)."""
    return _render_case(case_view(case_id, _juror()), template)


def _render_case(view, template: str, vote_form: VoteForm | None = None):
    """Render a case view already read (the skip form needs only the CSRF token: no form object,
    which cost about 2 % of a vote)."""
    return render_template(template, case=view, rules=rule_guides(), vote_form=vote_form or VoteForm(),
                           author_removals=author_history.removals_shown(view.post.author_id, view.post.id))


def _next_case(message: str, view):
    """The screen's answer after a vote or a skip: the next case's page as JSON, or home."""
    if view is None:
        flash(message, "info")
        return jsonify({"message": message, "case_id": None, "url": url_for("juror.home")})
    return jsonify({
        "message": message, "case_id": view.id,
        "url": url_for("juror.show_case", case_id=view.id),
        "title": _("Case %(id)s", id=view.id) + " — Jury",
        "html": _render_case(view, "juror/_case.html"),
    })


def _home(message: str):
    """A browser without JS goes home after a vote or a skip."""
    flash(message, "info")
    return redirect(url_for("juror.home"))


@bp.get("/")
@login_required
def home():
    """The juror's start page: their own figures, their state and the button for the next case."""
    return render_template("juror/home.html", form=NextCaseForm(), stats=juror_stats(_juror()),
                           current=dealing.active_assignment(_juror()))


@bp.post("/cases/next")
@login_required
def next_case():
    """Deal a seat and go to its case."""
    if not NextCaseForm().validate_on_submit():
        abort(400)
    assignment = dealing.deal_next(_juror())
    if assignment is None:
        flash(_("No case needs you right now. Thank you — check back later."), "info")
        return redirect(url_for("juror.home"))
    return redirect(url_for("juror.show_case", case_id=assignment.case_id))


@bp.get("/cases/<int:case_id>")
@login_required
def show_case(case_id: int):
    """The case page for a juror holding its seat (leads may look at any case)."""
    return _case_page(case_id, "juror/case.html")


@bp.post("/cases/<int:case_id>/vote")
@login_required
def vote(case_id: int):
    """Cast a vote and move on."""
    form = VoteForm()
    if not form.validate_on_submit():
        return _vote_refused(case_id, form)
    vote = (case_id, _juror(), form.decision.data, form.rule.data or None, form.note.data)
    message = _("Vote recorded. Thank you.")
    if not _wants_json():
        voting.cast_vote(*vote)
        return _home(message)
    return _next_case(message, screen.vote_then_next(*vote))


def _vote_refused(case_id: int, form: VoteForm):
    """A vote the form refuses (a note over its limit, no decision): the case page again with each
    error at its field and the note as typed; the keyboard screen's fetch gets the reasons as JSON."""
    reasons = [str(error) for field in form for error in field.errors]
    if _wants_json():
        return jsonify({"error": " ".join(reasons)}), 400
    return _render_case(case_view(case_id, _juror()), "juror/case.html", form), 400


@bp.post("/cases/<int:case_id>/skip")
@login_required
def skip(case_id: int):
    """Give the seat back."""
    if not SkipForm().validate_on_submit():
        abort(400)
    message = _("Skipped. The case goes to another juror.")
    if not _wants_json():
        voting.skip(case_id, _juror())
        return _home(message)
    return _next_case(message, screen.skip_then_next(case_id, _juror()))


@bp.get("/guide")
@login_required
def guide():
    """A short guide to each rule, with examples, and the keys of the case page."""
    return render_template("juror/guide.html", rules=rule_guides())


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """The juror's own settings."""
    form = ProfileForm()
    if form.validate_on_submit():
        update_profile(current_user, locale=form.locale.data or None, languages=form.language_codes(),
                       opted_out=request.form.getlist("opted_out"))
        refresh()  # the confirmation in the newly chosen language
        flash(_("Your settings are saved."), "info")
        return redirect(url_for("juror.profile"))
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
        form.languages.data = ", ".join(current_user.languages or [])
    status = 400 if request.method == "POST" else 200
    return _profile_page(form, PasswordChangeForm(formdata=None), status)


def _profile_page(form: ProfileForm, password_form: PasswordChangeForm, status: int):
    return render_template("juror/profile.html", form=form, password_form=password_form, rules=rule_guides(),
                           opted_out=set(current_user.opted_out_categories or [])), status


@bp.post("/profile/password")
@login_required
def change_password():
    """The account holder sets a new password; every other session of the account ends."""
    form = PasswordChangeForm()
    try:
        if form.validate_on_submit():
            users.change_password(_juror(), form.current_password.data, form.new_password.data,
                                  form.repeat_password.data)
            login_user(_juror())  # this browser stays signed in
            flash(_("Your password is changed. Every other session of your account has ended."), "info")
            return redirect(url_for("juror.profile"))
    except DomainError as failure:
        form.current_password.errors = [*form.current_password.errors, domain_message(failure)]
    settings = ProfileForm(formdata=None)
    settings.locale.data = current_user.locale or ""
    settings.languages.data = ", ".join(current_user.languages or [])
    return _profile_page(settings, form, 400)
