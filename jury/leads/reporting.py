"""The audit reports and exports a lead downloads, with what they take from the app's settings
(the web console and the CLI both call this)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from audit import chain_head, exports, report, seal, transparency
from models import db
from models.errors import DomainError, NotFound

STATEMENT_FORMATS = {"statements.csv": "csv", "statements.jsonl": "jsonl", "statements-dsa.json": "dsa"}
STATEMENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "dsa": "application/json"}
KINDS = ("appstore.html", "appstore.pdf", "transparency.json", "transparency.csv", *STATEMENT_FORMATS)


class ExportFailed(DomainError):
    """An export did not pass its own checks: nothing is sent."""

    status_code = 500


@dataclass(frozen=True)
class Download:
    body: bytes
    mimetype: str
    filename: str
    audit_head: str  # "id hash" of the audit chain's head that covers the file


def report_options() -> dict:
    """The scorer's name and the pseudonym key the reports use."""
    return {"scorer": current_app.config["SCORER"], "pseudonym_key": current_app.config["SECRET_KEY"]}


def download(kind: str, start: datetime, end: datetime) -> Download:
    """One export of the period [start, end) as a file; NotFound for an unknown kind."""
    if kind not in KINDS:
        raise NotFound("no such report")
    seal(db.session)  # the head sent with the file then covers every event written before it
    body, mimetype = _render(kind, start, end)
    stamp = f"{start:%Y%m%d}-{end - timedelta(days=1):%Y%m%d}"
    head_id, head_hash = chain_head(db.session)
    return Download(body, mimetype, kind.replace(".", f"-{stamp}.", 1), f"{head_id} {head_hash}")


def _render(kind: str, start: datetime, end: datetime) -> tuple[bytes, str]:
    if kind == "appstore.html":
        return report.render_html(db.session, start, end, **report_options()).encode(), "text/html"
    if kind == "appstore.pdf":
        return report.render_pdf(db.session, start, end, **report_options()), "application/pdf"
    if kind.startswith("transparency."):
        summary = transparency.summary(db.session, start, end, scorer=report_options()["scorer"])
        if kind.endswith("json"):
            return transparency.to_json(summary).encode(), "application/json"
        return transparency.to_csv(summary).encode(), "text/csv"
    fmt = STATEMENT_FORMATS[kind]
    try:
        return exports.export_bytes(db.session, start, end, fmt), STATEMENT_TYPES[fmt]
    except exports.ExportInvalid as error:
        raise ExportFailed(f"export not produced: {error}") from error
