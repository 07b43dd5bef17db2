"""The lead's work on cases: the queue, escalations, the outbox, bulk work and appeal sign-offs."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user

from jury.appeals import review as appeals
from jury.leads import bulk, console, queue
from jury.panels import verdicts
from jury.panels.case_view import case_view
from jury.web.forms import AppealSignOffForm, LeadDecisionForm, RetrainForm, RetryActionForm
from jury.web.forms_lead import BulkCloseForm, CaseFilterForm, MuteForm, UnmuteForm
from jury.web.lead.lead_blueprint import bp
from triage import outbox, training


@bp.get("/")
def overview():
    """The lead's home: the queue, a page at a time, with its actions; cases counted by state."""
    found = queue.queue_page(request.args.get("page", default=1, type=int) or 1)
    return render_template("lead/overview.html", queue=found, close_form=BulkCloseForm(),
                           retrain_form=RetrainForm())


@bp.get("/escalations")
def escalations():
    """Cases a split panel sent up, each with its full vote history."""
    found = console.escalations(current_user)
    return render_template("lead/escalations.html", cases=found.cases, votes=found.votes, names=found.names)


@bp.get("/cases/<int:case_id>/votes")
def vote_history(case_id: int):
    """The full vote history of an escalated or decided case (open cases stay blind, to leads too)."""
    case, votes, names = console.vote_history(case_id, current_user)
    return render_template("lead/votes.html", case=case, votes=votes, names=names)


@bp.route("/cases/<int:case_id>/decide", methods=["GET", "POST"])
def decide(case_id: int):
    """Show an escalated case with its full vote history, and take the lead's decision."""
    form = LeadDecisionForm()
    if form.validate_on_submit():
        verdicts.decide_escalation(case_id, current_user, form.outcome.data, form.rule.data or None,
                                   form.note.data)
        flash(f"Case {case_id} decided.", "info")
        return redirect(url_for("lead.escalations"))
    # A refused decision (unknown rule, removal without one, no reason) is a 400 showing why.
    status = 400 if request.method == "POST" else 200
    return render_template("lead/decide.html", case=case_view(case_id, current_user), form=form), status


@bp.post("/retrain")
def retrain():
    """Queue retraining of the site model on the jury's verdicts."""
    if not RetrainForm().validate_on_submit():
        abort(400)
    training.queue_retraining(True)
    flash("Retraining queued: new posts use the new model as soon as it is ready.", "info")
    return redirect(url_for("lead.overview"))


@bp.get("/actions")
def actions():
    """Dead letters and retrying actions, with retry buttons."""
    return render_template("lead/actions.html", actions=console.failed_actions(), form=RetryActionForm())


@bp.post("/actions/<int:action_id>/retry")
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


def _case_filter(form: CaseFilterForm) -> bulk.CaseFilter:
    return bulk.CaseFilter(post=(form.post.data or "").strip(), reporter=(form.reporter.data or "").strip(),
                           reason=(form.reason.data or "").strip(), state=form.state.data or "",
                           since=form.since.data, until=form.until.data)


@bp.get("/bulk")
def bulk_page():
    """Filter cases (post, reporter, reason, state, dates) and act on the set; muted reporters."""
    form = CaseFilterForm(request.args)
    valid = form.validate() if request.args else True
    filters = _case_filter(form) if valid else bulk.CaseFilter()
    cases = [] if filters.empty else bulk.matching_cases(filters)
    mute_form = MuteForm(reporter=filters.reporter) if filters.reporter else MuteForm()
    return render_template("lead/bulk.html", form=form, cases=cases, filters=filters, close_form=BulkCloseForm(),
                           mute_form=mute_form, unmute_form=UnmuteForm(), muted=bulk.muted_reporters(),
                           closable=bulk.CLOSABLE_STATES), 200 if valid else 400


@bp.post("/bulk/close")
def bulk_close():
    """Close the selected cases as unfounded (keep verdicts by the lead)."""
    form = BulkCloseForm()
    ids = [int(v) for v in request.form.getlist("case_id") if v.isdigit()][:bulk.MAX_BULK]
    # The queue's selection comes back to the queue; the bulk page's to its filter.
    back = url_for("lead.overview") if request.form.get("back") == "queue" else None
    if not form.validate_on_submit() or not ids:
        flash("Select cases and give a reason.", "error")
        return redirect(back or request.referrer or url_for("lead.bulk_page"))
    closed = bulk.close_unfounded(ids, current_user, form.note.data)
    flash(ngettext("Closed %(num)s case as unfounded.", "Closed %(num)s cases as unfounded.", len(closed)), "info")
    return redirect(back or url_for("lead.bulk_page", **request.args))


@bp.post("/reporters/mute")
def mute_reporter():
    """Mute a reporter: their reports are kept but open or raise no case."""
    form = MuteForm()
    if not form.validate_on_submit():
        flash("Name the reporter and give a reason.", "error")
        return redirect(url_for("lead.bulk_page"))
    row = bulk.mute_reporter(form.reporter.data, current_user, form.reason.data)
    flash(f"Reporter {row.reporter_id} is muted.", "info")
    return redirect(url_for("lead.bulk_page"))


@bp.post("/reporters/unmute")
def unmute_reporter():
    """Let a reporter's reports count again."""
    if not UnmuteForm().validate_on_submit():
        abort(400)
    bulk.unmute_reporter(request.form.get("reporter", "")[:128], current_user)
    flash("Reporter unmuted.", "info")
    return redirect(url_for("lead.bulk_page"))


@bp.get("/appeals")
def appeals_page():
    """Reversals awaiting a lead's sign-off, and the latest appeals."""
    pending = appeals.awaiting_signoff()
    return render_template("lead/appeals.html", pending=pending, details=console.appeal_details(pending),
                           recent=appeals.recent(), form=AppealSignOffForm())


@bp.post("/appeals/<int:appeal_id>/sign-off")
def appeal_sign_off(appeal_id: int):
    """Confirm or refuse a reversal."""
    form = AppealSignOffForm()
    if not form.validate_on_submit():
        abort(400)
    appeals.sign_off(appeal_id, current_user, form.decision.data == "approve", form.reason.data)
    flash(f"Appeal {appeal_id} signed off.", "info")
    return redirect(url_for("lead.appeals_page"))
