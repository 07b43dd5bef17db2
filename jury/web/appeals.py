"""Appeals: the author's page behind a signed link, the relay API, and the lead's sign-off and reports."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from audit import chain_head, exports, report, seal, transparency
from audit.period import PeriodError, period
from jury.appeals import review as appeals
from jury.extensions import csrf
from jury.leads.reporting import report_options
from jury.web.access import lead_required
from jury.web.api import _error, _signed_json
from jury.web.forms import AppealForm, AppealSignOffForm, PeriodForm
from models import Case, Verdict, db
from models.errors import DomainError
from triage.appeal_links import read_token
from triage.schemas import AppealIn

bp = Blueprint("appeals", __name__)


@bp.route("/appeal/<token>", methods=["GET", "POST"])
def appeal_page(token: str):
    """The author reads the decision and writes a statement; each link files one appeal."""
    item = appeals.contested(read_token(token))
    problem = appeals.usability_error(item)
    if problem is not None:
        raise problem
    form = AppealForm()
    if form.validate_on_submit():
        appeal = appeals.file_appeal(item.verdict.id, item.post.author_id, form.statement.data,
                                     channel="link", actor="appellant:link")
        return render_template("appeals/received.html", appeal=appeal, item=item), 201
    if request.method == "POST":
        return render_template("appeals/appeal.html", item=item, form=form), 400
    return render_template("appeals/appeal.html", item=item, form=form)


@bp.post("/api/v1/appeals")
@csrf.exempt
def api_appeal():
    """The network relays an appeal (signed like intake); 201 with the appeal's id."""
    body, failure = _signed_json(AppealIn)
    if failure:
        return failure
    try:
        verdict = appeals.latest_decision(body.post_id)
        appeal = appeals.file_appeal(verdict.id, body.appellant_id, body.statement, channel="api",
                                     actor="network")
    except DomainError as error:
        return _error(error.status_code, str(error))
    return {"appeal_id": appeal.id, "state": appeal.state, "case_id": appeal.appeal_case_id}, 201


@bp.get("/lead/appeals")
@lead_required
def lead_appeals():
    """Reversals awaiting a lead's sign-off, and the latest appeals."""
    pending = appeals.awaiting_signoff()
    details = {appeal.id: (db.session.get(Verdict, appeal.verdict_id),
                           db.session.scalar(db.select(Verdict).where(Verdict.case_id == appeal.appeal_case_id)),
                           db.session.get(Case, appeal.appeal_case_id))
               for appeal in pending}
    return render_template("appeals/lead.html", pending=pending, details=details, recent=appeals.recent(),
                           form=AppealSignOffForm())


@bp.post("/lead/appeals/<int:appeal_id>/sign-off")
@lead_required
def sign_off(appeal_id: int):
    """Confirm or refuse a reversal."""
    form = AppealSignOffForm()
    if not form.validate_on_submit():
        abort(400)
    appeals.sign_off(appeal_id, current_user, form.decision.data == "approve", form.reason.data)
    flash(f"Appeal {appeal_id} signed off.", "info")
    return redirect(url_for("appeals.lead_appeals"))


def period_from_args() -> tuple[datetime, datetime]:
    """The ?start=&end= period (whole UTC days, both included); the last 30 days by default."""
    today = datetime.now(UTC).date()
    try:
        return period(request.args.get("start") or (today - timedelta(days=29)).isoformat(),
                      request.args.get("end") or today.isoformat())
    except PeriodError as error:
        abort(400, str(error))


@bp.get("/lead/reports")
@lead_required
def reports():
    """Downloads for a period: the app-store report, the transparency summary, statements of reasons."""
    start, end = period_from_args()
    form = PeriodForm(request.args)
    last = (end - timedelta(days=1)).date().isoformat()
    form.start.data, form.end.data = start.date().isoformat(), last
    return render_template("appeals/reports.html", form=form, start=start.date().isoformat(), end=last)


@bp.get("/lead/reports/download/<kind>")
@lead_required
def download(kind: str):
    """One export for the period, as a file."""
    start, end = period_from_args()
    seal(db.session)  # the head sent with the file then covers every event written before it
    stamp = f"{start:%Y%m%d}-{end - timedelta(days=1):%Y%m%d}"
    if kind == "appstore.html":
        body, mime = report.render_html(db.session, start, end, **report_options()).encode(), "text/html"
    elif kind == "appstore.pdf":
        body, mime = report.render_pdf(db.session, start, end, **report_options()), "application/pdf"
    elif kind in ("transparency.json", "transparency.csv"):
        summary = transparency.summary(db.session, start, end, scorer=report_options()["scorer"])
        body = (transparency.to_json(summary) if kind.endswith("json") else transparency.to_csv(summary)).encode()
        mime = "application/json" if kind.endswith("json") else "text/csv"
    elif kind in ("statements.csv", "statements.jsonl", "statements-dsa.json"):
        fmt = {"statements.csv": "csv", "statements.jsonl": "jsonl", "statements-dsa.json": "dsa"}[kind]
        try:
            body = exports.export_bytes(db.session, start, end, fmt)
        except exports.ExportInvalid as error:
            abort(500, f"export not produced: {error}")
        mime = {"csv": "text/csv", "jsonl": "application/x-ndjson", "dsa": "application/json"}[fmt]
    else:
        abort(404)
    name = kind.replace(".", f"-{stamp}.", 1)
    head_id, head_hash = chain_head(db.session)
    return Response(body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                  "X-Jury-Audit-Head": f"{head_id} {head_hash}"})
