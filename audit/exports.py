"""Statements of reasons for every decision in a period (DSA Art. 17), as CSV, JSON Lines or DSA JSON.

A row is either a decision on a post (``subject`` "content": a verdict) or an account measure the
strike policy took (``subject`` "account": a warning, a suspension, a termination or a reinstatement).

Takes a SQLAlchemy session; knows nothing of Flask. No personal data leaves here: the
author and reporters are never named, jurors never appear, decisions carry a pseudonymous puid.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.dsa import DsaStatement
from audit.log import chain_head
from models import Action, Appeal, Case, Policy, Post, Report, Score, Verdict
from models.rules import RULES_BY_CODE

FORMATS = ("csv", "jsonl", "dsa")
REDRESS = ("Internal complaint: appeal within 6 months through the link sent with the decision or through the "
           "network (DSA Art. 20); out-of-court dispute settlement (Art. 21); judicial redress before the courts.")
# Jury's models flag and order posts; volunteer jurors (or a lead) take every decision.
AUTOMATION_NOTE = ("Automated detection: a toxicity model scored the post; 'Yes' when its score passed the policy's "
                   "auto-flag threshold. Decision: taken by people (a jury panel or a lead), never by the model; "
                   "a near-copy of a decided post gets that decision by matching (decision method 'cluster', "
                   "marked automated).")
CSV_FIELDS = (
    "puid", "subject", "case_id", "review_round", "post_id", "decided_at", "measure", "territorial_scope", "duration",
    "facts_and_circumstances", "source", "report_count", "automated_detection", "automated_decision",
    "decision_method", "ground_type", "ground", "rule", "dsa_category", "redress", "appeal_state",
    "content_date", "content_language", "policy_version", "tally_remove", "tally_keep",
)
LEGAL_GROUND = "Content unlawful under the law applicable where the network operates (see the jury's notes)."


class ExportInvalid(ValueError):
    """A statement broke the Transparency Database's field rules; nothing was written."""


def puid(verdict_id: int) -> str:
    """The platform's unique, pseudonymous id of a decision."""
    return f"jury-decision-{verdict_id}"


@dataclass(frozen=True)
class Decision:
    """One decision with what Art. 17 asks a statement of reasons to say."""

    row: dict[str, Any]
    verdict: Verdict
    case: Case
    post: Post


def _flagged_posts(session: Session, post_ids: list[int], thresholds_by_version: dict[int, dict]) -> set[int]:
    """Posts a model score put over the auto-flag threshold of their policy version."""
    flagged: set[int] = set()
    if not post_ids:
        return flagged
    latest = max(thresholds_by_version) if thresholds_by_version else None
    for post_id, labels in session.execute(select(Score.post_id, Score.labels).where(Score.post_id.in_(post_ids))):
        thresholds = thresholds_by_version.get(latest, {})
        if any(float(labels.get(label, 0.0)) >= float(limit) for label, limit in thresholds.items()):
            flagged.add(post_id)
    return flagged


def _measure(verdict: Verdict, case: Case, original: Verdict | None, appeal: Appeal | None) -> str:
    """What the decision did to the content."""
    if case.origin != "appeal":
        return "removal" if verdict.outcome == "remove" else "none"
    if original is not None and verdict.outcome == original.outcome:
        return "none (appeal rejected; the first decision stands)"
    if appeal is not None and appeal.state == "awaiting_signoff":
        return "none yet (reversal awaiting a lead's sign-off)"
    if appeal is not None and appeal.state == "upheld":
        return "none (the lead did not confirm the reversal)"
    return "restoration" if verdict.outcome == "keep" else "removal"


def _language(lang: str | None) -> str | None:
    code = (lang or "").split("-")[0].split("_")[0]
    return code.upper() if len(code) == 2 and code.isalpha() else None


def _content_date(post: Post) -> str:
    """When the post was made, as the network says; a date the network cannot mean falls back to receipt."""
    created = post.created_at
    if created is None or not (datetime(2000, 1, 1, tzinfo=created.tzinfo) <= created <= post.received_at):
        created = post.received_at
    return created.date().isoformat()


def decisions(session: Session, start: datetime, end: datetime) -> list[Decision]:
    """Every verdict decided in [start, end), oldest first, with its Art. 17 contents."""
    verdicts = session.scalars(select(Verdict).where(Verdict.decided_at >= start, Verdict.decided_at < end)
                               .order_by(Verdict.decided_at, Verdict.id)).all()
    if not verdicts:
        return []
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_([v.case_id for v in verdicts])))}
    posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_({c.post_id for c in cases.values()})))}
    reports = dict(session.execute(select(Report.post_id, func.count()).where(Report.post_id.in_(list(posts)))
                                   .group_by(Report.post_id)).all())
    thresholds = {version: settings.get("auto_flag", {})
                  for version, settings in session.execute(select(Policy.version, Policy.settings))}
    flagged = _flagged_posts(session, list(posts), thresholds)
    appeals_by_case = {a.appeal_case_id: a for a in session.scalars(
        select(Appeal).where(Appeal.appeal_case_id.in_(list(cases))))}
    appeals_by_verdict = {a.verdict_id: a for a in session.scalars(
        select(Appeal).where(Appeal.verdict_id.in_([v.id for v in verdicts])))}
    result = []
    for verdict in verdicts:
        case, appeal_of = cases[verdict.case_id], None
        post = posts[case.post_id]
        appeal = appeals_by_case.get(case.id)
        original = session.get(Verdict, appeal.verdict_id) if appeal else None
        measure = _measure(verdict, case, original, appeal)
        rule_code = verdict.rule or (original.rule if original else None)
        rule = RULES_BY_CODE.get(rule_code or "")
        notice = reports.get(post.id, 0) > 0
        detected = case.origin == "auto_flagged" or post.id in flagged
        appeal_of = appeals_by_verdict.get(verdict.id)
        facts = (f"{verdict.statement} The case was opened "
                 + (f"after {reports.get(post.id, 0)} user notice(s)" if notice
                    else "on own initiative after automated detection")
                 + f"{' and the model also flagged the post' if notice and detected else ''}; "
                 f"review round {case.review_round}{' (appeal)' if case.origin == 'appeal' else ''}.")
        row = {
            "puid": puid(verdict.id), "subject": "content", "case_id": case.id, "review_round": case.review_round,
            "post_id": post.external_id, "decided_at": verdict.decided_at.isoformat(), "measure": measure,
            "territorial_scope": "worldwide (the whole network)", "duration": "indefinite",
            "facts_and_circumstances": facts, "source": "notice" if notice else "own initiative",
            "report_count": reports.get(post.id, 0), "automated_detection": detected,
            "automated_decision": verdict.method in ("auto", "cluster"), "decision_method": verdict.method,
            "ground_type": ("legal" if rule_code == "illegal" else "contractual") if measure != "none" else "",
            "ground": f"{rule.title}: {rule.summary}" if rule and measure != "none" else "",
            "rule": rule_code or "", "dsa_category": rule.dsa_category if rule else "",
            "redress": REDRESS if case.origin != "appeal" else REDRESS.split("; ", 1)[1],
            "appeal_state": appeal_of.state if appeal_of else "",
            "content_date": _content_date(post),
            "content_language": _language(post.lang) or "", "policy_version": verdict.policy_version,
            "tally_remove": (verdict.tally or {}).get("remove", 0), "tally_keep": (verdict.tally or {}).get("keep", 0),
        }
        result.append(Decision(row, verdict, case, post))
    return result


def dsa_statement(decision: Decision) -> DsaStatement:
    """The Transparency Database statement of one removal; raises ValidationError on a rule broken."""
    row = decision.row
    explanation = row["facts_and_circumstances"][:2000]
    ground: dict[str, str] = (
        {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT", "illegal_content_legal_ground": LEGAL_GROUND,
         "illegal_content_explanation": explanation}
        if row["ground_type"] == "legal" else
        {"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
         "incompatible_content_ground": (row["ground"] or "The network's terms of service")[:500],
         "incompatible_content_explanation": explanation}
    )
    return DsaStatement(
        decision_visibility=["DECISION_VISIBILITY_CONTENT_REMOVED"], **ground,
        decision_facts=(row["facts_and_circumstances"] + " " + AUTOMATION_NOTE)[:5000],
        content_type=["CONTENT_TYPE_TEXT"], content_language=row["content_language"] or None,
        content_date=row["content_date"], application_date=decision.verdict.decided_at.date(),
        category=row["dsa_category"] or "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        source_type="SOURCE_ARTICLE_16" if row["source"] == "notice" else "SOURCE_VOLUNTARY",
        automated_detection="Yes" if row["automated_detection"] else "No",
        automated_decision="AUTOMATED_DECISION_FULLY" if row["automated_decision"] else
        "AUTOMATED_DECISION_NOT_AUTOMATED",
        puid=row["puid"],
    )


def validate_statements(payloads: list[dict]) -> list[dict]:
    """Check statements against the field rules; raise ExportInvalid naming the first bad one."""
    checked = []
    for index, payload in enumerate(payloads):
        try:
            checked.append(DsaStatement.model_validate(payload).payload())
        except ValidationError as error:
            raise ExportInvalid(f"statement {index} ({payload.get('puid', '?')}): {_first_error(error)}") from None
    return checked


def _first_error(error: ValidationError) -> str:
    """'field: message' of the first rule broken."""
    first = error.errors(include_url=False, include_input=False)[0]
    return f"{'.'.join(str(part) for part in first['loc']) or 'statement'}: {first['msg']}"


ACCOUNT_AUTOMATION_NOTE = ("Account measure: taken automatically by the strike policy once people (volunteer "
                           "jurors or a lead) had removed the posts behind it.")


def account_statement(action: Action, crossing: Verdict | None, post: Post | None) -> DsaStatement:
    """The Transparency Database statement of a suspension (for a time: suspended; permanent: terminated)."""
    rule = RULES_BY_CODE.get((crossing.rule if crossing else action.rule) or "")
    legal = rule is not None and rule.code == "illegal"
    # Facts without the statement sent to the author, which names posts: no personal data here.
    lasting = f"for {action.duration_days} days" if action.duration_days else "permanently"
    explanation = (f"Account suspended {lasting} under the network's strike policy: {action.strike_count or 0} "
                   f"removal(s) of its posts counted, the last under the rule "
                   f"'{rule.title if rule else 'other'}'.")
    ground: dict[str, str] = (
        {"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT", "illegal_content_legal_ground": LEGAL_GROUND,
         "illegal_content_explanation": explanation} if legal else
        {"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
         "incompatible_content_ground": (f"{rule.title}: {rule.summary}" if rule
                                         else "The network's terms of service")[:500],
         "incompatible_content_explanation": explanation})
    return DsaStatement(
        decision_account="DECISION_ACCOUNT_SUSPENDED" if action.duration_days else "DECISION_ACCOUNT_TERMINATED",
        **ground, decision_facts=f"{explanation} {ACCOUNT_AUTOMATION_NOTE}",
        content_type=["CONTENT_TYPE_TEXT"],
        content_date=_content_date(post) if post else action.created_at.date().isoformat(),
        application_date=action.created_at.date(),
        category=rule.dsa_category if rule else "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        source_type="SOURCE_VOLUNTARY", automated_detection="No", automated_decision="AUTOMATED_DECISION_PARTIALLY",
        puid=f"jury-account-measure-{action.id}",
    )


def _account_statements(session: Session, start: datetime, end: datetime) -> list[dict]:
    """The statements of the suspensions decided in the period (warnings restrict nothing)."""
    payloads = []
    for action in session.scalars(select(Action).where(Action.type == "suspend_account", Action.created_at >= start,
                                                       Action.created_at < end).order_by(Action.id)):
        crossing = session.get(Verdict, int(action.verdict_ids[-1])) if action.verdict_ids else None
        post = None
        if crossing is not None:
            post = session.scalar(select(Post).join(Case, Case.post_id == Post.id).where(Case.id == crossing.case_id))
        try:
            payloads.append(account_statement(action, crossing, post).payload())
        except ValidationError as error:
            raise ExportInvalid(f"account measure {action.id}: {_first_error(error)}") from None
    return payloads


def dsa_statements(session: Session, start: datetime, end: datetime) -> list[dict]:
    """The Transparency Database statements of every removal and account suspension decided in the
    period, validated."""
    payloads = []
    for decision in decisions(session, start, end):
        if decision.row["measure"] != "removal":
            continue  # statements of reasons are owed for restrictions only
        try:
            payloads.append(dsa_statement(decision).payload())
        except ValidationError as error:
            raise ExportInvalid(f"{decision.row['puid']}: {_first_error(error)}") from None
    return validate_statements(payloads + _account_statements(session, start, end))


def csv_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas: ids come from the network and may be hostile."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


ACCOUNT_MEASURES = {"warn_account": "account warning", "suspend_account": "account suspension",
                    "unsuspend_account": "account reinstated"}


def account_rows(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The account measures taken in [start, end), oldest first, as export rows (the account unnamed)."""
    rows = []
    for action in session.scalars(select(Action).where(Action.type.in_(tuple(ACCOUNT_MEASURES)),
                                                       Action.created_at >= start, Action.created_at < end)
                                  .order_by(Action.created_at, Action.id)):
        crossing = session.get(Verdict, int(action.verdict_ids[-1])) if action.verdict_ids else None
        rule = RULES_BY_CODE.get((crossing.rule if crossing else action.rule) or "")
        permanent = action.type == "suspend_account" and not action.duration_days
        measure = "account termination" if permanent else ACCOUNT_MEASURES[action.type]
        restricts = action.type == "suspend_account"
        rows.append({
            "puid": f"jury-account-measure-{action.id}", "subject": "account", "case_id": action.case_id,
            "review_round": "", "post_id": "", "decided_at": action.created_at.isoformat(), "measure": measure,
            "territorial_scope": "worldwide (the whole network)",
            "duration": (f"{action.duration_days} days" if action.duration_days
                         else "indefinite" if permanent else ""),
            "facts_and_circumstances": _account_facts(action, measure, rule),
            "source": "strike policy", "report_count": "", "automated_detection": False,
            "automated_decision": action.type != "unsuspend_account", "decision_method": "strike_policy",
            "ground_type": ("legal" if rule and rule.code == "illegal" else "contractual") if restricts else "",
            "ground": f"{rule.title}: {rule.summary}" if rule and restricts else "",
            "rule": rule.code if rule else "", "dsa_category": rule.dsa_category if rule and restricts else "",
            "redress": REDRESS if action.type != "unsuspend_account" else "", "appeal_state": "",
            "content_date": "", "content_language": "", "policy_version": crossing.policy_version if crossing else "",
            "tally_remove": "", "tally_keep": "",
        })
    return rows


def _account_facts(action: Action, measure: str, rule: Any) -> str:
    """What led to an account measure, without the posts (the statement sent to the author names them)."""
    if action.type == "unsuspend_account":
        return (f"Account reinstated: its suspension ended or a removal behind it was overturned; "
                f"{action.strike_count or 0} strike(s) still count.")
    return (f"{measure.capitalize()} under the network's strike policy: {action.strike_count or 0} removal(s) of the "
            f"account's posts counted, the last under the rule '{rule.title if rule else 'other'}'. "
            f"{ACCOUNT_AUTOMATION_NOTE}")


def export_bytes(session: Session, start: datetime, end: datetime, fmt: str) -> bytes:
    """The export file's content in one of FORMATS (CSV and JSON Lines: decisions and account measures,
    oldest first)."""
    if fmt == "dsa":
        return json.dumps({"statements": dsa_statements(session, start, end)}, indent=2, ensure_ascii=False).encode()
    rows = sorted([d.row for d in decisions(session, start, end)] + account_rows(session, start, end),
                  key=lambda row: row["decided_at"])
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)
        return buffer.getvalue().encode()
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def manifest(session: Session, content: bytes, *, kind: str, start: datetime, end: datetime) -> dict:
    """What a reader needs to check an export later: its digest and the audit chain's head at export time."""
    head_id, head_hash = chain_head(session)
    return {"kind": kind, "from": start.isoformat(), "to": end.isoformat(),
            "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content),
            "audit_head_event": head_id, "audit_head_hash": head_hash}
