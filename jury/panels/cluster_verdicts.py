"""One verdict for a flood of copies: a cluster case's verdict applied to each member, later copies
removed under it, spot checks of those removals, and a lead's reversal for the whole cluster.

- **Each member its own decision.** When a cluster's case is decided (jury.panels.verdicts'
  follow-up calls `after_case_verdict`), a removal becomes the cluster's *standing verdict* and a job
  (`apply_job`) gives every member without a case of its own a decided first-round case and a
  verdict of method ``cluster`` that names the decision it follows (``source_verdict_id``): its own
  network action, its own statement of reasons, its own appeal link, and a strike on its own author.
  A kept post's members are decided too where someone reported them (their reporters are told) or
  where a copy was hidden in the interim (it is shown again). The job takes CHUNK members a
  transaction and queues itself again after MAX_CHUNKS, so a cluster of 100,000 copies never holds
  one long transaction; it stops as soon as the removal no longer stands.
- **Later copies** (triage.cluster_cases holds them): a copy that arrives after the removal is hidden
  at once; at ``clusters.auto_remove_similarity`` or more this job removes it under the standing
  verdict, below it one juror confirms (`one_juror_decision`).
- **Spot checks.** A ``clusters.spot_check_share`` of the members removed without a juror of their
  own get a later-round case for one juror. A juror who keeps the post pauses the cluster's
  removals (later copies then all go to a juror) and escalates the check to a lead; the lead's
  keep restores that member, the lead's removal resumes the cluster.
- **Reversal.** A lead can reverse the standing verdict (`reverse`): every member it removed, and
  the cluster case's own post, is restored with its strike withdrawn, by `reverse_job` in chunks.
  A successful appeal on one member restores that member only (jury.appeals).
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

import audit
from jury.panels import statements
from jury.panels.quorum import Decision, Tally, winning_rule
from models import Action, AuditEvent, Case, Cluster, Post, Report, User, Verdict, db, utcnow
from models.errors import Conflict, Forbidden, NotFound
from models.rules import RULES_BY_CODE
from models.sql import insert_ignore
from triage import account_measures, jobs, outbox, transaction
from triage.cluster_cases import APPLY_JOB, CONFIRM, MEMBER, SPOT_CHECK
from triage.policy import current_policy

CHUNK = 200
MAX_CHUNKS = 25
REVERSE_JOB = "jury.panels.cluster_verdicts.reverse_job"
REASON_CHARS = 2000
# How far back the sweeper looks for a cluster verdict whose copies still wait (requeue_lost).
RECOVER_HOURS = 24
ONE_JUROR = (CONFIRM, SPOT_CHECK)


def after_case_verdict(verdict: Verdict, case: Case) -> None:
    """In the verdict's follow-up transaction: a cluster case's removal stands for its cluster, and
    the job that applies the verdict to the members is queued."""
    if case.cluster_id is None or case.origin in (MEMBER, CONFIRM) or case.review_round != 0:
        return
    cluster = _lock_cluster(case.cluster_id)
    if verdict.outcome == "remove":
        cluster.verdict_id, cluster.paused_at, cluster.reversed_at = verdict.id, None, None
    audit.record(db.session, "cluster_verdict", "cluster", cluster.id, {
        "verdict_id": verdict.id, "case_id": case.id, "outcome": verdict.outcome,
        "member_count": cluster.member_count}, actor="system")
    jobs.defer("actions", APPLY_JOB, verdict.id)


def apply_job(verdict_id: int) -> int:
    """Decide the cluster's waiting members under this verdict, CHUNK per transaction; how many."""
    done = 0
    for _ in range(MAX_CHUNKS):
        with transaction.atomic(durable=True):
            verdict = db.session.get(Verdict, verdict_id)
            if verdict is None:
                return done
            case = db.session.get(Case, verdict.case_id)
            cluster = _lock_cluster(case.cluster_id)
            if verdict.outcome == "remove" and cluster.verdict_id != verdict.id:
                return done  # reversed (or a later removal stands): nothing more under this one
            members = _waiting(cluster, case, verdict.outcome)
            if not members:
                return done
            action_ids = _apply(verdict, case, members)
        outbox.deliver_each(action_ids)
        done += len(members)
    with transaction.atomic(durable=True):
        jobs.defer("actions", APPLY_JOB, verdict_id)  # more may wait: the next job goes on
    return done


def requeue_lost(now=None) -> int:
    """Queue again the jobs of clusters whose job was lost (the sweeper): a removal with a later copy
    held longer than LOST_AFTER, or decided in the last RECOVER_HOURS with copies still waiting; a
    keep of the last RECOVER_HOURS with reported or hidden copies still waiting; a reversal of the
    last RECOVER_HOURS with copies not yet restored. A job run twice does nothing twice (the
    cluster's lock, one first-round case a post, one restoration a case)."""
    now = now or utcnow()
    stale = now - jobs.lost_after()
    since = now - timedelta(hours=RECOVER_HOURS)
    held = select(Cluster.verdict_id).join(Case, Case.cluster_id == Cluster.id).where(
        Case.origin == MEMBER, Case.review_round == 0, Case.state == "queued", Case.opened_at <= stale,
        Cluster.verdict_id.is_not(None))
    own_case = exists().where(Case.post_id == Post.id, Case.review_round == 0)
    waiting = select(Cluster.verdict_id).join(Verdict, Verdict.id == Cluster.verdict_id).where(
        Verdict.decided_at >= since, Verdict.followed_up_at <= stale,
        exists().where(Post.cluster_id == Cluster.id, ~own_case))
    # A keep sets no standing verdict: its cluster case's verdict is found by its follow-up (indexed).
    kept = select(Verdict.id).join(Case, Case.id == Verdict.case_id).where(
        Verdict.outcome == "keep", Verdict.followed_up_at.between(since, stale), Verdict.decided_at >= since,
        Case.cluster_id.is_not(None), Case.review_round == 0, Case.origin.not_in((MEMBER, CONFIRM)),
        exists().where(_waiting_for(Case.cluster_id, Case.id, Case.post_id, "keep")))
    unrestored = select(Cluster.id, Cluster.reversed_verdict_id).where(
        Cluster.reversed_at.between(since, stale), Cluster.verdict_id.is_(None),
        exists().where(_removed_not_restored(Cluster.reversed_verdict_id)))
    with transaction.atomic(durable=True):
        ids = sorted(set(db.session.scalars(held.distinct())) | set(db.session.scalars(waiting))
                     | set(db.session.scalars(kept)))
        for verdict_id in ids:
            jobs.defer("actions", APPLY_JOB, verdict_id)
        reversals = db.session.execute(unrestored).all()
        for cluster_id, verdict_id in reversals:
            reason, actor = _reversal(cluster_id)
            jobs.defer("actions", REVERSE_JOB, verdict_id, reason, actor)
    return len(ids) + len(reversals)


def _removed_not_restored(verdict_id):
    """SQL condition: a removal under this verdict (its own or a copy's) not restored yet."""
    restored = exists().where(Action.case_id == Verdict.case_id, Action.type == "restore_post")
    return and_((Verdict.id == verdict_id) | (Verdict.source_verdict_id == verdict_id),
                Verdict.outcome == "remove", ~restored)


def _reversal(cluster_id: int) -> tuple[str, str]:
    """The reason and the lead of a cluster's latest reversal, from its audit event."""
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.event_type == "cluster_reversed", AuditEvent.subject_type == "cluster",
        AuditEvent.subject_id == str(cluster_id)).order_by(AuditEvent.id.desc()).limit(1))
    return (event.payload.get("reason", ""), event.actor) if event else ("", "system")


def _lock_cluster(cluster_id: int) -> Cluster:
    """The cluster, locked: its members are decided and its verdict changed one transaction at a time."""
    return db.session.get(Cluster, cluster_id, with_for_update=True, populate_existing=True)


def _waiting(cluster: Cluster, case: Case, outcome: str) -> list[tuple[Post, Case | None]]:
    """Up to CHUNK members waiting for this verdict: those without a first-round case (for a keep,
    only those reported or hidden meanwhile), then later copies held for it."""
    query = select(Post).where(_waiting_for(cluster.id, case.id, case.post_id, outcome))
    members: list[tuple[Post, Case | None]] = [
        (post, None) for post in db.session.scalars(query.order_by(Post.id).limit(CHUNK))]
    if outcome == "remove" and len(members) < CHUNK:
        held = db.session.execute(
            select(Post, Case).join(Case, Case.post_id == Post.id).where(
                Case.cluster_id == cluster.id, Case.origin == MEMBER, Case.review_round == 0,
                Case.state == "queued").order_by(Case.id).limit(CHUNK - len(members))).all()
        members.extend((post, held_case) for post, held_case in held)
    return members


def _waiting_for(cluster_id, case_id, case_post_id, outcome: str):
    """SQL condition on Post: a member of the cluster (the case's own post aside) without a
    first-round case of its own; for a keep, only one reported (its reporters are told), hidden
    meanwhile, or with a hide on its way (shown again). Values for the job, columns for the sweeper."""
    own = aliased(Case)
    condition = and_(Post.cluster_id == cluster_id, Post.id != case_post_id,
                     ~exists().where(own.post_id == Post.id, own.review_round == 0))
    if outcome != "keep":
        return condition
    # Correlated by name: the sweeper's case is two queries out, beyond automatic correlation.
    hide_sent = exists().where(Action.case_id == case_id, Action.type == "hide_post",
                               Action.post_external_id == Post.external_id).correlate_except(Action)
    return and_(condition, exists().where(Report.post_id == Post.id) | (Post.state == "hidden") | hide_sent)


def _apply(verdict: Verdict, case: Case, members: list[tuple[Post, Case | None]]) -> list[int]:
    """Each member's case, verdict, actions, strike and perhaps spot check; the action ids to deliver."""
    now = utcnow()
    policy = current_policy()
    cases = _member_cases(case, [post for post, held in members if held is None], policy.version, now)
    action_ids: list[int] = []
    events = []
    share = float(policy.cluster_settings["spot_check_share"])
    for post, held in members:
        member_case = held or cases[post.id]
        if member_case.state != "queued" or member_case.origin != MEMBER:
            continue  # decided meanwhile, or a copy held for a juror to confirm
        statement = member_statement(verdict, post)
        member = Verdict(case_id=member_case.id, outcome=verdict.outcome, rule=verdict.rule, tally=verdict.tally,
                         method="cluster", policy_version=verdict.policy_version, statement=statement,
                         decided_at=now, follow_up_enqueued_at=now, followed_up_at=now,
                         posterior=verdict.posterior, source_verdict_id=verdict.id)
        db.session.add(member)
        member_case.state, member_case.decided_at = "decided", now
        db.session.flush()
        specs = [outbox.ActionSpec(kind, account, text, verdict.rule) for kind, account, text
                 in statements.actions_for(verdict.outcome, post, member_case, statement, also_hidden_on=case.id)]
        actions = outbox.add_actions(member_case, post, specs, actor="system", verdict_id=member.id)
        measure = account_measures.strike_for_removal(member, member_case, post)
        action_ids.extend(action.id for action in [*actions, measure] if action is not None)
        checked = verdict.outcome == "remove" and _picked(verdict.id, post.id, share)
        if checked:
            _open_spot_check(post, member_case, policy, now)
        events.append(audit.EventSpec("verdict_reached", "case", member_case.id, {
            "verdict_id": member.id, "outcome": member.outcome, "rule": member.rule, "method": "cluster",
            "source_verdict_id": verdict.id, "similarity": post.cluster_similarity, "spot_check": checked,
            "policy_version": member.policy_version}, "system"))
    audit.record_many(db.session, events)
    return action_ids


def _member_cases(case: Case, posts: list[Post], policy_version: int, now) -> dict[int, Case]:
    """A first-round case for each member that has none (decided by the cluster's verdict)."""
    if not posts:
        return {}
    insert_ignore(Case, [{
        "post_id": post.id, "review_round": 0, "origin": MEMBER, "state": "queued", "severity": case.severity,
        "category": case.category, "report_count": 0, "base_priority": 0.0, "priority": 0.0, "panel_size": 0,
        "open_seats": 0, "policy_version": policy_version, "opened_at": now, "sla_deadline": now,
        "lock_version": 0, "cluster_id": post.cluster_id} for post in posts], ("post_id", "review_round"), Case.post_id)
    return {member.post_id: member for member in db.session.scalars(
        select(Case).where(Case.post_id.in_([post.id for post in posts]), Case.review_round == 0))}


def _picked(verdict_id: int, post_id: int, share: float) -> bool:
    """Whether this member is spot-checked: a fixed draw per verdict and post, so a job run twice
    checks the same members, and a reader can recompute which."""
    draw = int.from_bytes(hashlib.sha256(f"{verdict_id}:{post_id}".encode()).digest()[:4], "big") / 2**32
    return draw < share


def _open_spot_check(post: Post, member_case: Case, policy, now) -> None:
    """A later-round case for one juror, who sees the copy and says whether it breaks the rule."""
    case = Case(post_id=post.id, review_round=member_case.review_round + 1, origin=SPOT_CHECK, state="queued",
                severity=member_case.severity, category=member_case.category, report_count=0,
                base_priority=0.0, priority=0.0, panel_size=1, open_seats=1, policy_version=policy.version,
                opened_at=now, sla_deadline=now + timedelta(hours=policy.sla_hours(member_case.severity)),
                lock_version=0, cluster_id=post.cluster_id)
    db.session.add(case)


def member_statement(verdict: Verdict, post: Post) -> str:
    """A member's statement of reasons: what was decided, and that it follows its cluster's decision."""
    tally = Tally(**{key: verdict.tally.get(key, 0) for key in ("remove", "keep")})
    votes = f"{tally.remove} of {tally.total} votes to remove" if tally.total else "no panel votes"
    alike = f", about {post.cluster_similarity:.0%} alike" if post.cluster_similarity is not None else ""
    source = f"decided by {statements.METHOD_WORDS.get(verdict.method, 'a review')} ({votes})"
    if verdict.outcome == "remove":
        rule = RULES_BY_CODE.get(verdict.rule or "")
        title = f"'{rule.title}'" if rule else "the network's rules"
        return (f"Removed for breaking the rule {title}. This post is a near-copy{alike} of a post that was "
                f"{source}; that decision applies to each copy, and each copy's author can appeal it.")
    return (f"Kept: this post is a near-copy{alike} of a post found not to break the rules, {source}; "
            "that decision applies to each copy.")


def one_juror_decision(case: Case, tally: Tally, actor: str) -> Decision:
    """A confirm or spot-check case is one juror's: their vote decides, except that a spot-check juror
    who keeps the copy pauses the cluster's removals and sends the check to a lead."""
    if tally.total == 0:
        return Decision("pending")
    if tally.remove >= tally.keep:
        return Decision("remove", winning_rule(tally.rules))
    if case.origin == CONFIRM:
        return Decision("keep")
    cluster = _lock_cluster(case.cluster_id)
    if cluster.paused_at is None:
        cluster.paused_at = utcnow()
        audit.record(db.session, "cluster_paused", "cluster", cluster.id,
                     {"spot_check_case_id": case.id, "post_id": case.post_id}, actor=actor)
    return Decision("escalate")


def after_spot_check(verdict: Verdict, case: Case) -> list[int]:
    """A spot check decided (by its juror agreeing, or by a lead after a juror disagreed): a lead's
    keep restores the member, a lead's removal resumes the cluster's removals; the action ids."""
    audit.record(db.session, "spot_check_decided", "case", case.id, {
        "outcome": verdict.outcome, "method": verdict.method, "cluster_id": case.cluster_id}, actor="system")
    if verdict.method != "lead":
        return []
    cluster = _lock_cluster(case.cluster_id)
    if verdict.outcome == "remove":
        if cluster.paused_at is not None and cluster.verdict_id is not None:
            cluster.paused_at = None
            audit.record(db.session, "cluster_resumed", "cluster", cluster.id, {"spot_check_case_id": case.id},
                         actor="system")
        return []
    first = db.session.scalar(select(Verdict).join(Case, Case.id == Verdict.case_id).where(
        Case.post_id == case.post_id, Case.review_round == 0))
    if first is None or first.outcome != "remove":
        return []
    reason = ("A trust-and-safety lead reviewed this copy after a spot check and found that it does not break "
              "the rules: it has been restored.")
    return _restore(first, db.session.get(Case, first.case_id), case.post, reason, "system")


def reverse(cluster_id: int, lead: User, reason: str) -> Cluster:
    """A lead reverses a cluster's standing removal for every member it removed (commits; the
    restorations follow in jobs)."""
    if not lead.is_lead:
        raise Forbidden("Only leads reverse a cluster's verdict.")
    reason = " ".join((reason or "").split())[:REASON_CHARS]
    if not reason:
        raise Conflict("Say why the cluster's verdict is reversed: the authors will read it.")
    with transaction.atomic():
        cluster = db.session.get(Cluster, cluster_id, with_for_update=True, populate_existing=True)
        if cluster is None:
            raise NotFound("No such cluster.")
        if cluster.verdict_id is None:
            raise Conflict("No removal stands for this cluster.")
        source = cluster.verdict_id
        cluster.verdict_id, cluster.reversed_at, cluster.paused_at = None, utcnow(), None
        cluster.reversed_verdict_id = source
        audit.record(db.session, "cluster_reversed", "cluster", cluster.id, {"verdict_id": source, "reason": reason},
                     actor=f"user:{lead.id}")
        jobs.defer("actions", REVERSE_JOB, source, reason, f"user:{lead.id}")
    return cluster


def resume(cluster_id: int, lead: User) -> Cluster:
    """A lead lets a paused cluster's later copies be removed without a juror again (commits)."""
    if not lead.is_lead:
        raise Forbidden("Only leads resume a cluster's removals.")
    with transaction.atomic():
        cluster = db.session.get(Cluster, cluster_id, with_for_update=True, populate_existing=True)
        if cluster is None:
            raise NotFound("No such cluster.")
        if cluster.paused_at is None or cluster.verdict_id is None:
            raise Conflict("This cluster's removals are not paused.")
        cluster.paused_at = None
        audit.record(db.session, "cluster_resumed", "cluster", cluster.id, {"verdict_id": cluster.verdict_id},
                     actor=f"user:{lead.id}")
    return cluster


def reverse_job(verdict_id: int, reason: str, actor: str) -> int:
    """Restore the posts a reversed cluster verdict removed (its own and its members'), CHUNK per
    transaction; how many."""
    done = 0
    for _ in range(MAX_CHUNKS):
        with transaction.atomic(durable=True):
            rows = db.session.execute(
                select(Verdict, Case).join(Case, Case.id == Verdict.case_id).where(
                    _removed_not_restored(verdict_id)).order_by(Verdict.id).limit(CHUNK)).all()
            if not rows:
                return done
            action_ids = []
            for verdict, case in rows:
                statement = ("A trust-and-safety lead reversed the decision that removed this post and its "
                             f"near-copies: it has been restored. {reason}")
                action_ids.extend(_restore(verdict, case, case.post, statement, actor))
        outbox.deliver_each(action_ids)
        done += len(rows)
    with transaction.atomic(durable=True):
        jobs.defer("actions", REVERSE_JOB, verdict_id, reason, actor)
    return done


def _restore(verdict: Verdict, case: Case, post: Post, statement: str, actor: str) -> list[int]:
    """Restore one removed post, tell its author, withdraw its strike; the action ids to deliver."""
    specs = [outbox.ActionSpec("restore_post", post.author_id, statement),
             outbox.ActionSpec("notify", post.author_id, statement)]
    actions = outbox.add_actions(case, post, specs, actor=actor, verdict_id=verdict.id)
    account_measures.withdraw_strike(verdict, statement, case, actor=actor)
    audit.record(db.session, "cluster_member_restored", "case", case.id, {"verdict_id": verdict.id},
                 actor=actor)
    return [action.id for action in actions]
