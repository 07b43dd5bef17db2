"""`flask audit`: seal and verify the chain; export statements of reasons, the app-store report, Art. 15 counts."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
from flask.cli import AppGroup

import audit
from audit import report, seal, transparency
from audit.exports import ExportInvalid, export_bytes, manifest
from audit.period import PeriodError, period
from jury.leads import referral
from jury.leads.reporting import report_options
from models import db
from models.errors import DomainError

audit_cli = AppGroup("audit", help="Check the audit trail and export from it.")

FROM = click.option("--from", "first", required=True, help="First day, YYYY-MM-DD (UTC).")
TO = click.option("--to", "last", required=True, help="Last day, YYYY-MM-DD (UTC, included).")
OUT = click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                   help="File to write.")


def _period(first: str, last: str):
    try:
        return period(first, last)
    except PeriodError as error:
        raise click.BadParameter(str(error)) from None


def _seal() -> None:
    """Seal every event written so far, so the head printed with the file covers them."""
    seal(db.session)


def _write(out: Path, content: bytes, kind: str, start, end) -> None:
    """Write the file and its manifest, and print the audit chain's head."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    meta = manifest(db.session, content, kind=kind, start=start, end=end)
    Path(f"{out}.manifest.json").write_text(json.dumps(meta, indent=2) + "\n")
    click.echo(f"wrote {out} ({len(content)} bytes, sha256 {meta['sha256']})")
    click.echo(f"audit chain head: event {meta['audit_head_event']} {meta['audit_head_hash']}")


@audit_cli.command("export")
@FROM
@TO
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "dsa"]), required=True)
@OUT
def export_command(first: str, last: str, fmt: str, out: Path) -> None:
    """Statements of reasons of every decision in the period (DSA Art. 17; `dsa`: Transparency Database JSON)."""
    start, end = _period(first, last)
    _seal()
    try:
        content = export_bytes(db.session, start, end, fmt)
    except ExportInvalid as error:
        raise click.ClickException(f"not written: {error}") from None
    _write(out, content, f"statements-{fmt}", start, end)


@audit_cli.command("report")
@FROM
@TO
@OUT
def report_command(first: str, last: str, out: Path) -> None:
    """The app-store reviewer report; PDF or HTML by the file's extension."""
    start, end = _period(first, last)
    _seal()
    suffix = out.suffix.lower()
    if suffix == ".pdf":
        content = report.render_pdf(db.session, start, end, **report_options())
    elif suffix in (".html", ".htm"):
        content = report.render_html(db.session, start, end, **report_options()).encode()
    else:
        raise click.BadParameter("the file must end in .pdf or .html", param_hint="--out")
    _write(out, content, f"appstore-report{suffix}", start, end)


@audit_cli.command("transparency")
@FROM
@TO
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@OUT
def transparency_command(first: str, last: str, fmt: str, out: Path) -> None:
    """The DSA Art. 15 transparency counts for the period."""
    start, end = _period(first, last)
    _seal()
    data = transparency.summary(db.session, start, end, scorer=report_options()["scorer"])
    content = (transparency.to_json(data) if fmt == "json" else transparency.to_csv(data)).encode()
    _write(out, content, f"transparency-{fmt}", start, end)


@audit_cli.command("referral")
@click.argument("case_id", type=int)
@OUT
def referral_command(case_id: int, out: Path) -> None:
    """A critical case's referral packet for the authorities (DSA Art. 18), as JSON."""
    try:
        content, _ = referral.packet(case_id, None, actor="cli")
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    click.echo(f"wrote {out} ({len(content)} bytes, sha256 {hashlib.sha256(content).hexdigest()})")


@audit_cli.command("seal")
def audit_seal_command() -> None:
    """Chain every audit event written so far (the sweeper does this every second)."""
    click.echo(f"sealed {audit.seal(db.session)} events")


@audit_cli.command("verify")
@click.option("--no-seal", is_flag=True, help="Only read: do not seal new events first (a read-only replica).")
def audit_verify_command(no_seal: bool) -> None:
    """Seal new events, then walk the hash chain; exit 1 naming the first broken event."""
    if not no_seal:
        audit.seal(db.session)
    checked, broken = audit.verify_chain(db.session)
    if broken is not None:
        raise click.ClickException(f"audit chain broken at event {broken.id} ({broken.event_type}); "
                                   f"{checked} events before it are intact")
    click.echo(f"audit chain intact: {checked} events")
    head_id, head_hash = audit.chain_head(db.session)
    click.echo(f"head: event {head_id} {head_hash}")
    unsealed = audit.unsealed_count(db.session)
    if unsealed:
        click.echo(f"{unsealed} newer events are not sealed yet (not checked)")
