"""Bulk work on a filtered set of cases (close as unfounded) and muting spam reporters."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, exists, select

import audit
from jury.panels.quorum import Tally
from jury.panels.verdicts import record_verdict
from models import Case, MutedReporter, Post, Report, User, Vote, db
from models.errors import DomainError, NotFound
from triage import transaction
from triage.dealing import lock_and_load_case
from triage.policy import current_policy

MAX_BULK = 500
CLOSABLE_STATES = ("queued", "in_review", "escalated")


@dataclass(frozen=True)
class CaseFilter:
    """What the lead filtered by; empty fields do not filter."""

    post: str = ""  # the post's network id
    reporter: str = ""  # a reporter's network account
    reason: str = ""
    state: str = ""
    since: date | None = None
    until: date | None = None

    @property
    def empty(self) -> bool:
        """Whether nothing narrows the set (bulk actions refuse to run on everything)."""
        return not (self.post or self.reporter or self.reason or self.state or self.since or self.until)

    def as_dict(self) -> dict[str, str]:
        """For audit events and links."""
        return {k: str(v) for k, v in vars(self).items() if v}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def matching_cases(filters: CaseFilter, limit: int = MAX_BULK) -> list[Case]:
    """Cases that match every given filter, newest first."""
    query = select(Case).join(Post, Post.id == Case.post_id)
    if filters.post:
        query = query.where(Post.external_id == filters.post)
    if filters.reporter or filters.reason:
        conditions = [Report.post_id == Case.post_id]
        if filters.reporter:
            conditions.append(Report.reporter_id == filters.reporter)
        if filters.reason:
            conditions.append(Report.reason == filters.reason)
        query = query.where(exists().where(*conditions))
    if filters.state:
        query = query.where(Case.state == filters.state)
    if filters.since:
        query = query.where(Case.opened_at >= _day_start(filters.since))
    if filters.until:
        query = query.where(Case.opened_at < _day_start(filters.until + timedelta(days=1)))
    return list(db.session.scalars(query.order_by(Case.id.desc()).limit(limit)))


def close_unfounded(case_ids: list[int], lead: User, note: str) -> list[int]:
    """Keep verdicts (method 'lead') on the open cases among `case_ids`; returns those closed. Commits."""
    if not lead.is_lead:
        raise DomainError("only leads close cases in bulk")
    note = (note or "").strip()[:2000]
    if not note:
        raise DomainError("closing cases in bulk needs a reason")
    ids = sorted(set(case_ids))[:MAX_BULK]
    closed = []
    policy_version = current_policy().version
    with transaction.atomic():
        for case_id in ids:
            case = lock_and_load_case(case_id)
            if case is None or case.state not in CLOSABLE_STATES:
                continue  # decided meanwhile, or never existed: leave it alone
            tally = Tally.of(db.session.execute(
                select(Vote.decision, Vote.rule).where(Vote.case_id == case.id)).all())
            record_verdict(case, "keep", None, tally, method="lead", policy_version=policy_version,
                           actor=f"user:{lead.id}", decided_by=lead)
            closed.append(case_id)
        audit.record(db.session, "cases_closed_unfounded", "batch", closed[0] if closed else 0,
                     {"case_ids": closed, "note": note}, actor=f"user:{lead.id}")
    return closed


def mute_reporter(reporter_id: str, lead: User, reason: str) -> MutedReporter:
    """Mute a reporter: their reports are kept but no longer open or raise cases. Commits."""
    reporter_id = (reporter_id or "").strip()
    if not reporter_id or len(reporter_id) > 128:
        raise DomainError("name the reporter's network account (at most 128 characters)")
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise DomainError("muting a reporter needs a reason")
    row = db.session.scalar(select(MutedReporter).where(MutedReporter.reporter_id == reporter_id))
    if row is not None:
        return row
    row = MutedReporter(reporter_id=reporter_id, reason=reason, muted_by_id=lead.id)
    with transaction.atomic():
        db.session.add(row)
        db.session.flush()
        audit.record(db.session, "reporter_muted", "reporter", reporter_id, {"reason": reason},
                     actor=f"user:{lead.id}")
    return row


def unmute_reporter(reporter_id: str, lead: User) -> None:
    """Let a reporter's future reports count again. Commits."""
    with transaction.atomic():
        removed = db.session.execute(delete(MutedReporter).where(MutedReporter.reporter_id == reporter_id)).rowcount
        if not removed:
            raise NotFound("that reporter is not muted")
        audit.record(db.session, "reporter_unmuted", "reporter", reporter_id, {}, actor=f"user:{lead.id}")


def muted_reporters() -> list[MutedReporter]:
    """Every muted reporter, latest first."""
    return list(db.session.scalars(select(MutedReporter).order_by(MutedReporter.muted_at.desc())))
