"""The lead's pages: queue overview, escalations, and actions the network refused."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from jury import outbox, verdicts
from jury.extensions import db
from jury.forms import LeadDecisionForm, RetrainForm, RetryActionForm
from jury.views_data import case_view
from models import Action, Case
from triage import jobs

bp = Blueprint("lead", __name__, url_prefix="/lead")


def lead_required(view):
    """Only leads and admins; jurors get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_lead:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/")
@lead_required
def overview():
    """Case counts by state, the top of the queue and the action outbox's health."""
    by_state = dict(db.session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
    actions = dict(db.session.execute(select(Action.state, func.count()).group_by(Action.state)).all())
    top = db.session.scalars(
        select(Case).where(Case.state.in_(("queued", "in_review"))).order_by(Case.priority.desc()).limit(25)
    ).all()
    return render_template("lead/overview.html", by_state=by_state, actions=actions, top=top,
                           retrain_form=RetrainForm())


@bp.get("/escalations")
@lead_required
def escalations():
    """Cases a split panel sent up."""
    return render_template("lead/escalations.html", cases=verdicts.escalated_cases())


@bp.route("/cases/<int:case_id>/decide", methods=["GET", "POST"])
@lead_required
def decide(case_id: int):
    """Show an escalated case with its full vote history, and take the lead's decision."""
    form = LeadDecisionForm()
    if form.validate_on_submit():
        verdicts.decide_escalation(case_id, current_user, form.outcome.data, form.rule.data or None,
                                   form.note.data)
        flash(f"Case {case_id} decided.", "info")
        return redirect(url_for("lead.escalations"))
    return render_template("lead/decide.html", case=case_view(case_id, current_user), form=form)


@bp.post("/retrain")
@lead_required
def retrain():
    """Queue retraining of the site model on the jury's verdicts."""
    if not RetrainForm().validate_on_submit():
        abort(400)
    from triage import tasks

    jobs.defer("training", tasks.retrain_model, True)
    jobs.commit()
    flash("Retraining queued: new posts use the new model as soon as it is ready.", "info")
    return redirect(url_for("lead.overview"))


@bp.get("/actions")
@lead_required
def actions():
    """Dead letters and retrying actions, with retry buttons."""
    rows = db.session.scalars(
        select(Action).where(Action.state.in_(("dead", "failed"))).order_by(Action.id.desc()).limit(200)
    ).all()
    return render_template("lead/actions.html", actions=rows, form=RetryActionForm())


@bp.post("/actions/<int:action_id>/retry")
@lead_required
def retry_action(action_id: int):
    """Send a dead action again with the same idempotency key."""
    if not RetryActionForm().validate_on_submit():
        abort(400)
    try:
        outbox.retry_dead(action_id, actor=f"user:{current_user.id}")
    except LookupError:
        abort(404)
    except ValueError as error:
        flash(str(error), "error")
    return redirect(url_for("lead.actions"))
