"""The lead's figures: queue health, verdicts and why they went their way, agreement, and the
reports and exports for app stores and regulators."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for

from audit.charts import Series, line_chart
from audit.period import PeriodError, period
from jury.leads import accounts, console, queue_health, reporting
from jury.panels import juror_reliability
from jury.web.forms import PeriodForm, ReestimateForm, RetryActionForm
from jury.web.lead.lead_blueprint import bp
from triage.policy import current_policy


def _days_arg() -> int:
    return request.args.get("days", default=14, type=int) or 14


def _votes_chart(figures: queue_health.Health):
    """Votes per hour over the last 24 hours, as SVG."""
    counts = [count for _, count in figures.hourly_votes]
    top = max(counts + [1])
    # Whole votes on the y axis, and the hours by the clock (UTC) every six hours on the x axis.
    top = max(4, -(-top // 4) * 4)
    ticks = [(i - 23, f"{hour:%H}:00") for i, (hour, _) in enumerate(figures.hourly_votes) if (23 - i) % 6 == 0]
    return line_chart([Series("votes per hour", [(i - 23, c) for i, c in enumerate(counts)], "#1f6feb")],
                      title="Votes per hour, last 24 hours", x_label="hour starting (UTC)", y_label="votes",
                      x_range=(-23, 0), y_range=(0, top), height=200, x_ticks=ticks)


@bp.get("/health")
def health():
    """Backlog, decision and action times, SLA breaches, actions and juror activity (refreshes itself)."""
    refresh = min(max(request.args.get("refresh", default=15, type=int) or 15, 5), 300)
    figures = queue_health.health(_days_arg())
    return render_template("lead/health.html", health=figures, votes_chart=_votes_chart(figures),
                           actions=queue_health.troubled_actions(), form=RetryActionForm(), days=_days_arg(),
                           refresh=refresh)


@bp.get("/health/fragment")
def health_fragment():
    """The health figures alone, polled by static/lead-health.js."""
    figures = queue_health.health(_days_arg())
    return render_template("lead/_health.html", health=figures, votes_chart=_votes_chart(figures),
                           actions=queue_health.troubled_actions(), form=RetryActionForm())


@bp.get("/verdicts")
def verdict_list():
    """The latest verdicts with their method and posterior."""
    found = console.recent_verdicts()
    return render_template("lead/verdicts.html", verdicts=found, policy=current_policy(),
                           authors=accounts.case_authors(v.case_id for v in found))


@bp.get("/verdicts/<int:verdict_id>/why")
def why(verdict_id: int):
    """Each vote, its juror's pseudonym and estimated matrix, its weight, the prior and the posterior."""
    verdict = console.verdict(verdict_id)
    return render_template("lead/why.html", verdict=verdict, weights=verdict.weights or {},
                           author=accounts.case_authors([verdict.case_id]).get(verdict.case_id))


@bp.get("/agreement")
def agreement_page():
    """Krippendorff's alpha per rule and per week, and each juror's agreement and reliability."""
    found = console.agreement_report()
    return render_template("lead/agreement.html", by_rule=found.by_rule, by_week=found.by_week,
                           weeks=found.weeks, jurors=found.jurors, run=found.run, form=ReestimateForm())


@bp.post("/reliability/reestimate")
def reestimate():
    """Queue a full re-estimation of juror reliabilities."""
    if not ReestimateForm().validate_on_submit():
        abort(400)
    juror_reliability.queue_reestimate()
    flash("Re-estimation queued: new votes use the new reliabilities as soon as it is done.", "info")
    return redirect(url_for("lead.agreement_page"))


def period_from_args() -> tuple[datetime, datetime]:
    """The ?start=&end= period (whole UTC days, both included); the last 30 days by default."""
    today = datetime.now(UTC).date()
    try:
        return period(request.args.get("start") or (today - timedelta(days=29)).isoformat(),
                      request.args.get("end") or today.isoformat())
    except PeriodError as error:
        abort(400, str(error))


@bp.get("/reports")
def reports():
    """Downloads for a period: the app-store report, the transparency summary, statements of reasons."""
    start, end = period_from_args()
    form = PeriodForm(request.args)
    last = (end - timedelta(days=1)).date().isoformat()
    form.start.data, form.end.data = start.date().isoformat(), last
    return render_template("lead/reports.html", form=form, start=start.date().isoformat(), end=last)


@bp.get("/reports/download/<kind>")
def report_download(kind: str):
    """One export for the period, as a file."""
    start, end = period_from_args()
    file = reporting.download(kind, start, end)
    return Response(file.body, mimetype=file.mimetype, headers={
        "Content-Disposition": f'attachment; filename="{file.filename}"', "X-Jury-Audit-Head": file.audit_head})


@bp.get("/rq")
def rq_unavailable():
    """The RQ dashboard when Redis is configured; otherwise a page saying jobs run inline."""
    if "rq_dashboard" in current_app.blueprints:
        return redirect(url_for("rq_dashboard.queues_overview"))
    return render_template("lead/rq_unavailable.html")
