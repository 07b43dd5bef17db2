"""The network's own moderation figures for a period, read from the database (no Flask)."""
from __future__ import annotations

import hashlib
import hmac
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.log import chain_head, verify_chain
from models import Action, Appeal, AuditEvent, Case, Policy, Post, Report, Score, User, Verdict, Vote
from models.rules import RULES_BY_CODE


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def hours(delta: timedelta) -> float:
    """A duration in hours."""
    return delta.total_seconds() / 3600.0


def pseudonym(key: str, user_id: int) -> str:
    """A stable juror pseudonym that cannot be turned back into an account without the key."""
    return "J-" + hmac.new(key.encode(), f"juror:{user_id}".encode(), hashlib.sha256).hexdigest()[:8]


@dataclass
class Figures:
    """Everything the app-store report and the transparency summary print."""

    start: datetime
    end: datetime
    generated_at: datetime
    audit_head_event: int
    audit_head_hash: str
    audit_chain_intact: bool
    audit_events_checked: int
    # Filtering
    scorer: str
    models_used: dict[str, int]
    auto_flag_thresholds: dict[str, float]
    interim_hide_thresholds: dict[str, float]
    policy_version: int
    posts_received: int
    posts_scored: int
    cases_auto_flagged: int
    posts_hidden: int
    # Reports
    reports_received: int
    reports_by_reason: dict[str, int]
    reports_decided: int
    median_hours_to_action: float | None
    p90_hours_to_action: float | None
    share_actioned_24h: float | None
    median_hours_to_removal: float | None  # report to the removal applied on the network
    decisions: int
    copy_decisions: int  # of them, a cluster's decision applied to a near-copy (method "cluster")
    removals: int
    keeps: int
    removals_by_rule: dict[str, int]
    removals_by_detection: dict[str, int]
    # Account-level actions sent to the network, by type
    account_actions: dict[str, int]
    # Accounts the network applied a measure to in the period (each once per kind), and the hours
    # from the removal that crossed a threshold to the measure applied.
    accounts_warned: int
    accounts_suspended: int
    accounts_banned: int
    median_hours_to_account_action: float | None
    p90_hours_to_account_action: float | None
    # Appeals
    appeals_received: int
    appeals_overturned: int
    appeals_upheld: int
    appeals_pending: int
    appeals_median_hours: float | None
    appeals_by_rule: dict[str, int]
    # Jury
    jurors_total: int
    jurors_by_state: dict[str, int]
    jurors_voting: int
    votes_cast: int
    agreement_with_verdict: float | None
    gold_cases: int
    top_jurors: list[dict[str, Any]] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)
    action_buckets: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        for key in ("start", "end", "generated_at"):
            data[key] = data[key].isoformat()
        return data


BUCKETS = (("< 1 h", 1), ("1-4 h", 4), ("4-24 h", 24), ("1-3 days", 72), ("> 3 days", float("inf")))


def _bucket(value: float) -> str:
    return next(name for name, upper in BUCKETS if value < upper)


def compute(session: Session, start: datetime, end: datetime, *, scorer: str = "sklearn",
            pseudonym_key: str = "jury") -> Figures:
    """Read every figure for [start, end)."""
    period = _Period(session, start, end)
    reports = session.execute(select(Report.received_at, Report.reason, Report.post_id)
                              .where(*period.of(Report.received_at))).all()
    verdicts = session.execute(
        select(Verdict.id, Verdict.outcome, Verdict.rule, Verdict.decided_at, Case.origin, Case.report_count,
               Verdict.method)
        .join(Case, Case.id == Verdict.case_id)
        # First decisions only: an appeal or a spot check looks again at one already counted.
        .where(*period.of(Verdict.decided_at), Case.origin.not_in(("appeal", "spot_check")))
    ).all()
    return Figures(
        start=start, end=end, generated_at=datetime.now(start.tzinfo), scorer=scorer,
        **_audit_and_policy(session), **_scoring(period), **_reports(period, reports),
        **_decisions(period, verdicts), **account_measures(session, start, end), **_appeals(period),
        **_jurors(period, pseudonym_key),
        daily=_daily(start, end, reports, verdicts),
    )


class _Period:
    """The session and the half-open period [start, end) every figure is read for."""

    def __init__(self, session: Session, start: datetime, end: datetime) -> None:
        self.session, self.start, self.end = session, start, end

    def of(self, column) -> tuple:
        """The conditions that put `column` inside the period."""
        return column >= self.start, column < self.end

    def count(self, statement) -> int:
        """A count query's answer (0 for none)."""
        return self.session.scalar(statement) or 0


def _audit_and_policy(session: Session) -> dict:
    checked, broken = verify_chain(session)
    head_id, head_hash = chain_head(session)
    policy = session.scalar(select(Policy).order_by(Policy.version.desc()).limit(1))
    settings = policy.settings if policy else {}
    return {"audit_head_event": head_id, "audit_head_hash": head_hash, "audit_chain_intact": broken is None,
            "audit_events_checked": checked, "policy_version": policy.version if policy else 0,
            "auto_flag_thresholds": dict(settings.get("auto_flag", {})),
            "interim_hide_thresholds": dict(settings.get("interim_hide", {}))}


def _scoring(period: _Period) -> dict:
    session = period.session
    models_used = {f"{name} {version}": count for name, version, count in session.execute(
        select(Score.model_name, Score.model_version, func.count()).where(*period.of(Score.scored_at))
        .group_by(Score.model_name, Score.model_version).order_by(Score.model_name, Score.model_version))}
    return {
        "models_used": models_used,
        "posts_received": period.count(select(func.count()).select_from(Post).where(*period.of(Post.received_at))),
        "posts_scored": period.count(select(func.count(func.distinct(Score.post_id)))
                                     .where(*period.of(Score.scored_at))),
        "cases_auto_flagged": period.count(select(func.count()).select_from(Case).where(
            Case.origin == "auto_flagged", *period.of(Case.opened_at))),
        "posts_hidden": period.count(select(func.count(func.distinct(Action.post_external_id))).where(
            Action.type == "hide_post", *period.of(Action.created_at))),
    }


def _reports(period: _Period, reports: list) -> dict:
    """Reports and how fast their post was decided (the first-instance verdict on it) and removed."""
    session = period.session
    post_ids = {r.post_id for r in reports} or {-1}
    first_round = dict(session.execute(
        select(Case.post_id, Verdict.decided_at).join(Verdict, Verdict.case_id == Case.id)
        .where(Case.review_round == 0, Case.post_id.in_(post_ids))).all())
    waits = []
    for report in reports:
        decided = first_round.get(report.post_id)
        if decided is not None and decided >= report.received_at:
            waits.append(hours(decided - report.received_at))
    within_24h = sum(1 for wait in waits if wait <= 24)
    removed_at = dict(session.execute(
        select(Action.post_external_id, func.min(Action.sent_at)).join(Case, Case.id == Action.case_id)
        .where(Action.type == "remove_post", Action.state == "sent", Case.review_round == 0,
               Case.post_id.in_(post_ids))
        .group_by(Action.post_external_id)).all())
    external = dict(session.execute(select(Post.id, Post.external_id).where(Post.id.in_(post_ids))).all())
    removal_waits = [hours(removed_at[external[r.post_id]] - r.received_at) for r in reports
                     if removed_at.get(external.get(r.post_id)) and removed_at[external[r.post_id]] >= r.received_at]
    return {
        "reports_received": len(reports),
        "reports_by_reason": dict(sorted(Counter(r.reason for r in reports).items())),
        "reports_decided": len(waits),
        "median_hours_to_action": median(waits), "p90_hours_to_action": percentile(waits, 0.9),
        "share_actioned_24h": (within_24h / len(reports)) if reports else None,
        "median_hours_to_removal": median(removal_waits),
        "action_buckets": {name: sum(1 for w in waits if _bucket(w) == name) for name, _ in BUCKETS},
    }


def _decisions(period: _Period, verdicts: list) -> dict:
    removals = [v for v in verdicts if v.outcome == "remove"]
    detection = Counter("notice" if v.report_count else "automated detection" for v in removals)
    return {
        "decisions": len(verdicts), "copy_decisions": sum(1 for v in verdicts if v.method == "cluster"),
        "removals": len(removals), "keeps": len(verdicts) - len(removals),
        "removals_by_rule": dict(sorted(Counter(v.rule or "other" for v in removals).items())),
        "removals_by_detection": dict(sorted(detection.items())),
        "account_actions": {kind: n for kind, n in period.session.execute(
            select(Action.type, func.count()).where(Action.type.in_(("warn_account", "suspend_account")),
                                                     *period.of(Action.created_at)).group_by(Action.type))},
    }


def account_measures(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Accounts warned, suspended (for a time) and banned by measures the network applied in [start,
    end), and the hours from the removal that crossed the threshold (the last of the measure's
    verdicts) to the measure's application: median and 90th percentile."""
    sent = session.execute(
        select(Action.id, Action.type, Action.account_external_id, Action.duration_days, Action.verdict_ids,
               Action.sent_at)
        .where(Action.type.in_(("warn_account", "suspend_account")), Action.state == "sent",
               Action.sent_at >= start, Action.sent_at < end)).all()
    kinds: dict[str, set[str]] = {"warned": set(), "suspended": set(), "banned": set()}
    # A measure reduced after an appeal (a ban stepped down) names an older removal last: no wait.
    reduced = {str(payload.get("action_id")) for payload in session.scalars(
        select(AuditEvent.payload).where(AuditEvent.event_type == "account_measure_reduced"))}
    crossing = []  # (sent_at, the crossing verdict's id)
    for row in sent:
        kind = "warned" if row.type == "warn_account" else "suspended" if row.duration_days else "banned"
        kinds[kind].add(row.account_external_id)
        if row.verdict_ids and str(row.id) not in reduced:
            crossing.append((row.sent_at, int(row.verdict_ids[-1])))
    decided = dict(session.execute(select(Verdict.id, Verdict.decided_at)
                                   .where(Verdict.id.in_({v for _, v in crossing}))).all()) if crossing else {}
    waits = [hours(sent_at - decided[verdict_id]) for sent_at, verdict_id in crossing if verdict_id in decided]
    return {"accounts_warned": len(kinds["warned"]), "accounts_suspended": len(kinds["suspended"]),
            "accounts_banned": len(kinds["banned"]), "median_hours_to_account_action": median(waits),
            "p90_hours_to_account_action": percentile(waits, 0.9)}


def _appeals(period: _Period) -> dict:
    session = period.session
    appeals = session.scalars(select(Appeal).where(*period.of(Appeal.created_at))).all()
    appeal_rules = Counter()
    for appeal in appeals:
        original = session.get(Verdict, appeal.verdict_id)
        appeal_rules[original.rule or "kept"] += 1
    appeal_waits = [hours(a.decided_at - a.created_at) for a in appeals if a.decided_at]
    return {
        "appeals_received": len(appeals),
        "appeals_overturned": sum(1 for a in appeals if a.state == "overturned"),
        "appeals_upheld": sum(1 for a in appeals if a.state == "upheld"),
        "appeals_pending": sum(1 for a in appeals if a.state in ("pending", "awaiting_signoff")),
        "appeals_median_hours": median(appeal_waits), "appeals_by_rule": dict(sorted(appeal_rules.items())),
    }


def _jurors(period: _Period, pseudonym_key: str) -> dict:
    session = period.session
    votes = session.execute(select(Vote.juror_id, Vote.decision, Verdict.outcome)
                            .join(Verdict, Verdict.case_id == Vote.case_id, isouter=True)
                            .where(*period.of(Vote.cast_at))).all()
    per_juror: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for juror_id, decision, outcome in votes:
        per_juror[juror_id][0] += 1
        if outcome is not None:
            per_juror[juror_id][1] += 1
            per_juror[juror_id][2] += decision == outcome
    decided_votes = sum(v[1] for v in per_juror.values())
    agreed = sum(v[2] for v in per_juror.values())
    top = sorted(per_juror.items(), key=lambda item: (-item[1][0], item[0]))[:10]
    return {
        "jurors_total": period.count(select(func.count()).select_from(User).where(User.role == "juror")),
        "jurors_by_state": {state: n for state, n in session.execute(
            select(User.state, func.count()).where(User.role == "juror").group_by(User.state))},
        "jurors_voting": len(per_juror), "votes_cast": len(votes),
        "agreement_with_verdict": (agreed / decided_votes) if decided_votes else None,
        "gold_cases": period.count(select(func.count()).select_from(Case).where(Case.origin == "gold",
                                                                                *period.of(Case.opened_at))),
        "top_jurors": [{"juror": pseudonym(pseudonym_key, juror_id), "votes": v[0],
                        "agreement": (v[2] / v[1]) if v[1] else None} for juror_id, v in top],
    }


def _daily(start: datetime, end: datetime, reports: list, verdicts: list) -> list[dict]:
    daily = []
    day = start
    report_days = Counter(r.received_at.date() for r in reports)
    decision_days = Counter(v.decided_at.date() for v in verdicts)
    while day < end and len(daily) < 400:
        daily.append({"day": day.date().isoformat(), "reports": report_days.get(day.date(), 0),
                      "decisions": decision_days.get(day.date(), 0)})
        day += timedelta(days=1)
    return daily


def rule_title(code: str) -> str:
    """A rule's title for printing."""
    rule = RULES_BY_CODE.get(code)
    return rule.title if rule else code.replace("_", " ")
