"""The lead's pages on reliability-weighted verdicts: why a verdict went its way, and agreement."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import select

from jury import agreement, juror_reliability
from jury.forms import ReestimateForm
from jury.web.access import lead_required
from models import JurorReliability, ReliabilityRun, Verdict, db, utcnow
from triage.policy import current_policy

bp = Blueprint("reliability", __name__, url_prefix="/lead")

RECENT_VERDICTS = 200
# The agreement page reads this many weeks of verdicts, so it stays quick as history grows.
AGREEMENT_WEEKS = 12


@bp.get("/verdicts")
@lead_required
def verdict_list():
    """The latest verdicts with their method and posterior."""
    rows = db.session.scalars(select(Verdict).order_by(Verdict.id.desc()).limit(RECENT_VERDICTS)).all()
    return render_template("lead/verdicts.html", verdicts=rows, policy=current_policy())


@bp.get("/verdicts/<int:verdict_id>/why")
@lead_required
def why(verdict_id: int):
    """Each vote, its juror's pseudonym and estimated matrix, its weight, the prior and the posterior."""
    verdict = db.session.get(Verdict, verdict_id)
    if verdict is None:
        abort(404)
    return render_template("lead/why.html", verdict=verdict, weights=verdict.weights or {})


@bp.get("/agreement")
@lead_required
def agreement_page():
    """Krippendorff's alpha per rule and per week, and each juror's agreement and reliability."""
    matrices = {row.juror_id: row for row in db.session.scalars(select(JurorReliability))}
    jurors = [(juror_reliability.pseudonym(row.juror_id), row, matrices.get(row.juror_id))
              for row in agreement.juror_agreement()]
    run = db.session.scalar(select(ReliabilityRun).order_by(ReliabilityRun.id.desc()).limit(1))
    since = utcnow() - timedelta(weeks=AGREEMENT_WEEKS)
    return render_template("lead/agreement.html", by_rule=agreement.alpha_by_rule(since),
                           by_week=agreement.alpha_by_week(since), weeks=AGREEMENT_WEEKS, jurors=jurors, run=run,
                           form=ReestimateForm())


@bp.post("/reliability/reestimate")
@lead_required
def reestimate():
    """Queue a full re-estimation of juror reliabilities."""
    if not ReestimateForm().validate_on_submit():
        abort(400)
    juror_reliability.queue_reestimate()
    flash("Re-estimation queued: new votes use the new reliabilities as soon as it is done.", "info")
    return redirect(url_for("reliability.agreement_page"))
