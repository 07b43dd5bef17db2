"""Mastodon reports into Jury: a report's statuses become posts, its category and rules the reason.

Both ways in (the ``report.created`` webhook and the poll of open reports) call :func:`ingest`,
which hands everything to the ordinary intake service. External ids are Mastodon's own (status
id for a post, ``<report id>:<status id>`` for a report), so a report seen twice, by the webhook
and the poll or by a replayed delivery, is stored once.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from typing import Any, ClassVar

from flask import Flask, current_app
from pydantic import ValidationError

from models import SyncCursor, db, utcnow
from models.account import DISPLAY_NAME_MAX_CHARS, HANDLE_MAX_CHARS
from models.rules import RULE_CODES, rule_severity
from models.sql import insert_ignore
from network.mastodon_client import MAX_PAGES, PAGE_LIMIT, MastodonClient, MastodonError
from triage import intake, transaction
from triage.schemas import LANG_PATTERN, PostIn, ReportIn

log = logging.getLogger(__name__)

CURSOR_NAME = "mastodon:reports"
COMMENT_MAX_CHARS = 2000
# Mastodon's report categories; "violation" is decided by the instance rules it names.
CATEGORY_REASONS = {"spam": "spam", "legal": "illegal", "other": "other"}
# Used for instance rules that MASTODON_RULE_MAP does not name: the rule's text decides.
RULE_KEYWORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), code) for pattern, code in (
        (r"violen|threat|terroris|gore", "violence_threat"),
        (r"suicid|self.?harm|eating disorder", "self_harm"),
        (r"hate|racis|sexis|homophob|transphob|bigot|discriminat|slur", "hate"),
        (r"harass|bully|dox|abuse|stalk|brigad", "harassment"),
        (r"sexual|nsfw|porn|nudity|minor|csam|child", "sexual"),
        (r"spam|scam|fraud|phish|advertis", "spam"),
        (r"illegal|unlawful|law|copyright", "illegal"),
    )
)
_LANG = re.compile(LANG_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ReportShapeError(ValueError):
    """A Mastodon report object lacks what Jury needs (its id, reporter or target)."""


@dataclass
class MastodonCounts:
    """What one batch of Mastodon reports did."""

    reports: int = 0
    statuses: int = 0
    created: int = 0
    duplicates: int = 0
    posts_created: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts (problems capped so a hostile batch cannot bloat a reply)."""
        data = asdict(self)
        data["problems"] = self.problems[:20]
        return data


# ---------------------------------------------------------------------------------- HTML to text


class _TextExtractor(HTMLParser):
    """Collects the text of Mastodon's status HTML; markup, scripts and styles are dropped."""

    BREAKS: ClassVar[dict[str, str]] = {"p": "\n\n", "li": "\n", "blockquote": "\n", "div": "\n"}
    SKIPPED: ClassVar[frozenset[str]] = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BREAKS:
            self.parts.append(self.BREAKS[tag])

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str, max_chars: int = 20_000) -> str:
    """Plain text of a status's HTML (never rendered as HTML: templates escape it again)."""
    parser = _TextExtractor()
    # Parsing cost is linear, but a cap first keeps a hostile megabyte from costing more than it must.
    parser.feed(str(html or "")[: max_chars * 10])
    parser.close()
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text[:max_chars]


# ---------------------------------------------------------------------------------- mapping


def parse_rule_map(text: str | None) -> dict[str, str]:
    """Parse MASTODON_RULE_MAP, e.g. ``"1=spam,2=hate,7=violence_threat"`` (instance rule id = Jury rule)."""
    mapping: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        rule_id, sep, code = item.partition("=")
        code = code.strip()
        if not sep or not rule_id.strip() or code not in RULE_CODES:
            raise ValueError(f"MASTODON_RULE_MAP entry {item.strip()!r} must be <rule id>=<one of "
                             f"{', '.join(RULE_CODES)}>")
        mapping[rule_id.strip()] = code
    return mapping


def _rule_code(rule: Any, rule_map: dict[str, str]) -> str:
    if not isinstance(rule, dict):
        return "other"
    mapped = rule_map.get(str(rule.get("id")))
    if mapped:
        return mapped
    text = f"{rule.get('text') or ''} {rule.get('hint') or ''}"
    return next((code for pattern, code in RULE_KEYWORDS if pattern.search(text)), "other")


def reason_for(report: dict[str, Any], rule_map: dict[str, str]) -> str:
    """Jury's reason for a report: from its category, or for a violation the gravest rule it names."""
    category = str(report.get("category") or "other")
    if category in CATEGORY_REASONS:
        return CATEGORY_REASONS[category]
    rules = report.get("rules") if isinstance(report.get("rules"), list) else []
    codes = [_rule_code(rule, rule_map) for rule in rules]
    return max(codes, key=rule_severity) if codes else "other"


def _account_id(value: Any) -> str | None:
    """The id of an Admin::Account (or a plain Account)."""
    if isinstance(value, dict) and value.get("id") is not None:
        return str(value["id"])
    return None


def _comment(report: dict[str, Any]) -> str | None:
    parts = []
    if report.get("comment"):
        parts.append(str(report["comment"]))
    rules = report.get("rules") if isinstance(report.get("rules"), list) else []
    texts = [str(rule.get("text")) for rule in rules if isinstance(rule, dict) and rule.get("text")]
    if texts:
        parts.append("Rules cited: " + "; ".join(texts))
    if report.get("forwarded"):
        parts.append("(forwarded from another server)")
    comment = "\n".join(parts)[:COMMENT_MAX_CHARS]
    return comment or None


def _status_text(status: dict[str, Any], max_chars: int) -> str:
    parts = []
    if status.get("spoiler_text"):
        parts.append(f"CW: {html_to_text(str(status['spoiler_text']), 500)}")
    parts.append(html_to_text(str(status.get("content") or ""), max_chars))
    media = status.get("media_attachments") if isinstance(status.get("media_attachments"), list) else []
    for item in media[:10]:
        if isinstance(item, dict):
            description = str(item.get("description") or "no description")[:500]
            parts.append(f"[{str(item.get('type') or 'media')[:20]}: {description}]")
    return "\n".join(part for part in parts if part)[:max_chars]


def _author(status: dict[str, Any], author_id: str, target: Any) -> dict[str, str | None]:
    """The author's handle (``acct``) and display name: from the status's account, else the report's
    target (an Admin::Account, whose public Account is its ``account``).

    Whatever does not fit the intake's rules is left out rather than costing the report.
    """
    account = status.get("account")
    if not (isinstance(account, dict) and str(account.get("id")) == author_id):
        target = target if isinstance(target, dict) else {}
        account = target.get("account") if isinstance(target.get("account"), dict) else {}
    handle, name = account.get("acct"), account.get("display_name")
    handle = handle.strip() if isinstance(handle, str) else None
    name = _CONTROL.sub(" ", name).strip()[:DISPLAY_NAME_MAX_CHARS] if isinstance(name, str) else None
    return {"author_handle": handle if handle and len(handle) <= HANDLE_MAX_CHARS and not _CONTROL.search(handle)
            else None, "author_display_name": name or None}


def _post(status: dict[str, Any], author_id: str, max_chars: int, target: Any = None) -> PostIn:
    language = status.get("language")
    url = status.get("url") or status.get("uri")
    data = {
        "id": str(status.get("id") or ""), "author_id": author_id, "text": _status_text(status, max_chars),
        "lang": language if isinstance(language, str) and _LANG.match(language) else None,
        "url": url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) and len(url) <= 2048
        else None,
        "created_at": status.get("created_at"), **_author(status, author_id, target),
    }
    try:
        return PostIn.model_validate(data)
    except ValidationError:
        # An odd timestamp or author name (a lone surrogate) must not cost the post; the rest is required.
        data.update(created_at=None, author_handle=None, author_display_name=None)
        return PostIn.model_validate(data)


def to_intake(report: Any, rule_map: dict[str, str], max_chars: int = 20_000) -> list[ReportIn]:
    """One Jury report per status of a Mastodon Admin::Report; raise ReportShapeError if unusable."""
    if not isinstance(report, dict) or report.get("id") is None:
        raise ReportShapeError("report has no id")
    report_id = str(report["id"])
    reporter = _account_id(report.get("account"))
    target = _account_id(report.get("target_account"))
    if not reporter or not target:
        raise ReportShapeError(f"report {report_id[:64]!r} lacks its account or target_account")
    statuses = report.get("statuses")
    if not isinstance(statuses, list):
        raise ReportShapeError(f"report {report_id[:64]!r}: statuses is not a list")
    reason, comment = reason_for(report, rule_map), _comment(report)
    items = []
    for status in statuses:
        if not isinstance(status, dict):
            raise ReportShapeError(f"report {report_id[:64]!r}: a status is not an object")
        try:
            post = _post(status, target, max_chars, report.get("target_account"))
            items.append(ReportIn(id=f"{report_id}:{post.id}", post_id=post.id, reporter_id=reporter,
                                  reason=reason, comment=comment, post=post))
        except ValidationError as error:
            raise ReportShapeError(f"report {report_id[:64]!r}: {error.errors()[0]['msg']}") from None
    return items


def ingest(reports: Iterable[Any], actor: str) -> MastodonCounts:
    """Store Mastodon reports through the intake service; unusable ones are counted, not fatal."""
    config = current_app.config
    rule_map = parse_rule_map(config.get("MASTODON_RULE_MAP"))
    counts = MastodonCounts()
    batch: list[ReportIn] = []
    for report in reports:
        counts.reports += 1
        try:
            items = to_intake(report, rule_map, config.get("POST_MAX_CHARS", 20_000))
        except ReportShapeError as error:
            counts.skipped += 1
            counts.problems.append(str(error))
            continue
        if not items:
            # An account-only report: Jury judges posts, so it stays for the instance's moderators.
            counts.skipped += 1
            counts.problems.append(f"report {str(report.get('id'))[:64]!r} names no statuses")
        batch.extend(items)
    if batch:
        stored = intake.ingest_reports(batch, actor=actor)
        counts.statuses, counts.created = stored.received, stored.created
        counts.duplicates, counts.posts_created = stored.duplicates, stored.posts_created
    if counts.problems:
        log.warning("mastodon intake skipped %d report(s): %s", counts.skipped, "; ".join(counts.problems[:5]))
    return counts


# ---------------------------------------------------------------------------------- polling


HANDLED_EVENTS = ("report.created",)


def receive_event(data: Any) -> MastodonCounts | str:
    """One webhook delivery's body: its report ingested (the counts), or the name of an event Jury
    has no use for (acknowledged, so the instance does not retry it); ReportShapeError if malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise ReportShapeError("body must be a JSON object with an event")
    if data["event"] not in HANDLED_EVENTS:
        return data["event"][:64]
    report = data.get("object")
    try:
        to_intake(report, {})
    except ReportShapeError as error:
        raise ReportShapeError(f"object: {error}") from None
    return ingest([report], actor="mastodon:webhook")


def client_from_config() -> MastodonClient:
    """A client for the configured instance (NETWORK_URL, NETWORK_TOKEN)."""
    config = current_app.config
    return MastodonClient(config.get("NETWORK_URL") or "", config.get("NETWORK_TOKEN") or "")


def _newer(first: str | None, second: str | None) -> str | None:
    """The later of two ids: Mastodon ids are numbers in strings, so longer means larger."""
    candidates = [value for value in (first, second) if value]
    return max(candidates, key=lambda value: (len(value), value)) if candidates else None


def read_cursor() -> str | None:
    """The newest report id a finished poll has seen, or None."""
    row = db.session.get(SyncCursor, CURSOR_NAME)
    return row.value if row else None


def _save_cursor(value: str) -> None:
    # Two pollers may finish at once: insert-or-skip, then move the row forward under its lock.
    with transaction.atomic():
        if not insert_ignore(SyncCursor, [{"name": CURSOR_NAME, "value": value, "updated_at": utcnow()}],
                             ("name",), SyncCursor.name):
            row = db.session.get(SyncCursor, CURSOR_NAME, with_for_update=True, populate_existing=True)
            row.value = _newer(row.value, value)


def poll_once(client: MastodonClient | None = None, *, full: bool = False,
              max_pages: int = MAX_PAGES) -> dict[str, Any]:
    """Pull open reports (only those newer than the cursor unless ``full``) and ingest them page by page."""
    client = client or client_from_config()
    cursor = None if full else read_cursor()
    params: dict[str, Any] = {"resolved": "false", "limit": PAGE_LIMIT}
    if cursor:
        params["since_id"] = cursor
    totals = MastodonCounts()
    newest, pages = cursor, 0
    for page in client.pages("/api/v1/admin/reports", scope="admin:read:reports", params=params,
                             max_pages=max_pages):
        pages += 1
        counts = ingest(page, actor="mastodon:poll")
        for name in ("reports", "statuses", "created", "duplicates", "posts_created", "skipped"):
            setattr(totals, name, getattr(totals, name) + getattr(counts, name))
        totals.problems.extend(counts.problems)
        for report in page:
            if isinstance(report, dict) and report.get("id") is not None:
                newest = _newer(newest, str(report["id"])[:128])
    # Moved only after every page is in: an interrupted poll asks again for the same reports.
    if newest and newest != cursor:
        _save_cursor(newest)
    return {"pages": pages, "cursor": newest, **totals.as_dict()}


def run_forever(app: Flask, interval: float, stop: threading.Event | None = None, *, full_every: int = 60) -> None:
    """Poll every ``interval`` seconds (a full re-scan every ``full_every`` polls) until stopped."""
    stop = stop or threading.Event()
    polls = 0
    while not stop.is_set():
        wait = interval
        try:
            with app.app_context():
                summary = poll_once(full=polls % full_every == 0)
            if summary["created"] or summary["skipped"]:
                log.info("mastodon poll: %s", {k: v for k, v in summary.items() if k != "problems"})
        except MastodonError as error:
            log.warning("mastodon poll failed: %s", error.detail)
            if error.retry_after:
                wait = max(interval, error.retry_after)
        except Exception:  # keep polling: a database blip must not end intake for good
            log.exception("mastodon poll failed")
        polls += 1
        stop.wait(wait)
