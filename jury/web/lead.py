"""The lead's console: queue, escalations, policy versions, threshold tuning, queue health, jurors, bulk work."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from jury import bulk, jurors, policy_versions, queue_health, tuning, verdicts
from jury.forms import LeadDecisionForm, RetrainForm, RetryActionForm
from jury.forms_lead import (
    BulkCloseForm,
    CaseFilterForm,
    InviteForm,
    JurorActionForm,
    MuteForm,
    PolicyForm,
    ResetPasswordForm,
    RollbackForm,
    StopShadowForm,
    TuningForm,
    UnmuteForm,
)
from jury.svgchart import Series, line_chart
from jury.views_data import case_view, votes_of
from jury.web.access import lead_required
from models import USER_STATES, VOTES_SHOWN_STATES, Action, Case, User, db
from models.errors import DomainError
from triage import outbox, shadow, training
from triage.policy import PolicyError, current_policy

bp = Blueprint("lead", __name__, url_prefix="/lead")



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
    """Cases a split panel sent up, each with its full vote history."""
    cases = verdicts.escalated_cases()
    votes = votes_of([case.id for case in cases], current_user)
    names = _usernames({v.juror_id for vs in votes.values() for v in vs})
    return render_template("lead/escalations.html", cases=cases, votes=votes, names=names)


@bp.get("/cases/<int:case_id>/votes")
@lead_required
def vote_history(case_id: int):
    """The full vote history of an escalated or decided case (open cases stay blind, to leads too)."""
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    if case.state not in VOTES_SHOWN_STATES:
        abort(409, "votes stay hidden until the case is escalated or decided")
    votes = votes_of([case_id], current_user)[case_id]
    return render_template("lead/votes.html", case=case, votes=votes,
                           names=_usernames({v.juror_id for v in votes}))


def _usernames(ids: set[int]) -> dict[int, str]:
    """id → username for the given users."""
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(list(ids)))).all())


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
    # A refused decision (unknown rule, removal without one, no reason) is a 400 showing why.
    status = 400 if request.method == "POST" else 200
    return render_template("lead/decide.html", case=case_view(case_id, current_user), form=form), status


@bp.post("/retrain")
@lead_required
def retrain():
    """Queue retraining of the site model on the jury's verdicts."""
    if not RetrainForm().validate_on_submit():
        abort(400)
    training.queue_retraining(True)
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


# --- Policy versions -------------------------------------------------------------------------


@bp.route("/policy", methods=["GET", "POST"])
@lead_required
def policy_edit():
    """Edit the policy as a new version (or run the edit in shadow mode); fields follow the settings."""
    form = PolicyForm()
    settings = policy_versions.editable_settings()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                edited = policy_versions.settings_from_form(request.form, settings)
                if form.shadow.data:
                    row = shadow.start(form.shadow_name.data or "", edited, days=form.shadow_days.data or 7,
                                       reason=form.reason.data, user_id=current_user.id)
                    flash(f"Shadow run {row.id} started: it records what it would do and never acts.", "info")
                    return redirect(url_for("lead.shadow_report", shadow_id=row.id))
                row = policy_versions.publish(edited, reason=form.reason.data, user_id=current_user.id)
                flash(f"Policy version {row.version} is now in force.", "info")
                return redirect(url_for("lead.policy_history"))
            except (PolicyError, DomainError) as error:
                flash(str(error), "error")
        status = 400
    fields = policy_versions.flatten(settings)
    # On GET, values may come pre-filled from a link (the threshold page's "use this threshold").
    source = request.form if request.method == "POST" else request.args
    submitted = {name: source.getlist(name)[-1] for name in source}  # a checkbox's value follows its hidden one
    return render_template("lead/policy_edit.html", form=form, fields=fields, submitted=submitted,
                           version=current_policy(fresh=True).version), status


@bp.get("/policy/history")
@lead_required
def policy_history():
    """Every version with what it changed, and roll-back buttons."""
    return render_template("lead/policy_history.html", entries=policy_versions.history(),
                           form=RollbackForm(), current=current_policy(fresh=True).version)


@bp.get("/policy/versions/<int:version>")
@lead_required
def policy_version(version: int):
    """One version's settings, and its difference from the version in force."""
    row = policy_versions.get_version(version)
    return render_template("lead/policy_version.html", row=row, fields=policy_versions.flatten(row.settings),
                           changes=policy_versions.diff(row.settings, current_policy(fresh=True).settings),
                           form=RollbackForm(), current=current_policy(fresh=True).version)


@bp.post("/policy/versions/<int:version>/rollback")
@lead_required
def policy_rollback(version: int):
    """Publish a new version copying an earlier one."""
    form = RollbackForm()
    if not form.validate_on_submit():
        flash("A roll-back needs a reason.", "error")
        return redirect(url_for("lead.policy_history"))
    try:
        row = policy_versions.rollback(version, reason=form.reason.data, user_id=current_user.id)
    except PolicyError as error:
        flash(str(error), "error")
        return redirect(url_for("lead.policy_history"))
    flash(f"Rolled back: version {row.version} copies version {version}.", "info")
    return redirect(url_for("lead.policy_history"))


# --- Threshold tuning and shadow mode ------------------------------------------------------------


def _tuning_inputs():
    """The tuning form bound to the query string, the chosen model and label (None when nothing is scored).

    A missing threshold starts at the policy's for the label, a missing window at 7 days.
    """
    refs = tuning.models()
    model = tuning.find_model(request.args.get("model"))
    labels = tuning.labels_of(model) if model else []
    label = request.args.get("label") if request.args.get("label") in labels else (
        "toxicity" if "toxicity" in labels else (labels[0] if labels else None))
    args = request.args.to_dict()
    args.setdefault("threshold", str(current_policy(fresh=True).settings["auto_flag"].get(label, 0.5)))
    args.setdefault("days", "7")
    args.update(model=model.key if model else "", label=label or "")
    form = TuningForm(MultiDict(args))
    form.model.choices = [(ref.key, f"{ref.name} {ref.version} ({ref.posts} posts)") for ref in refs]
    form.label.choices = [(name, name) for name in labels]
    return form, model, label, form.validate()


@bp.get("/tuning")
@lead_required
def tuning_page():
    """Precision, recall and flag rate per threshold, confusion counts, and the what-if replay."""
    form, model, label, valid = _tuning_inputs()
    context = {"form": form, "model": model, "label": label, "valid": valid}
    if model and label and valid:
        points = tuning.curves(model, label)
        threshold = float(form.threshold.data)
        context.update(
            points=points,
            chart=line_chart([
                Series("precision", [(p.threshold, p.precision) for p in points], "#1f6feb"),
                Series("recall", [(p.threshold, p.recall) for p in points], "#d73a49"),
                Series("flag rate", [(p.threshold, p.flag_rate) for p in points], "#2da44e"),
            ], title=f"Precision, recall and flag rate of {model.key} on {label}", x_label="threshold",
                y_label="share", marker_x=threshold),
            confusion=tuning.confusion(model, label, threshold),
            whatif=tuning.what_if(model, label, threshold, form.days.data),
            shadows=shadow.all_shadows(10),
        )
    return render_template("lead/tuning.html", **context), 200 if valid else 400


@bp.get("/tuning/whatif")
@lead_required
def tuning_whatif():
    """The what-if and confusion figures alone, for the page's script to swap in."""
    form, model, label, valid = _tuning_inputs()
    if not (model and label and valid):
        return render_template("lead/_whatif.html", whatif=None, confusion=None, form=form), 400
    threshold = float(form.threshold.data)
    return render_template("lead/_whatif.html", form=form,
                           whatif=tuning.what_if(model, label, threshold, form.days.data),
                           confusion=tuning.confusion(model, label, threshold))


@bp.get("/shadow")
@lead_required
def shadow_list():
    """Shadow runs, newest first."""
    return render_template("lead/shadow_list.html", reports=[shadow.report(s.id) for s in shadow.all_shadows()],
                           form=StopShadowForm())


@bp.get("/shadow/<int:shadow_id>")
@lead_required
def shadow_report(shadow_id: int):
    """How a shadow policy's decisions differ from the real policy's."""
    result = shadow.report(shadow_id)
    return render_template("lead/shadow_report.html", report=result, form=StopShadowForm(),
                           changes=policy_versions.diff(current_policy(fresh=True).settings, result.shadow.settings))


@bp.post("/shadow/<int:shadow_id>/stop")
@lead_required
def shadow_stop(shadow_id: int):
    """End a shadow run now."""
    if not StopShadowForm().validate_on_submit():
        abort(400)
    shadow.stop(shadow_id, user_id=current_user.id)
    flash(f"Shadow run {shadow_id} stopped.", "info")
    return redirect(url_for("lead.shadow_report", shadow_id=shadow_id))


# --- Queue health ------------------------------------------------------------------------------


def _days_arg() -> int:
    return request.args.get("days", default=14, type=int) or 14


def _votes_chart(figures: queue_health.Health):
    """Votes per hour over the last 24 hours, as SVG."""
    counts = [count for _, count in figures.hourly_votes]
    top = max(counts + [1])
    return line_chart([Series("votes per hour", [(i - 23, c) for i, c in enumerate(counts)], "#1f6feb")],
                      title="Votes per hour, last 24 hours", x_label="hours ago", y_label="votes",
                      x_range=(-23, 0), y_range=(0, top), height=200)


@bp.get("/health")
@lead_required
def health():
    """Backlog, decision and action times, SLA breaches, actions and juror activity (refreshes itself)."""
    refresh = min(max(request.args.get("refresh", default=15, type=int) or 15, 5), 300)
    figures = queue_health.health(_days_arg())
    return render_template("lead/health.html", health=figures, votes_chart=_votes_chart(figures),
                           actions=queue_health.troubled_actions(), form=RetryActionForm(), days=_days_arg(),
                           refresh=refresh)


@bp.get("/health/fragment")
@lead_required
def health_fragment():
    """The health figures alone, polled by static/lead-health.js."""
    figures = queue_health.health(_days_arg())
    return render_template("lead/_health.html", health=figures, votes_chart=_votes_chart(figures),
                           actions=queue_health.troubled_actions(), form=RetryActionForm())


# --- Jurors ------------------------------------------------------------------------------------


@bp.get("/jurors")
@lead_required
def jurors_list():
    """Jurors with state, volume, agreement and last activity; invitations."""
    state = request.args.get("state") if request.args.get("state") in USER_STATES else None
    return render_template("lead/jurors.html", rows=jurors.list_jurors(state), state=state, states=USER_STATES,
                           transitions=jurors.TRANSITIONS, form=JurorActionForm(), reset_form=ResetPasswordForm(),
                           invite_form=InviteForm(), invites=jurors.recent_invites())


@bp.post("/jurors/<int:user_id>/<any(approve, pause, resume, suspend, reinstate):action>")
@lead_required
def juror_action(user_id: int, action: str):
    """Change a juror's state."""
    form = JurorActionForm()
    if not form.validate_on_submit():
        abort(400)
    user = jurors.change_state(user_id, action, reason=form.reason.data or "", actor_id=current_user.id)
    flash(f"{user.username} is now {user.state}.", "info")
    return redirect(url_for("lead.jurors_list"))


@bp.post("/jurors/<int:user_id>/reset-password")
@lead_required
def juror_reset_password(user_id: int):
    """Set a temporary password and show it once."""
    if not ResetPasswordForm().validate_on_submit():
        abort(400)
    temporary = jurors.reset_password(user_id, actor_id=current_user.id)
    user = db.session.get(User, user_id)
    response = render_template("lead/password_reset.html", user=user, password=temporary)
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/jurors/invites")
@lead_required
def juror_invite():
    """Create an invitation link and show it."""
    form = InviteForm()
    if not form.validate_on_submit():
        flash("An invitation lasts 1 to 30 days.", "error")
        return redirect(url_for("lead.jurors_list"))
    invite, token = jurors.create_invite(current_app.config["SECRET_KEY"], note=form.note.data or "",
                                         days=form.days.data, actor_id=current_user.id)
    link = url_for("invite.join", token=token, _external=True)
    return render_template("lead/invite_created.html", invite=invite, link=link), 200, {"Cache-Control": "no-store"}


# --- Bulk work ---------------------------------------------------------------------------------


def _case_filter(form: CaseFilterForm) -> bulk.CaseFilter:
    return bulk.CaseFilter(post=(form.post.data or "").strip(), reporter=(form.reporter.data or "").strip(),
                           reason=(form.reason.data or "").strip(), state=form.state.data or "",
                           since=form.since.data, until=form.until.data)


@bp.get("/bulk")
@lead_required
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
@lead_required
def bulk_close():
    """Close the selected cases as unfounded (keep verdicts by the lead)."""
    form = BulkCloseForm()
    ids = [int(v) for v in request.form.getlist("case_id") if v.isdigit()][:bulk.MAX_BULK]
    if not form.validate_on_submit() or not ids:
        flash("Select cases and give a reason.", "error")
        return redirect(request.referrer or url_for("lead.bulk_page"))
    closed = bulk.close_unfounded(ids, current_user, form.note.data)
    flash(f"Closed {len(closed)} case(s) as unfounded.", "info")
    return redirect(url_for("lead.bulk_page", **request.args))


@bp.post("/reporters/mute")
@lead_required
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
@lead_required
def unmute_reporter():
    """Let a reporter's reports count again."""
    if not UnmuteForm().validate_on_submit():
        abort(400)
    bulk.unmute_reporter(request.form.get("reporter", "")[:128], current_user)
    flash("Reporter unmuted.", "info")
    return redirect(url_for("lead.bulk_page"))


@bp.get("/rq")
@lead_required
def rq_unavailable():
    """The RQ dashboard when Redis is configured; otherwise a page saying jobs run inline."""
    if "rq_dashboard" in current_app.blueprints:
        return redirect(url_for("rq_dashboard.queues_overview"))
    return render_template("lead/rq_unavailable.html")
