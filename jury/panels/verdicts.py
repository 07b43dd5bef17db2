"""Recording verdicts and turning them into network actions."""
from __future__ import annotations

from sqlalchemy import select

import audit
from jury.appeals import review as appeals
from jury.panels import cluster_verdicts, juror_reliability, statements
from jury.panels.quorum import Tally
from models import Case, Post, User, Verdict, Vote, db, utcnow
from models.errors import Conflict, DomainError, NotFound
from models.rules import RULE_CODES
from triage import account_measures, jobs, outbox, training, transaction
from triage.cluster_cases import SPOT_CHECK
from triage.dealing import lock_and_load_case
from triage.policy import current_policy


def record_verdict(case: Case, outcome: str, rule: str | None, tally: Tally, *, method: str,
                   policy_version: int, actor: str, decided_by: User | None = None,
                   explained: juror_reliability.CasePosterior | None = None, reason: str | None = None) -> Verdict:
    """Store the verdict and close the case; its consequences follow in a job (caller commits).

    The verdict is part of the deciding vote's transaction. What follows from it (the network
    actions, the posterior when the method did not need one, a retraining check) is queued as
    one `follow_up` job, so the juror whose vote decided the case does not wait for it. The job
    runs inline without Redis; the sweeper queues it again if it is lost. `reason`: why the panel
    decided at its leaning (quorum.Decision.reason), told in the statement with how sure it was.
    """
    sure = None
    if explained is not None:
        sure = explained.posterior if outcome == "remove" else explained.keep_posterior
    statement = statements.statement_of_reasons(outcome, rule, tally, method, case.origin, case.report_count,
                                                statements.leaning_sentence(reason, sure))
    now = utcnow()
    verdict = Verdict(case_id=case.id, outcome=outcome, rule=rule, tally=tally.as_dict(), method=method,
                      policy_version=policy_version, decided_by_id=decided_by.id if decided_by else None,
                      statement=statement, decided_at=now, follow_up_enqueued_at=now,
                      posterior=explained.posterior if explained else None,
                      weights=explained.weights if explained else None)
    db.session.add(verdict)
    case.state, case.decided_at = "decided", verdict.decided_at
    db.session.flush()
    payload = {"verdict_id": verdict.id, "outcome": outcome, "rule": rule, "tally": tally.as_dict(),
               "method": method, "policy_version": policy_version}
    if explained is not None:  # the posterior that decided it (weighted); others get theirs in the follow-up
        payload["posterior"] = explained.posterior
    if reason is not None:
        payload["at_leaning"] = reason
    audit.record(db.session, "verdict_reached", "case", case.id, payload, actor=actor)
    if case.origin == "appeal":
        # An appeal's outcome is applied by the appeals service (a reversal needs a lead's sign-off).
        appeals.on_verdict(case, verdict, actor)
    queue_follow_up(verdict.id)
    return verdict


def queue_follow_up(verdict_id: int) -> None:
    """Queue the verdict's follow-up job for after the commit."""
    jobs.defer("actions", "jury.panels.verdicts.follow_up", verdict_id)


def follow_up(verdict_id: int) -> bool:
    """A verdict's consequences, exactly once: its posterior (when the deciding method did not
    compute one), its network actions, and a retraining when due. Commits, then delivers the actions
    itself; False if already done.
    """
    with transaction.atomic(durable=True):
        verdict = db.session.get(Verdict, verdict_id)
        if verdict is None:
            return False
        # The case's lock orders two follow-ups of one verdict (a job run twice): the second
        # sees the first one's mark and does nothing.
        case = lock_and_load_case(verdict.case_id)
        db.session.refresh(verdict)
        if verdict.followed_up_at is not None:
            return False
        if verdict.posterior is None:
            # Every verdict keeps the reliability-weighted reading of its votes, whatever decided
            # it, so leads can compare methods and see how sure the panel was.
            explained = juror_reliability.case_posterior(case)
            verdict.posterior, verdict.weights = explained.posterior, explained.weights
        action_ids = []
        if case.origin == SPOT_CHECK:
            action_ids = cluster_verdicts.after_spot_check(verdict, case)
        elif case.origin != "appeal":
            post = db.session.get(Post, case.post_id)
            specs = [outbox.ActionSpec(action_type, account, text, verdict.rule) for action_type, account, text
                     in statements.actions_for(verdict.outcome, post, case, verdict.statement)]
            # Delivered by this job, after its commit, rather than by a job each (see deliver_each).
            actions = outbox.add_actions(case, post, specs, actor="system", verdict_id=verdict.id)
            # The removal's strike, and the warning or suspension it calls for, in this transaction.
            measure = account_measures.strike_for_removal(verdict, case, post)
            action_ids = [action.id for action in [*actions, measure] if action is not None]
            # A cluster's case: its removal stands for the cluster, and its members follow it.
            cluster_verdicts.after_case_verdict(verdict, case)
        verdict.followed_up_at = utcnow()
        training.schedule_if_due()
    outbox.deliver_each(action_ids)
    return True


def escalated_cases() -> list[Case]:
    """Cases waiting for a lead, oldest first."""
    return list(db.session.scalars(select(Case).where(Case.state == "escalated").order_by(Case.opened_at)))


def decide_escalation(case_id: int, lead: User, outcome: str, rule: str | None, note: str) -> Verdict:
    """A lead's decision on an escalated case."""
    if not lead.is_lead:
        raise DomainError("only leads decide escalated cases")
    if outcome not in ("remove", "keep"):
        raise DomainError("outcome must be 'remove' or 'keep'")
    if outcome == "remove" and rule not in RULE_CODES:
        raise DomainError("a removal needs one of the rules")
    with transaction.atomic():
        case = lock_and_load_case(case_id)
        if case is None:
            raise NotFound("no such case")
        if case.state != "escalated":
            raise Conflict(f"case {case_id} is {case.state}, not escalated")
        tally = Tally.of(db.session.execute(select(Vote.decision, Vote.rule).where(Vote.case_id == case.id)).all())
        verdict = record_verdict(case, outcome, rule if outcome == "remove" else None, tally, method="lead",
                                 policy_version=current_policy().version, actor=f"user:{lead.id}",
                                 decided_by=lead)
        audit.record(db.session, "lead_note", "case", case.id, {"note": note[:2000]}, actor=f"user:{lead.id}")
    return verdict
