"""The account page's read model (Ozone's subject view): one network account's state, strikes, reporting
record and history in time order; the search by id or handle; the authors behind a list of cases.

Read-only: nothing here changes a row, so nothing runs in a transaction. Every list is capped.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select

from jury.jurors.author_history import earlier_removals
from models import Account, Action, Appeal, Case, MutedReporter, Post, Report, Strike, Verdict, db, utcnow
from models.errors import NotFound
from triage import reporters
from triage.policy import current_policy
from triage.strikes import removal_confidence

# The newest events of each kind are read, at most this many, and the page shows the newest of them.
TIMELINE_LIMIT = 200
SEARCH_LIMIT = 50
STRIKES_SHOWN = 200
# Ids are at most 128 characters and handles 300: a longer query cannot match either.
QUERY_MAX_CHARS = 300


@dataclass(frozen=True)
class Event:
    """One line of the timeline."""

    at: datetime
    kind: str  # post, report_against, report_by, case, verdict, action, appeal, strike
    # The codes the line is made of (a state, a rule, a method...): the page writes them as words.
    detail: dict[str, Any] = field(default_factory=dict)
    case_id: int | None = None
    post_external_id: str | None = None


@dataclass(frozen=True)
class StrikeRow:
    """A strike with the verdict behind it and whether it still counts."""

    strike: Strike
    case_id: int
    status: str  # active, expired, withdrawn
    confidence: float | None = None  # how sure the removal's decision was (None: a lead's)


@dataclass(frozen=True)
class ReporterRecord:
    """What the account's reports came to (Discourse weighs a flag by its flagger's accuracy), whether
    the reporter is muted, and what one report of theirs weighs in a priority under the policy."""

    reports: int
    decided: int
    upheld: int
    muted: MutedReporter | None
    priority_weight: float = 1.0
    accuracy_weight: float = 0.0  # the policy's priority_weights.reporter_accuracy

    @property
    def upheld_share(self) -> float | None:
        """Upheld reports among those whose post has a first-instance verdict (None before any)."""
        return self.upheld / self.decided if self.decided else None


@dataclass(frozen=True)
class AccountPage:
    """Everything the account page shows."""

    external_id: str
    account: Account | None  # None: a reporter who never posted has no account row
    strikes: list[StrikeRow]
    active_weight: float
    ladder_calls_for: str
    reporter: ReporterRecord
    timeline: list[Event]
    limit: int
    truncated: bool
    counts: dict[str, int] = field(default_factory=dict)


def account_page(external_id: str, now: datetime | None = None, limit: int = TIMELINE_LIMIT) -> AccountPage:
    """The page of one account, by the network's id; NotFound when the id appears nowhere."""
    now = now or utcnow()
    external_id = external_id[:QUERY_MAX_CHARS]
    account = db.session.scalar(select(Account).where(Account.external_id == external_id))
    if account is None and not _known(external_id):
        raise NotFound("No such account.")
    strikes = _strikes(account, now)
    active = sum(row.strike.weight for row in strikes if row.status == "active")
    events = _timeline(external_id, account, strikes, limit)
    timeline = sorted(events, key=lambda event: event.at)[-limit:]
    return AccountPage(
        external_id=external_id, account=account, strikes=strikes, active_weight=active,
        ladder_calls_for=_describe(current_policy().strikes.step_for(active)),
        reporter=reporter_record(external_id), timeline=timeline, limit=limit,
        truncated=len(events) > limit or _any_capped(events, limit),
        counts={"posts": _count_posts(external_id), "removals": earlier_removals(external_id)})


def _known(external_id: str) -> bool:
    """Whether the id wrote a post or a report here (an account row is made at intake, a reporter's is not)."""
    return bool(db.session.scalar(select(
        or_(exists().where(Post.author_id == external_id), exists().where(Report.reporter_id == external_id)))))


def _describe(measure) -> str:
    if measure.kind == "suspend":
        return f"suspend for {measure.days} days"
    return {"none": "nothing", "warn": "a warning", "ban": "a ban"}[measure.kind]


def _strikes(account: Account | None, now: datetime) -> list[StrikeRow]:
    if account is None:
        return []
    rows = db.session.execute(
        select(Strike, Verdict.case_id, Verdict.method, Verdict.posterior)
        .join(Verdict, Verdict.id == Strike.verdict_id)
        .where(Strike.account_id == account.id).order_by(Strike.created_at.desc(), Strike.id.desc())
        .limit(STRIKES_SHOWN)).all()
    return [StrikeRow(strike, case_id, _status(strike, now), removal_confidence(method, posterior))
            for strike, case_id, method, posterior in rows]


def _status(strike: Strike, now: datetime) -> str:
    if strike.withdrawn_at is not None:
        return "withdrawn"
    return "active" if strike.expires_at > now else "expired"


def _authored_cases(external_id: str):
    return select(Case.id).join(Post, Post.id == Case.post_id).where(Post.author_id == external_id)


def _timeline(external_id: str, account: Account | None, strikes: list[StrikeRow], limit: int) -> list[Event]:
    """The newest `limit` events of each kind (each query is capped; the caller keeps the newest overall)."""
    events: list[Event] = []
    for post in db.session.scalars(select(Post).where(Post.author_id == external_id)
                                   .order_by(Post.received_at.desc()).limit(limit)):
        events.append(Event(post.received_at, "post", {"state": post.state}, None, post.external_id))
    events += _reports(Post.author_id == external_id, "report_against", limit)
    events += _reports(Report.reporter_id == external_id, "report_by", limit)
    authored = _authored_cases(external_id)
    for case, post_id in db.session.execute(select(Case, Post.external_id).join(Post, Post.id == Case.post_id)
                                            .where(Post.author_id == external_id)
                                            .order_by(Case.opened_at.desc()).limit(limit)):
        events.append(Event(case.opened_at, "case", {"origin": case.origin, "state": case.state}, case.id, post_id))
    for verdict in db.session.scalars(select(Verdict).where(Verdict.case_id.in_(authored))
                                      .order_by(Verdict.decided_at.desc()).limit(limit)):
        events.append(Event(verdict.decided_at, "verdict", {"outcome": verdict.outcome, "rule": verdict.rule,
                                                            "method": verdict.method}, verdict.case_id))
    for action in db.session.scalars(
            select(Action).where(or_(Action.account_external_id == external_id, Action.case_id.in_(authored)))
            .order_by(Action.created_at.desc()).limit(limit)):
        events.append(Event(action.created_at, "action", {"type": action.type, "state": action.state},
                            action.case_id, action.post_external_id))
    for appeal in db.session.scalars(
            select(Appeal).where(or_(Appeal.appellant_account_id == external_id, Appeal.case_id.in_(authored)))
            .order_by(Appeal.created_at.desc()).limit(limit)):
        events.append(Event(appeal.created_at, "appeal", {"role": appeal.appellant_role, "state": appeal.state},
                            appeal.case_id))
    for row in strikes:
        events.append(Event(row.strike.created_at, "strike",
                            {"weight": row.strike.weight, "rule": row.strike.rule, "status": row.status}, row.case_id))
    return events


def _reports(condition, kind: str, limit: int) -> list[Event]:
    rows = db.session.execute(select(Report, Post.external_id).join(Post, Post.id == Report.post_id)
                              .where(condition).order_by(Report.received_at.desc()).limit(limit))
    return [Event(report.received_at, kind, {"reason": report.reason}, None, post_id) for report, post_id in rows]


def _any_capped(events: list[Event], limit: int) -> bool:
    """Whether some kind filled its cap, so that older events of it may exist unread."""
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event.kind] = kinds.get(event.kind, 0) + 1
    return any(count >= limit for count in kinds.values())


def _count_posts(external_id: str) -> int:
    return db.session.scalar(select(func.count(Post.id)).where(Post.author_id == external_id)) or 0


def reporter_record(reporter_id: str) -> ReporterRecord:
    """Reports made, how many reached a first-instance verdict, how many of those removed the post."""
    found = reporters.record(reporter_id)
    muted = db.session.scalar(select(MutedReporter).where(MutedReporter.reporter_id == reporter_id))
    accuracy_weight = float(current_policy().settings["priority_weights"].get("reporter_accuracy", 0.0))
    return ReporterRecord(reports=found.reports, decided=found.decided, upheld=found.upheld, muted=muted,
                          priority_weight=0.0 if muted else found.weight(accuracy_weight),
                          accuracy_weight=accuracy_weight)


@dataclass(frozen=True)
class SearchResult:
    """Accounts whose id or handle contains the query, and the exact id match if there is one."""

    query: str
    exact: str | None
    accounts: list[Account]
    truncated: bool


def search(query: str) -> SearchResult:
    """Accounts by id or handle (a leading @ is ignored), at most SEARCH_LIMIT; an exact id first."""
    query = (query or "").strip()[:QUERY_MAX_CHARS]
    if not query:
        return SearchResult("", None, [], False)
    exact = query if (db.session.scalar(select(Account.id).where(Account.external_id == query))
                      or _known(query)) else None
    pattern = "%" + _escape_like(query.removeprefix("@").lower()) + "%"
    found = list(db.session.scalars(
        select(Account).where(or_(func.lower(Account.external_id).like(pattern, escape="\\"),
                                  func.lower(Account.handle).like(pattern, escape="\\")))
        .order_by(Account.updated_at.desc(), Account.id.desc()).limit(SEARCH_LIMIT + 1)))
    return SearchResult(query, exact, found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def case_authors(case_ids: Iterable[int]) -> dict[int, str]:
    """case id → its post's author id, for lists that link each row to the author's page."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    return dict(db.session.execute(select(Case.id, Post.author_id).join(Post, Post.id == Case.post_id)
                                   .where(Case.id.in_(ids))).all())
