"""Opening cases for posts and keeping their severity and priority current."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, distinct, exists, func, select, text

import audit
from models import OPEN_CASE_STATES, Case, MutedReporter, Post, Report, Score, db, utcnow
from models.sql import advisory_locks, insert_ignore
from triage import cluster_cases, critical, reporters, transaction
from triage import priority as prio
from triage.categories import case_category
from triage.policy import SEVERITY_NAMES, PolicyInForce

# The gravest severity ("critical"): the critical lane's cases have it.
CRITICAL_SEVERITY = len(SEVERITY_NAMES) - 1
# A lock namespace for pg_advisory_xact_lock(namespace, case post id), apart from the clusters'
# (triage.cluster_cases, 23_023) and the audit chain's.
_POST_LOCK_NAMESPACE = 23_024


def latest_labels(post_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """The most recent model scores of each post."""
    ids = list(post_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Score.post_id, Score.labels).where(Score.post_id.in_(ids)).order_by(Score.scored_at)
    ).all()
    return {post_id: labels for post_id, labels in rows}


def reporter_not_muted():
    """SQL condition on Report: its reporter is not muted (muted reports are kept but count for nothing)."""
    return ~exists().where(MutedReporter.reporter_id == Report.reporter_id)


def reports_of(post_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """Every (reporter_id, reason) per post, from reporters who are not muted."""
    ids = list(post_ids)
    reports: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if ids:
        for post_id, reporter_id, reason in db.session.execute(
            select(Report.post_id, Report.reporter_id, Report.reason).where(Report.post_id.in_(ids),
                                                                           reporter_not_muted())
        ):
            reports[post_id].append((reporter_id, reason))
    return reports


def distinct_reports(reports: Iterable[tuple[str, str]]) -> tuple[int, list[str]]:
    """How many distinct reporters, and each reason once per reporter who gave it (sorted).

    Severity, category and priority are built from these, so one reporter who reports a post
    twenty times weighs what one report weighs. Every report has a reporter_id (intake refuses
    one without); a network that sends one id for all its anonymous users gets one reporter.
    """
    pairs = set(reports)
    return len({reporter for reporter, _ in pairs}), sorted(reason for _, reason in pairs)


def reporter_count(post_id: int) -> int:
    """Distinct reporters of a post who are not muted (what a case's priority counts)."""
    return db.session.scalar(select(func.count(distinct(Report.reporter_id)))
                             .where(Report.post_id == post_id, reporter_not_muted())) or 0


def open_or_refresh(post_ids: Iterable[int], origin: str, policy: PolicyInForce, actor: str,
                    labels: dict[int, dict[str, float]] | None = None) -> list[Case]:
    """Make sure each post has its first-round case, and refresh open cases' priority.

    One case per post, and one per near-duplicate cluster (triage.cluster_cases): later reports
    raise its priority rather than opening another. `labels`: the posts' latest scores when the
    caller has just computed them (else they are read). Returns the cases that are open after the call.
    """
    ids = sorted(set(post_ids))
    if not ids:
        return []
    now = utcnow()
    ids, cluster_of, reports, labels = _gather(ids, policy, labels)
    weigh = _reporter_weigher(reports, policy)
    lane = {post_id: critical.reason_for(reports.get(post_id, []), labels.get(post_id), policy.settings["critical"])
            for post_id in ids}
    rows = [_case_row(post_id, reports.get(post_id, []), labels.get(post_id), origin, policy, now, weigh,
                      lane[post_id] is not None) | {"cluster_id": cluster_of.get(post_id)} for post_id in ids]
    created = set(insert_ignore(Case, rows, ("post_id", "review_round"), Case.post_id))
    cases = db.session.scalars(
        select(Case).where(Case.post_id.in_(ids), Case.review_round == 0)
    ).all()
    by_post = {row["post_id"]: row for row in rows}
    events = []
    open_cases = []
    entering: list[tuple[Case, datetime]] = []  # cases that join the critical lane, and their deadline before
    for case in cases:
        row = by_post[case.post_id]
        if case.critical_at is not None and not lane[case.post_id]:
            # Once in the lane, always: a muted reporter or a new score does not take it out.
            lane[case.post_id] = case.critical_reason or "critical"
            row = _case_row(case.post_id, reports.get(case.post_id, []), labels.get(case.post_id), origin, policy,
                            now, weigh, True)
        if case.state in OPEN_CASE_STATES and lane[case.post_id] and case.critical_at is None:
            entering.append((case, case.sla_deadline))
        if case.state in OPEN_CASE_STATES and case.category != row["category"]:
            case.category = row["category"]
        if case.state in OPEN_CASE_STATES and case.cluster_id is None and row["cluster_id"] is not None:
            case.cluster_id = row["cluster_id"]  # its post joined a cluster after the case opened
        if case.post_id in created:
            events.append(audit.EventSpec("case_opened", "case", case.id, {
                "post_id": case.post_id, "origin": case.origin, "severity": case.severity,
                "priority": round(case.priority, 3), "policy_version": case.policy_version,
            }, actor))
        elif case.state in OPEN_CASE_STATES and (
            case.severity != row["severity"] or case.report_count != row["report_count"]
            or (lane[case.post_id] and case.critical_at is None)
        ):
            events.append(_reprioritise(case, row, policy, now, actor))
        if case.state in OPEN_CASE_STATES:
            open_cases.append(case)
    audit.record_many(db.session, events)
    _critical_lane(entering, open_cases, lane, set(cluster_of), policy, now, actor)
    return open_cases


def _critical_lane(entering: list[tuple[Case, datetime]], open_cases: list[Case], lane: dict[int, str | None],
                   routed_to: set[int], policy: PolicyInForce, now: datetime, actor: str) -> None:
    """Put the entering cases in the lane, and hide the copies just routed to a case already in it."""
    for case, deadline in entering:
        # Due within the critical SLA of joining the lane (a case that joins late is not born overdue).
        case.sla_deadline = min(deadline, now + timedelta(hours=policy.sla_hours(CRITICAL_SEVERITY)))
        critical.enter(case, case.post, lane[case.post_id], now, actor)
    joined = {case.id for case, _ in entering}
    for case in open_cases:
        # Copies routed to a case already in the lane are hidden as they come, like its own post.
        if case.critical_at is not None and case.id not in joined and case.post_id in routed_to:
            critical.hide_copies(case, actor)


def _gather(ids: list[int], policy: PolicyInForce, labels: dict[int, dict[str, float]] | None):
    """(the posts whose cases to open or refresh, {case post: cluster}, their reports, their scores): a
    copy goes to its cluster's case, which counts its reports and its graver scores."""
    routes, cluster_of = cluster_cases.route(ids) if policy.clustering else ({i: i for i in ids}, {})
    ids = sorted(set(routes.values()))
    _lock_posts(ids)  # after route()'s cluster locks: cluster locks first, then post locks
    reports = reports_of(ids)
    for post_id, more in _member_reports(cluster_of).items():
        reports[post_id].extend(more)
    return ids, cluster_of, reports, _with_members(routes, labels)


def _lock_posts(post_ids: list[int]) -> None:
    """Serialise batches that count the reports of the same case posts (PostgreSQL; SQLite has one
    writer). Each batch reads its posts' reports and writes the count: without the lock two batches
    at once each miss the other's uncommitted report, and the last to commit leaves the case's
    report_count and priority one report short. Taken in post id order, and after route()'s cluster
    locks: every batch takes cluster locks before post locks, each kind in id order, so no two wait
    for each other."""
    advisory_locks(_POST_LOCK_NAMESPACE, post_ids)


def _member_reports(cluster_of: dict[int, int]) -> dict[int, list[tuple[str, str]]]:
    """The (reporter, reason) pairs of each cluster case's other members without a case of their own,
    whose reports count on the cluster's case (muted reporters count nothing)."""
    if not cluster_of:
        return {}
    own_case = exists().where(Case.post_id == Post.id, Case.review_round == 0)
    rows = db.session.execute(
        select(Post.cluster_id, Report.reporter_id, Report.reason).join(Post, Post.id == Report.post_id)
        .where(Post.cluster_id.in_(set(cluster_of.values())), Post.id.not_in(list(cluster_of)), ~own_case,
               reporter_not_muted()))
    post_of = {cluster_id: post_id for post_id, cluster_id in cluster_of.items()}
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for cluster_id, reporter, reason in rows:
        found[post_of[cluster_id]].append((reporter, reason))
    return found


def _with_members(routes: dict[int, int], labels: dict[int, dict[str, float]] | None) -> dict[int, dict[str, float]]:
    """Each case post's scores: its own (read when the caller has none), raised to the highest of the
    members routed to it in this batch, so a graver copy makes its cluster's case graver."""
    known = dict(labels or {})
    missing = [post_id for post_id in set(routes.values()) if post_id not in known]
    known.update(latest_labels(missing))
    combined = {post_id: dict(known.get(post_id) or {}) for post_id in set(routes.values())}
    for member, target in routes.items():
        if member != target:
            for label, value in (known.get(member) or {}).items():
                combined[target][label] = max(float(value), float(combined[target].get(label, 0.0)))
    return {post_id: value for post_id, value in combined.items() if value or post_id in known}


def _reporter_weigher(reports: dict[int, list[tuple[str, str]]],
                      policy: PolicyInForce) -> Callable[[Iterable[str]], float]:
    """How many reporters a post's priority counts: each one as one, or by their record when the
    policy's reporter_accuracy weight is on (the records of all the batch's reporters read at once)."""
    weight = policy.settings["priority_weights"].get("reporter_accuracy", 0.0)
    if weight <= 0:
        return lambda ids: float(len(set(ids)))
    known = reporters.records(reporter for rows in reports.values() for reporter, _ in rows)
    return lambda ids: reporters.weighted_reporters(ids, weight, known)


def _case_row(post_id: int, reports: list[tuple[str, str]], labels: dict[str, float] | None, origin: str,
              policy: PolicyInForce, now: datetime, weigh: Callable[[Iterable[str]], float],
              in_lane: bool = False) -> dict:
    """The first-round case a post would open with, as a row to insert."""
    # report_count shows every report; severity, category and priority count each reporter once
    # (or by the reporter's record, when the policy weighs it).
    count = len(reports)
    _, reasons = distinct_reports(reports)
    severity = CRITICAL_SEVERITY if in_lane else prio.case_severity(reasons, labels)
    base = prio.base_priority(severity, weigh(reporter for reporter, _ in reports),
                              policy.settings["priority_weights"]) + (critical.PRIORITY_BOOST if in_lane else 0.0)
    return {
        "post_id": post_id, "review_round": 0,
        "origin": "reported" if count else origin, "state": "queued",
        "severity": severity, "report_count": count, "base_priority": base,
        "category": case_category(reasons, labels),
        "priority": base, "panel_size": policy.opening_seats, "open_seats": policy.opening_seats,
        "policy_version": policy.version, "opened_at": now,
        "sla_deadline": now + timedelta(hours=policy.sla_hours(severity)), "lock_version": 0,
    }


def _reprioritise(case: Case, row: dict, policy: PolicyInForce, now: datetime, actor: str) -> audit.EventSpec:
    """Bring an open case up to its post's reports (severity, count, priority); its audit event."""
    # Graver news shortens the SLA; it never lengthens one already running.
    deadline = case.opened_at + timedelta(hours=policy.sla_hours(row["severity"]))
    case.sla_deadline = min(case.sla_deadline, deadline)
    case.severity = row["severity"]
    case.report_count = row["report_count"]
    case.base_priority = row["base_priority"]
    fraction = prio.age_fraction((now - case.opened_at).total_seconds(),
                                 (case.sla_deadline - case.opened_at).total_seconds())
    case.priority = prio.priority(case.base_priority, fraction, policy.settings["priority_weights"])
    return audit.EventSpec("case_reprioritised", "case", case.id, {
        "severity": case.severity, "report_count": case.report_count,
        "priority": round(case.priority, 3),
    }, actor)


REFRESH_BATCH = 2000
# A case's priority is rewritten only when its age term moved by at least this much. Rewriting
# every open case every sweep (20,000 rows every 15 s in the load test) was most of PostgreSQL's
# writes: each update is a new row version and two index entries. Dealing draws among cases
# within DEAL_BAND (2.5) of the top, so a priority this stale deals no differently; with the
# default weights a case is rewritten every few minutes, the most urgent ones every sweep.
REFRESH_TOLERANCE = 0.05


def refresh_priorities(policy: PolicyInForce, batch: int = REFRESH_BATCH) -> int:
    """Recompute the age term of open cases' priorities, one committed batch at a time; returns
    how many changed (those whose age term moved by REFRESH_TOLERANCE or more).

    A single statement over every open case held all their row locks until the sweep committed, so
    every vote and deal on an open case waited for it (seconds, with a backlog of thousands). Now
    each batch commits at once, and on PostgreSQL it skips the rows a vote or a deal holds at that
    moment: the next sweep refreshes those.
    """
    bind = db.session.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        age = "EXTRACT(EPOCH FROM (now() - opened_at))"
        sla = "GREATEST(EXTRACT(EPOCH FROM (sla_deadline - opened_at)), 1)"
        fraction = f"LEAST({prio.MAX_AGE_FRACTION}, GREATEST(0, {age} / {sla}))"
    else:
        age = "((julianday('now') - julianday(opened_at)) * 86400.0)"
        sla = "MAX(((julianday(sla_deadline) - julianday(opened_at)) * 86400.0), 1)"
        fraction = f"MIN({prio.MAX_AGE_FRACTION}, MAX(0, {age} / {sla}))"
    # S608: the interpolated SQL is built from constants only; values are bound parameters.
    new_priority = f"base_priority + :w * {fraction}"
    # Only rows that need it are picked (and so locked: a lock is a write too).
    pick = (select(Case.id).where(Case.state.in_(("queued", "in_review")), Case.id > bindparam("after"),
                                  text(f"abs(priority - ({new_priority})) >= :tolerance"))
            .order_by(Case.id).limit(batch))
    if postgresql:
        pick = pick.with_for_update(skip_locked=True)
    refresh = text(f"UPDATE cases SET priority = {new_priority} WHERE id IN :ids"  # noqa: S608
                   ).bindparams(bindparam("ids", expanding=True))
    values = {"w": policy.weight("age"), "tolerance": REFRESH_TOLERANCE}
    refreshed, after = 0, 0
    while True:
        with transaction.atomic(durable=True):
            ids = list(db.session.scalars(pick, {"after": after, **values}))
            if ids:
                db.session.execute(refresh, {**values, "ids": ids})
        if not ids:
            return refreshed
        refreshed, after = refreshed + len(ids), ids[-1]
