"""The referral packet of a critical case (DSA Art. 18: a provider that becomes aware of information
giving rise to a suspicion of a criminal offence involving a threat to the life or safety of persons
informs the authorities): what was seen, what was decided, and the audit trail that proves both.

One JSON document per case, for a lead to pass to the police or a prosecutor. It holds the evidence
kept when the case joined the critical lane (the post's text and digest, the model scores, the
reports, the author) beside the post as Jury holds it now, every decision with its tally, the network
actions, and the case's and post's audit events with their hashes and the chain's head, so the
receiver can check nothing was changed. Jurors are never named: the audit events carry them as Jury's
internal numbers only, unchanged because the hashes cover them. Exporting is itself an audit event.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import or_, select

import audit
from models import Account, Action, AuditEvent, Case, Post, Report, Score, Strike, User, Verdict, db, utcnow
from models.errors import Conflict, NotFound
from triage import transaction

LEGAL_BASIS = ("Regulation (EU) 2022/2065 (Digital Services Act), Article 18: notification of suspicions of "
               "criminal offences involving a threat to the life or safety of a person or persons.")
EVENTS_SHOWN = 2000


def packet(case_id: int, lead: User | None, *, actor: str) -> tuple[bytes, str]:
    """The packet's bytes and its file name; the export is recorded in the audit trail. NotFound for
    no such case, Conflict for a case that never joined the critical lane."""
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.critical_at is None:
        raise Conflict(f"case {case_id} is not in the critical lane: a referral packet is for a credible "
                       "threat to life")
    with transaction.atomic():
        audit.record(db.session, "referral_exported", "case", case.id,
                     {"by": lead.username if lead else None}, actor=actor)
    audit.seal(db.session)  # the head in the packet then covers every event written before it
    content = json.dumps(build(case, lead), indent=2, ensure_ascii=False, default=str).encode()
    return content, f"referral-case-{case.id}.json"


def build(case: Case, lead: User | None) -> dict[str, Any]:
    """The packet as a mapping."""
    post = db.session.get(Post, case.post_id)
    entry = db.session.scalar(select(AuditEvent).where(
        AuditEvent.event_type == "critical_case", AuditEvent.subject_type == "case",
        AuditEvent.subject_id == str(case.id)).order_by(AuditEvent.id).limit(1))
    at_entry = entry.payload if entry else {}
    text_now = hashlib.sha256(post.text.encode()).hexdigest()
    head_id, head_hash = audit.chain_head(db.session)
    return {
        "kind": "jury-referral-packet", "legal_basis": LEGAL_BASIS, "exported_at": utcnow().isoformat(),
        "exported_by": lead.username if lead else None,
        "case": {"id": case.id, "state": case.state, "origin": case.origin, "opened_at": case.opened_at,
                 "critical_at": case.critical_at, "critical_reason": case.critical_reason,
                 "due_at": case.sla_deadline, "decided_at": case.decided_at},
        "evidence_at_entry": {"audit_event_id": entry.id if entry else None,
                              "audit_event_hash": entry.hash if entry else None, **at_entry},
        "post_now": {"external_id": post.external_id, "author_id": post.author_id, "state": post.state,
                     "text": post.text, "sha256": text_now, "url": post.url, "received_at": post.received_at,
                     "unchanged_since_entry": at_entry.get("post", {}).get("sha256") == text_now},
        "scores": [{"model": s.model_name, "version": s.model_version, "labels": s.labels, "scored_at": s.scored_at}
                   for s in db.session.scalars(select(Score).where(Score.post_id == post.id).order_by(Score.id))],
        "reports": [{"id": r.external_id, "reporter_id": r.reporter_id, "reason": r.reason, "comment": r.comment,
                     "received_at": r.received_at}
                    for r in db.session.scalars(select(Report).where(Report.post_id == post.id).order_by(Report.id))],
        "author": _author(post.author_id),
        "decisions": _decisions(post.id),
        "network_actions": [{"type": a.type, "state": a.state, "created_at": a.created_at, "sent_at": a.sent_at}
                            for a in db.session.scalars(select(Action).join(Case, Case.id == Action.case_id)
                                                        .where(Case.post_id == post.id).order_by(Action.id))],
        "audit_events": _events(case, post),
        "audit_chain_head": {"event_id": head_id, "hash": head_hash},
    }


def _author(external_id: str) -> dict[str, Any]:
    account = db.session.scalar(select(Account).where(Account.external_id == external_id))
    if account is None:
        return {"external_id": external_id}
    strikes = db.session.scalars(select(Strike).where(Strike.account_id == account.id).order_by(Strike.id))
    return {"external_id": external_id, "handle": account.handle, "display_name": account.display_name,
            "state": account.state, "suspended_until": account.suspended_until,
            "strikes": [{"rule": s.rule, "weight": s.weight, "given": s.created_at, "expires": s.expires_at,
                         "withdrawn": s.withdrawn_at} for s in strikes]}


def _decisions(post_id: int) -> list[dict[str, Any]]:
    """Every verdict on the post, first instance and appeals: outcome, rule, method, tally, statement."""
    rows = db.session.execute(select(Verdict, Case.review_round, Case.origin).join(Case, Case.id == Verdict.case_id)
                              .where(Case.post_id == post_id).order_by(Verdict.decided_at, Verdict.id))
    return [{"decided_at": v.decided_at, "review_round": round_, "origin": origin, "outcome": v.outcome,
             "rule": v.rule, "method": v.method, "tally": v.tally, "statement": v.statement}
            for v, round_, origin in rows]


def _events(case: Case, post: Post) -> list[dict[str, Any]]:
    """The audit events about the post and its cases, oldest first, with their place in the chain."""
    case_ids = [str(i) for i in db.session.scalars(select(Case.id).where(Case.post_id == post.id))]
    events = db.session.scalars(select(AuditEvent).where(or_(
        (AuditEvent.subject_type == "case") & AuditEvent.subject_id.in_(case_ids),
        (AuditEvent.subject_type == "post") & (AuditEvent.subject_id == str(post.id)))).order_by(AuditEvent.id)
        .limit(EVENTS_SHOWN))
    return [{"id": e.id, "seq": e.seq, "at": e.created_at, "actor": e.actor, "type": e.event_type,
             "subject": f"{e.subject_type} {e.subject_id}", "payload": e.payload, "prev_hash": e.prev_hash,
             "hash": e.hash} for e in events]
