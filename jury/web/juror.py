"""The juror's pages: home, the dealt case, voting and skipping."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from jury import voting
from jury.forms import NextCaseForm, SkipForm, VoteForm
from jury.rules import RULES
from jury.views_data import case_view, juror_summary
from triage import dealing

bp = Blueprint("juror", __name__)


@bp.get("/")
@login_required
def home():
    """The juror's start page: their own figures and the button for the next case."""
    return render_template("juror/home.html", form=NextCaseForm(), summary=juror_summary(current_user),
                           current=dealing.active_assignment(current_user))


@bp.post("/cases/next")
@login_required
def next_case():
    """Deal a seat and go to its case."""
    if not NextCaseForm().validate_on_submit():
        abort(400)
    assignment = dealing.deal_next(current_user)
    if assignment is None:
        flash("No case needs you right now. Thank you — check back later.", "info")
        return redirect(url_for("juror.home"))
    return redirect(url_for("juror.show_case", case_id=assignment.case_id))


@bp.get("/cases/<int:case_id>")
@login_required
def show_case(case_id: int):
    """The case page for a juror holding its seat (leads may look at any case)."""
    view = case_view(case_id, current_user)
    return render_template("juror/case.html", case=view, rules=RULES, vote_form=VoteForm(), skip_form=SkipForm())


@bp.post("/cases/<int:case_id>/vote")
@login_required
def vote(case_id: int):
    """Cast a vote and move on."""
    form = VoteForm()
    if not form.validate_on_submit():
        abort(400)
    voting.cast_vote(case_id, current_user, form.decision.data, form.rule.data or None, form.note.data)
    flash("Vote recorded. Thank you.", "info")
    return redirect(url_for("juror.home"))


@bp.post("/cases/<int:case_id>/skip")
@login_required
def skip(case_id: int):
    """Give the seat back."""
    if not SkipForm().validate_on_submit():
        abort(400)
    voting.skip(case_id, current_user)
    flash("Skipped. The case goes to another juror.", "info")
    return redirect(url_for("juror.home"))
