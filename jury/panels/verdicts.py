"""Recording verdicts and turning them into network actions."""
from __future__ import annotations

from sqlalchemy import select

import audit
from jury.appeals import review as appeals
from jury.panels import juror_reliability
from jury.panels.quorum import Tally
from models import Action, Case, Post, Report, User, Verdict, Vote, db, utcnow
from models.errors import Conflict, DomainError, NotFound
from models.rules import RULE_CODES, RULES_BY_CODE
from triage import account_measures, jobs, outbox, training, transaction
from triage.dealing import lock_and_load_case
from triage.policy import current_policy

METHOD_WORDS = {
    "quorum": "a panel of volunteer jurors",
    "weighted": "a panel of volunteer jurors (reliability-weighted)",
    "lead": "a trust-and-safety lead after the jury panel split",
    "auto": "an automated rule",
}


# Why a panel decided without reaching its confidence or supermajority (quorum.Decision.reason).
LEANING_WORDS = {
    "votes_not_worth": "more votes were not expected to change the outcome",
    "panel_full": "the panel had reached its largest size",
    "leads_full": "the panel was split and no trust-and-safety lead was free to decide it",
}


def leaning_sentence(reason: str | None, sure: float | None) -> str:
    """The honest rider of a verdict taken at the panel's leaning ('' for a verdict that was not)."""
    if reason is None:
        return ""
    how_sure = f", an estimated {sure:.0%} likely to be right" if sure is not None else ""
    return f" The panel decided at its leaning{how_sure}, because {LEANING_WORDS[reason]}."


def statement_of_reasons(outcome: str, rule: str | None, tally: Tally, method: str, origin: str,
                         report_count: int = 0, leaning: str = "") -> str:
    """A plain-language reason the network can show the author (`leaning`: leaning_sentence's rider)."""
    if origin == "reported":
        source = "after user reports"
    elif report_count:
        source = "after an automated model flagged it and users reported it"
    else:
        source = "after an automated model flagged it"
    votes = f"{tally.remove} of {tally.total} votes to remove" if tally.total else "no panel votes"
    if outcome == "remove":
        title = RULES_BY_CODE[rule].title if rule in RULES_BY_CODE else "the network's rules"
        return (f"Removed for breaking the rule '{title}'. The post was reviewed {source} "
                f"and decided by {METHOD_WORDS[method]} ({votes}).{leaning}")
    return (f"Kept: the post was reviewed {source} and found not to break the rules by "
            f"{METHOD_WORDS[method]} ({votes}).{leaning}")


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
    statement = statement_of_reasons(outcome, rule, tally, method, case.origin, case.report_count,
                                     leaning_sentence(reason, sure))
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
        if case.origin != "appeal":
            post = db.session.get(Post, case.post_id)
            specs = [outbox.ActionSpec(action_type, account, text, verdict.rule)
                     for action_type, account, text in _actions_for(verdict.outcome, post, case, verdict.statement)]
            # Delivered by this job, after its commit, rather than by a job each (see deliver_each).
            actions = outbox.add_actions(case, post, specs, actor="system", verdict_id=verdict.id)
            # The removal's strike, and the warning or suspension it calls for, in this transaction.
            measure = account_measures.strike_for_removal(verdict, case, post)
            action_ids = [action.id for action in [*actions, measure] if action is not None]
        verdict.followed_up_at = utcnow()
        training.schedule_if_due()
    outbox.deliver_each(action_ids)
    return True


def _actions_for(outcome: str, post: Post, case: Case, statement: str) -> list[tuple[str, str, str]]:
    """The network operations a verdict needs: the post itself, then each reporter told."""
    actions = []
    if outcome == "remove":
        actions.append(("remove_post", post.author_id, statement))
    elif post.state == "hidden" or _hide_pending(case):
        actions.append(("unhide_post", post.author_id, statement))
    reporters = db.session.scalars(
        select(Report.reporter_id).where(Report.post_id == post.id).distinct().order_by(Report.reporter_id)
    ).all()
    told = ("The post you reported was removed." if outcome == "remove"
            else "The post you reported was reviewed and kept.")
    actions.extend(("notify", reporter, told) for reporter in reporters)
    return actions


def _hide_pending(case: Case) -> bool:
    """Whether an interim hide was queued for this case (it may not have landed yet)."""
    return db.session.scalar(
        select(Action.id).where(Action.case_id == case.id, Action.type == "hide_post").limit(1)
    ) is not None


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
