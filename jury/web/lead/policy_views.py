"""The lead's policy pages: versions, roll-backs, threshold tuning and shadow runs."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from audit.charts import Series, line_chart
from jury.leads import policy_versions, tuning
from jury.web.forms_lead import PolicyForm, RollbackForm, StopShadowForm, TuningForm
from jury.web.lead.lead_blueprint import bp
from models.errors import DomainError
from triage import shadow
from triage.policy import PolicyError, current_policy


@bp.route("/policy", methods=["GET", "POST"])
def policy_edit():
    """Edit the policy as a new version (or run the edit in shadow mode); fields follow the settings."""
    form = PolicyForm()
    previewing = "preview_strikes" in request.form  # the strike ladder's what-if, without JS: publishes nothing
    settings = policy_versions.editable_settings()
    errors: dict[str, str] = {}
    if not previewing and form.validate_on_submit():
        try:
            return _publish_or_shadow(form)
        except PolicyError as error:
            errors = policy_versions.field_errors(error, settings)
        except DomainError as error:
            errors = {"": str(error)}
    # On GET, values may come pre-filled from a link (the threshold page's "use this threshold").
    source = request.form if request.method == "POST" else request.args
    submitted = {name: source.getlist(name)[-1] for name in source}  # a checkbox's value follows its hidden one
    return render_template("lead/policy_edit.html", form=form, submitted=submitted, errors=errors,
                           sections=policy_versions.sections(settings), version=current_policy(fresh=True).version,
                           strikes_whatif=policy_versions.strikes_what_if(source)
                           ), 400 if request.method == "POST" and not previewing else 200


def _publish_or_shadow(form: PolicyForm):
    edited = policy_versions.settings_from_form(request.form, policy_versions.editable_settings())
    if form.shadow.data:
        row = shadow.start(form.shadow_name.data or "", edited, days=form.shadow_days.data or 7,
                           reason=form.shadow_reason.data, user_id=current_user.id)
        flash(f"Shadow run {row.id} started: it records what it would do and never acts.", "info")
        return redirect(url_for("lead.shadow_report", shadow_id=row.id))
    row = policy_versions.publish(edited, reason=form.reason.data, user_id=current_user.id)
    flash(f"Policy version {row.version} is now in force.", "info")
    return redirect(url_for("lead.policy_history"))


@bp.get("/policy/strikes-whatif")
def strikes_whatif():
    """The strike ladder's what-if alone, for the policy page's script to swap in."""
    result = policy_versions.strikes_what_if(request.args)
    return render_template("lead/_strikes_whatif.html", strikes_whatif=result), 400 if result.error else 200


@bp.get("/policy/history")
def policy_history():
    """Every version with what it changed, and roll-back buttons."""
    return render_template("lead/policy_history.html", entries=policy_versions.history(),
                           form=RollbackForm(), current=current_policy(fresh=True).version)


@bp.get("/policy/versions/<int:version>")
def policy_version(version: int):
    """One version's settings, and its difference from the version in force."""
    row = policy_versions.get_version(version)
    return render_template("lead/policy_version.html", row=row, fields=policy_versions.flatten(row.settings),
                           changes=policy_versions.diff(row.settings, current_policy(fresh=True).settings),
                           form=RollbackForm(), current=current_policy(fresh=True).version)


@bp.post("/policy/versions/<int:version>/rollback")
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


def _tuning_inputs():
    """The tuning form bound to the query string, the chosen model and label (None when nothing is scored).

    A missing threshold starts at the policy's for the label, a missing window at 7 days.
    """
    model = tuning.find_model(request.args.get("model"))
    labels = tuning.labels_of(model) if model else []
    label = tuning.default_label(labels, request.args.get("label"))
    args = request.args.to_dict()
    args.setdefault("threshold", str(current_policy(fresh=True).settings["auto_flag"].get(label, 0.5)))
    args.setdefault("days", "7")
    args.update(model=model.key if model else "", label=label or "")
    form = TuningForm(MultiDict(args))
    form.model.choices = [(ref.key, f"{ref.name} {ref.version} ({ref.posts} posts)") for ref in tuning.models()]
    form.label.choices = [(name, name) for name in labels]
    return form, model, label, form.validate()


def _tuning_chart(model, label: str, points, threshold: float):
    return line_chart([
        Series("precision", [(p.threshold, p.precision) for p in points], "#1f6feb"),
        Series("recall", [(p.threshold, p.recall) for p in points], "#d73a49"),
        Series("flag rate", [(p.threshold, p.flag_rate) for p in points], "#2da44e"),
    ], title=f"Precision, recall and flag rate of {model.key} on {label}", x_label="threshold",
        y_label="share", marker_x=threshold)


@bp.get("/tuning")
def tuning_page():
    """Precision, recall and flag rate per threshold, confusion counts, and the what-if replay."""
    form, model, label, valid = _tuning_inputs()
    context = {"form": form, "model": model, "label": label, "valid": valid}
    if model and label and valid:
        points, threshold = tuning.curves(model, label), float(form.threshold.data)
        context.update(points=points, chart=_tuning_chart(model, label, points, threshold),
                       confusion=tuning.confusion(model, label, threshold),
                       whatif=tuning.what_if(model, label, threshold, form.days.data),
                       shadows=shadow.all_shadows(10))
    return render_template("lead/tuning.html", **context), 200 if valid else 400


@bp.get("/tuning/whatif")
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
def shadow_list():
    """Shadow runs, newest first."""
    return render_template("lead/shadow_list.html", reports=[shadow.report(s.id) for s in shadow.all_shadows()],
                           form=StopShadowForm())


@bp.get("/shadow/<int:shadow_id>")
def shadow_report(shadow_id: int):
    """How a shadow policy's decisions differ from the real policy's."""
    result = shadow.report(shadow_id)
    return render_template("lead/shadow_report.html", report=result, form=StopShadowForm(),
                           changes=policy_versions.diff(current_policy(fresh=True).settings, result.shadow.settings))


@bp.post("/shadow/<int:shadow_id>/stop")
def shadow_stop(shadow_id: int):
    """End a shadow run now."""
    if not StopShadowForm().validate_on_submit():
        abort(400)
    shadow.stop(shadow_id, user_id=current_user.id)
    flash(f"Shadow run {shadow_id} stopped.", "info")
    return redirect(url_for("lead.shadow_report", shadow_id=shadow_id))
