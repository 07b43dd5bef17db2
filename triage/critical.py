"""The critical lane: credible threats to life come first.

A post is a credible threat to life when the model's threat score reaches the policy's
``critical.threat_score``, or when ``critical.reporters`` distinct (unmuted) reporters report it as
a violent threat (``violence_threat``). Its case then

- is hidden on the network at once (``hide_post``, unless a hide is already on its way), and so are
  the copies of it that wait on its case (its near-duplicate cluster's members without a case of
  their own: ``hide_copies``), those there already and those that arrive while it is open,
- goes to the top of the queue (``PRIORITY_BOOST`` over any other case) with the critical SLA
  (``sla_hours.critical``, 1 hour by default),
- is announced to the on-call URL as a signed ``critical_case`` alert through the outbox (retried,
  never lost; ``network.oncall``) when ``ONCALL_WEBHOOK_URL`` is set, and shows on the leads'
  on-call page,
- keeps its evidence: the post's text and its digest, every model score, the reports and the author
  as they stood, written into the hash-chained audit trail (``critical_case`` event), so what was
  seen survives the removal, an edit or a deletion on the network. ``jury.leads.referral`` builds
  the referral packet (DSA Art. 18) from it.

Runs inside the caller's transaction (``triage.cases.open_or_refresh``).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

import audit
from models import OPEN_CASE_STATES, Account, Action, Case, Post, Report, Score, db
from triage import jobs, outbox, transaction

THREAT_LABEL = "threat"
VIOLENT_RULE = "violence_threat"
# Added to a critical case's base priority: more than any other case's can reach.
PRIORITY_BOOST = 1000.0
REASON_CHARS = 200
# Evidence caps: every report is kept up to this many (the count is always kept).
REPORTS_KEPT = 500
COMMENT_CHARS = 1000
HIDE_STATEMENT = ("Hidden pending urgent review: this post may be a credible threat to someone's life. A "
                  "volunteer jury or a trust-and-safety lead decides within the hour whether it breaks the rules.")
COPY_HIDE_STATEMENT = ("Hidden pending urgent review: this post is a near-copy of a post that may be a credible "
                       "threat to someone's life. A volunteer jury or a trust-and-safety lead decides within the "
                       "hour whether it breaks the rules.")
# Copies hidden per transaction; a bigger cluster's rest goes to HIDE_COPIES_JOB, a chunk at a time.
COPIES_AT_ONCE = 200
HIDE_COPIES_JOB = "triage.critical.hide_copies_job"


def reason_for(reports: Iterable[tuple[str, str]], labels: Mapping[str, float] | None,
               settings: Mapping[str, Any]) -> str | None:
    """Why a post belongs in the critical lane, or None. `reports`: (reporter, reason) pairs of
    unmuted reporters; `settings`: the policy's ``critical`` group."""
    score = float((labels or {}).get(THREAT_LABEL, 0.0))
    if score >= float(settings["threat_score"]):
        return f"model threat score {score:.2f} (the lane opens at {float(settings['threat_score']):g})"
    needed = int(settings["reporters"])
    violent = {reporter for reporter, reason in reports if reason == VIOLENT_RULE}
    if needed and len(violent) >= needed:
        return f"{len(violent)} reporters reported a violent threat (the lane opens at {needed})"
    return None


def enter(case: Case, post: Post, reason: str, now: datetime, actor: str = "system") -> None:
    """Put an open case in the lane, once: mark it, keep the evidence, hide the post, alert on-call.
    The caller has already set its severity, SLA and priority (``triage.cases``).

    Once even when two report batches push the same post over the bar at the same moment: the mark
    is a conditional update, and only the transaction that changed the row goes on. On PostgreSQL the
    other waits for the first's row lock, then finds ``critical_at`` set and adds nothing (no second
    hide, alert or evidence)."""
    if case.critical_at is not None or not _mark(case, reason[:REASON_CHARS], now):
        return
    audit.record(db.session, "critical_case", "case", case.id, evidence(case, post, reason), actor=actor)
    specs = []
    if post.state == "visible" and not _hiding(case.id):
        specs.append(outbox.ActionSpec("hide_post", post.author_id, HIDE_STATEMENT))
    if current_app.config.get("ONCALL_WEBHOOK_URL"):
        specs.append(outbox.ActionSpec(outbox.ALERT_TYPE, post.author_id, reason[:REASON_CHARS]))
    if specs:
        outbox.create_actions(case, post, specs, actor=actor)
    hide_copies(case, actor)


def hide_copies(case: Case, actor: str = "system") -> int:
    """Hide the visible copies waiting on a case in the lane: members of its cluster (its own post
    aside) without a first-round case of their own and without a hide on its way, up to
    COPIES_AT_ONCE, the rest by HIDE_COPIES_JOB. Each hide is the case's action, so its verdict
    removes the copy or shows it again (jury.panels.cluster_verdicts). How many were hidden."""
    if case.cluster_id is None or case.critical_at is None:
        return 0
    own = aliased(Case)
    hide_sent = exists().where(Action.case_id == case.id, Action.type == "hide_post", Action.state != "dead",
                               Action.post_external_id == Post.external_id)
    copies = db.session.scalars(
        select(Post).where(Post.cluster_id == case.cluster_id, Post.id != case.post_id, Post.state == "visible",
                           ~exists().where(own.post_id == Post.id, own.review_round == 0), ~hide_sent)
        .order_by(Post.id).limit(COPIES_AT_ONCE + 1)).all()
    for copy in copies[:COPIES_AT_ONCE]:
        outbox.create_actions(case, copy, [outbox.ActionSpec("hide_post", copy.author_id, COPY_HIDE_STATEMENT)],
                              actor=actor)
    if len(copies) > COPIES_AT_ONCE:
        jobs.defer("actions", HIDE_COPIES_JOB, case.id)
    return min(len(copies), COPIES_AT_ONCE)


def hide_copies_job(case_id: int) -> int:
    """The job that hides a big cluster's copies a chunk at a time, while its case is still open."""
    with transaction.atomic(durable=True):
        case = db.session.get(Case, case_id)
        if case is None or case.state not in OPEN_CASE_STATES:
            return 0
        return hide_copies(case, actor="system")


def _mark(case: Case, reason: str, now: datetime) -> bool:
    """Set the case's lane mark unless another transaction set it first; whether this one did."""
    changed = db.session.execute(
        update(Case).where(Case.id == case.id, Case.critical_at.is_(None))
        .values(critical_at=now, critical_reason=reason).execution_options(synchronize_session=False))
    if changed.rowcount != 1:
        db.session.refresh(case, ["critical_at", "critical_reason"])
        return False
    set_committed_value(case, "critical_at", now)
    set_committed_value(case, "critical_reason", reason)
    return True


def _hiding(case_id: int) -> bool:
    """Whether a hide of the case's post is already sent or on its way."""
    return db.session.scalar(select(Action.id).where(Action.case_id == case_id, Action.type == "hide_post",
                                                     Action.state != "dead").limit(1)) is not None


def evidence(case: Case, post: Post, reason: str) -> dict[str, Any]:
    """What was seen when the case entered the lane: the post, its scores, its reports, its author."""
    scores = db.session.execute(select(Score.model_name, Score.model_version, Score.labels, Score.scored_at)
                                .where(Score.post_id == post.id).order_by(Score.scored_at)).all()
    reports = db.session.execute(
        select(Report.external_id, Report.reporter_id, Report.reason, Report.comment, Report.received_at)
        .where(Report.post_id == post.id).order_by(Report.received_at, Report.id)).all()
    author = db.session.scalar(select(Account).where(Account.external_id == post.author_id))
    return {
        "reason": reason, "case_id": case.id, "opened_at": case.opened_at.isoformat(),
        "due_at": case.sla_deadline.isoformat(),
        "post": {"external_id": post.external_id, "author_id": post.author_id, "text": post.text,
                 "sha256": hashlib.sha256(post.text.encode()).hexdigest(), "lang": post.lang,
                 "url": post.url, "state": post.state,
                 "created_at": post.created_at.isoformat() if post.created_at else None,
                 "received_at": post.received_at.isoformat()},
        "scores": [{"model": name, "version": version, "labels": labels, "scored_at": at.isoformat()}
                   for name, version, labels, at in scores],
        "report_count": len(reports),
        "reports": [{"id": rid, "reporter_id": reporter, "reason": why, "comment": (comment or "")[:COMMENT_CHARS],
                     "received_at": at.isoformat()} for rid, reporter, why, comment, at in reports[:REPORTS_KEPT]],
        "author": {"external_id": post.author_id, "handle": author.handle if author else None,
                   "display_name": author.display_name if author else None,
                   "state": author.state if author else None},
    }
