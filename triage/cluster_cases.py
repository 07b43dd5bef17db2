"""One case per near-duplicate cluster, on the triage side: which case a clustered post's reports go
to, and what happens to a later copy of a post whose cluster's verdict removed it.

- **Routing** (`route`): a post that joins a cluster with an open first-round case opens no case of
  its own: its reports and scores are counted on the cluster's case, whose post is the one jurors
  see. A post with a first-round case of its own keeps it (it was reported before it was clustered,
  or it was already decided), and the first member of a batch to need review opens the cluster's
  case. On PostgreSQL the batch takes a transaction lock on each cluster (in id order) before it
  looks, so two batches cannot both open a case for one cluster.
- **Later copies** (`hold_later_copies`): a new member of a cluster whose removal stands is hidden at
  once. At the policy's `auto_remove_similarity` or more (and while no spot check has paused the
  cluster) it gets a first-round case with no seats that `jury.panels.cluster_verdicts` decides under
  the standing verdict in a job after the commit; below it, a case for one juror to confirm.

The jury side (applying a cluster's verdict to its members, spot checks, a lead's reversal) is
`jury.panels.cluster_verdicts`.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select

import audit
from models import OPEN_CASE_STATES, Case, Cluster, Post, Verdict, db, utcnow
from models.rules import RULES_BY_CODE
from models.sql import advisory_locks, insert_ignore
from triage import jobs, outbox
from triage import priority as prio
from triage.policy import PolicyInForce

# Origins of a cluster member's first-round case: decided under the standing verdict without a
# juror, or confirmed by one juror. A spot check is a later round of a member decided without one.
MEMBER = "cluster"
CONFIRM = "confirm"
SPOT_CHECK = "spot_check"
APPLY_JOB = "jury.panels.cluster_verdicts.apply_job"
# A lock namespace for pg_advisory_xact_lock(namespace, cluster id), apart from the audit chain's.
# A batch takes these first; triage.cases then locks its case posts (another namespace) after them.
_LOCK_NAMESPACE = 23_023


def route(post_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """({post: the post whose case it goes to}, {case post: cluster}) for these posts.

    A clustered post without a first-round case goes to its cluster's case post (the post of the
    cluster's open case, else the batch's first such member); any other post to itself."""
    clustered = dict(db.session.execute(
        select(Post.id, Post.cluster_id).where(Post.id.in_(post_ids), Post.cluster_id.is_not(None))).all())
    if not clustered:
        return {post_id: post_id for post_id in post_ids}, {}
    lock_clusters(sorted(set(clustered.values())))
    with_case = set(db.session.scalars(select(Case.post_id).where(Case.post_id.in_(list(clustered)),
                                                                   Case.review_round == 0)))
    lead = dict(db.session.execute(
        select(Case.cluster_id, func.min(Case.post_id)).where(
            Case.cluster_id.in_(set(clustered.values())), Case.review_round == 0,
            Case.state.in_(OPEN_CASE_STATES), Case.origin.not_in((MEMBER, CONFIRM)))
        .group_by(Case.cluster_id)).all())
    for post_id in sorted(clustered):
        if post_id not in with_case:
            lead.setdefault(clustered[post_id], post_id)
    routes = {post_id: lead.get(clustered.get(post_id), post_id) if post_id not in with_case else post_id
              for post_id in post_ids}
    targets = set(routes.values())
    cluster_of = {post_id: cluster_id for cluster_id, post_id in lead.items() if post_id in targets}
    # A post with its own case, alone in its cluster's review, decides for the cluster too.
    for post_id in targets:
        if post_id in clustered and clustered[post_id] not in lead:
            cluster_of[post_id] = clustered[post_id]
    return routes, cluster_of


def lock_clusters(cluster_ids: list[int]) -> None:
    """Serialise batches that open cases for the same clusters (PostgreSQL; SQLite has one writer)."""
    advisory_locks(_LOCK_NAMESPACE, cluster_ids)


def hold_later_copies(posts: Iterable[Post], policy: PolicyInForce, actor: str = "system") -> set[int]:
    """Hide each new member of a cluster whose removal stands and open its first-round case (decided
    under the standing verdict by a job, or confirmed by one juror); the ids of the posts held."""
    fresh = [post for post in posts if post.cluster_id is not None and post.state == "visible"]
    if not fresh:
        return set()
    standing = {cluster_id: (verdict, paused) for cluster_id, paused, verdict in db.session.execute(
        select(Cluster.id, Cluster.paused_at, Verdict).join(Verdict, Verdict.id == Cluster.verdict_id)
        .where(Cluster.id.in_({post.cluster_id for post in fresh}), Verdict.outcome == "remove"))}
    held = [post for post in fresh if post.cluster_id in standing]
    if not held:
        return set()
    with_case = set(db.session.scalars(select(Case.post_id).where(Case.post_id.in_([p.id for p in held]),
                                                                   Case.review_round == 0)))
    held = [post for post in held if post.id not in with_case]
    now = utcnow()
    auto_from = float(policy.cluster_settings["auto_remove_similarity"])
    rows, auto = [], {}
    for post in held:
        verdict, paused = standing[post.cluster_id]
        auto[post.id] = paused is None and (post.cluster_similarity or 0.0) >= auto_from
        rows.append(_copy_case_row(post, verdict, auto[post.id], policy, now))
    insert_ignore(Case, rows, ("post_id", "review_round"), Case.post_id)
    cases = {case.post_id: case for case in db.session.scalars(
        select(Case).where(Case.post_id.in_([post.id for post in held]), Case.review_round == 0))}
    events, clusters_to_apply = [], set()
    for post in held:
        verdict, _ = standing[post.cluster_id]
        case = cases[post.id]
        outbox.create_actions(case, post, [outbox.ActionSpec("hide_post", post.author_id, _hide_statement(verdict))],
                              actor=actor)
        events.append(audit.EventSpec("cluster_copy_held", "case", case.id, {
            "post_id": post.id, "cluster_id": post.cluster_id, "similarity": post.cluster_similarity,
            "standing_verdict_id": verdict.id, "removed_without_juror": auto[post.id]}, actor))
        if auto[post.id]:
            clusters_to_apply.add(verdict.id)
    audit.record_many(db.session, events)
    for verdict_id in sorted(clusters_to_apply):
        jobs.defer("actions", APPLY_JOB, verdict_id)
    return {post.id for post in held}


def _copy_case_row(post: Post, verdict: Verdict, auto: bool, policy: PolicyInForce, now) -> dict:
    """A later copy's first-round case: no seats (decided by the standing verdict), or one juror's."""
    severity = prio.case_severity([verdict.rule] if verdict.rule else [], None)
    base = prio.base_priority(severity, 0.0, policy.settings["priority_weights"])
    seats = 0 if auto else 1
    return {
        "post_id": post.id, "review_round": 0, "origin": MEMBER if auto else CONFIRM, "state": "queued",
        "severity": severity, "report_count": 0, "base_priority": base, "category": verdict.rule,
        "priority": base, "panel_size": seats, "open_seats": seats, "policy_version": policy.version,
        "opened_at": now, "sla_deadline": now + timedelta(hours=policy.sla_hours(severity)), "lock_version": 0,
        "cluster_id": post.cluster_id,
    }


def _hide_statement(verdict: Verdict) -> str:
    rule = RULES_BY_CODE.get(verdict.rule or "")
    title = f"'{rule.title}'" if rule else "the network's rules"
    return ("Hidden pending review: this post is a near-copy of a post removed for breaking the rule "
            f"{title}. The decision on that post is applied to its copies, and the author can appeal.")
