"""A near-duplicate cluster for leads: its page, and reversing or resuming its standing removal."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from jury.leads import clusters
from jury.panels import cluster_verdicts
from jury.web.forms import ClusterResumeForm, ClusterReverseForm
from jury.web.lead.lead_blueprint import bp


def _render(cluster_id: int, reverse_form: ClusterReverseForm | None = None, status: int = 200):
    page = clusters.cluster_page(cluster_id)
    return render_template("lead/cluster.html", page=page, reverse_form=reverse_form or ClusterReverseForm(),
                           resume_form=ClusterResumeForm()), status


@bp.get("/clusters/<int:cluster_id>")
def cluster_page(cluster_id: int):
    """The cluster's size, standing verdict, spot checks and members."""
    return _render(cluster_id)


@bp.post("/clusters/<int:cluster_id>/reverse")
def cluster_reverse(cluster_id: int):
    """Reverse the standing removal for every copy; the reason is kept in the form when it is missing."""
    form = ClusterReverseForm()
    if not form.validate_on_submit():
        return _render(cluster_id, form, 400)
    cluster_verdicts.reverse(cluster_id, current_user, form.reason.data)
    flash("Reversed: every copy the verdict removed is being restored, and its strike withdrawn.")
    return redirect(url_for("lead.cluster_page", cluster_id=cluster_id))


@bp.post("/clusters/<int:cluster_id>/resume")
def cluster_resume(cluster_id: int):
    """Resume removing later copies without a juror after a spot check paused them."""
    if not ClusterResumeForm().validate_on_submit():
        return _render(cluster_id, status=400)
    cluster_verdicts.resume(cluster_id, current_user)
    flash("Resumed: later close copies are removed under the standing verdict again.")
    return redirect(url_for("lead.cluster_page", cluster_id=cluster_id))
