"""Casting and skipping votes; each vote may complete, widen or escalate a panel."""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import bindparam, func, insert, select, update

import audit
from jury.panels import cluster_verdicts, juror_reliability, quorum, verdicts
from jury.panels.quorum import Decision, Tally, decide, decide_weighted
from jury.panels.vote_value import VOTE
from models import OPEN_CASE_STATES, Assignment, Case, User, Vote, db, utcnow
from models.errors import NO_SUCH_CASE, Conflict, DomainError, NotFound
from models.rules import RULE_CODES
from triage import flood, gold, transaction
from triage.dealing import lock_and_load_case, release
from triage.policy import PolicyInForce, current_policy

NOTE_MAX_CHARS = 2000


@dataclass(frozen=True)
class VoteResult:
    """What the juror's vote led to (never other jurors' votes)."""

    case_id: int
    outcome: str  # pending | remove | keep | widen | escalate


# Built once (see triage.dealing): every vote runs it.
_SEAT = select(Assignment).where(Assignment.case_id == bindparam("case_id"),
                                 Assignment.juror_id == bindparam("juror_id"))


_INSERT_VOTE = insert(Vote.__table__)


def _insert_vote_and_read_votes():
    """On PostgreSQL, the vote's insert and the read of the case's votes as one statement.

    A data-modifying CTE: the outer read does not see the row its CTE inserts, so the new vote
    joins it through RETURNING. One round trip fewer on every vote. (SQLite has no such CTE.)
    """
    votes = Vote.__table__
    new = (insert(votes).values(case_id=bindparam("case_id"), juror_id=bindparam("juror_id"),
                                decision=bindparam("decision"), rule=bindparam("rule"), note=bindparam("note"),
                                cast_at=bindparam("cast_at"))
           .returning(votes.c.id, votes.c.juror_id, votes.c.decision, votes.c.rule).cte("new_vote"))
    both = select(votes.c.id, votes.c.juror_id, votes.c.decision, votes.c.rule).where(
        votes.c.case_id == bindparam("case_id")).union_all(select(new.c.id, new.c.juror_id, new.c.decision, new.c.rule))
    both = both.subquery()
    return select(both.c.juror_id, both.c.decision, both.c.rule).order_by(both.c.id)


_INSERT_VOTE_READ_VOTES = _insert_vote_and_read_votes()


# On the table's own columns: a criterion on the mapped class makes it an ORM update, whose
# bulk-update path (looking for session objects to keep in step) cost 4 % of a vote's CPU.
_seats = Assignment.__table__
_MARK_LIVE_SEAT_VOTED = (
    update(_seats)
    .where(_seats.c.case_id == bindparam("seat_case"), _seats.c.juror_id == bindparam("seat_juror"),
           _seats.c.state == "active")
    .values(state="voted", released_at=bindparam("now"))
)


def _assignment(case_id: int, juror: User) -> Assignment | None:
    return db.session.scalar(_SEAT, {"case_id": case_id, "juror_id": juror.id})


def _mark_live_seat_voted(case_id: int, juror: User) -> bool:
    """Mark the juror's active seat on the case voted; False if they hold none (the case is locked)."""
    marked = db.session.execute(_MARK_LIVE_SEAT_VOTED,
                                {"seat_case": case_id, "seat_juror": juror.id, "now": utcnow()}).rowcount
    return marked == 1


def validate_vote(decision: str, rule: str | None, note: str | None) -> tuple[str | None, str | None]:
    """Check a vote's fields; returns the normalised (rule, note)."""
    if decision not in ("remove", "keep"):
        raise DomainError("decision must be 'remove' or 'keep'")
    if decision == "remove" and rule not in RULE_CODES:
        raise DomainError("a removal needs one of the rules")
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX_CHARS:
        raise DomainError(f"the note is longer than {NOTE_MAX_CHARS} characters")
    return (rule if decision == "remove" else None), note


def cast_vote(case_id: int, juror: User, decision: str, rule: str | None = None,
              note: str | None = None) -> VoteResult:
    """Record a juror's vote on a case they hold a seat on, then apply the quorum rule.

    One transaction, the caller's when it has one (the juror's screen deals the next case in it:
    jury.panels.screen).
    """
    rule, note = validate_vote(decision, rule, note)
    # The screen deals the juror's next case right after: no reload of the juror for it.
    with transaction.atomic(keep=(juror,)):
        # Votes on one case run one at a time, so the last vote always sees the others.
        case = lock_and_load_case(case_id)
        if case is None:
            raise NotFound(NO_SUCH_CASE)
        votable = case.state == "gold" or case.state in OPEN_CASE_STATES
        # The usual vote, on a live seat of a case still open: the seat is checked and marked
        # voted in one statement. Anything else is read and explained below.
        if not (votable and _mark_live_seat_voted(case_id, juror)):
            assignment = _assignment(case_id, juror)
            if assignment is None:  # never dealt: answered as a missing id is
                raise NotFound(NO_SUCH_CASE)
            if assignment.state == "skipped":
                raise Conflict("you do not hold a seat on this case")
            if assignment.state == "voted":
                raise Conflict("you already voted on this case")
            if not votable:
                raise Conflict("this case has already been decided")
            # The lease ran out but nobody took the seat: the vote still counts.
            if case.state != "gold":
                if case.open_seats <= 0:
                    raise Conflict("your time on this case ran out and the seat went to another juror")
                case.open_seats -= 1
            assignment.state, assignment.released_at = "voted", utcnow()
        if case.state == "gold":
            # A known-answer case: scored against the gold answer, never a verdict or an action.
            _cast_gold_vote(case, juror, decision, rule, note)
            return VoteResult(case_id, "pending")
        votes = _store_vote(case_id, juror, decision, rule, note, read_votes=True)
        audit.record(db.session, "vote_cast", "case", case_id,
                     {"juror": juror.id, "decision": decision, "rule": rule}, actor=f"user:{juror.id}")
        result = apply_quorum(case, actor=f"user:{juror.id}", votes=votes)
    return VoteResult(case_id, result.kind)


def _cast_gold_vote(case: Case, juror: User, decision: str, rule: str | None, note: str | None) -> None:
    """Store a vote on a gold case (its seat already marked voted) and score it; gold cases have
    no seat limit (caller commits)."""
    _store_vote(case.id, juror, decision, rule, note)
    audit.record(db.session, "vote_cast", "case", case.id,
                 {"juror": juror.id, "decision": decision, "rule": rule}, actor=f"user:{juror.id}")
    gold.after_gold_vote(juror, case, decision, current_policy())


def _store_vote(case_id: int, juror: User, decision: str, rule: str | None, note: str | None,
                read_votes: bool = False) -> list[tuple[int, str, str | None]] | None:
    """Insert the vote row (a plain insert: nothing reads it back as an object; one per juror per case).

    With read_votes, also return the case's votes, this one included (juror_reliability.case_votes), in
    the same statement where the database can.
    """
    params = {"case_id": case_id, "juror_id": juror.id, "decision": decision, "rule": rule, "note": note,
              "cast_at": utcnow()}
    if read_votes and db.session.get_bind().dialect.name == "postgresql":
        return [tuple(row) for row in db.session.execute(_INSERT_VOTE_READ_VOTES, params)]
    db.session.execute(_INSERT_VOTE, params)
    return None


def apply_quorum(case: Case, actor: str, votes: list[tuple[int, str, str | None]] | None = None) -> Decision:
    """Decide, widen or escalate the case after a vote, by the policy's verdict method (caller commits).

    votes: the case's votes as juror_reliability.case_votes gives them, when the caller has them already.
    """
    policy = current_policy()
    if votes is None:
        votes = juror_reliability.case_votes(case)  # one read serves the tally and the posterior
    tally = Tally.of((decision, rule) for _, decision, rule in votes)
    weighted = policy.verdict_method == "weighted"
    explained = juror_reliability.case_posterior(case, votes) if weighted else None
    if case.origin in cluster_verdicts.ONE_JUROR:
        decision = cluster_verdicts.one_juror_decision(case, tally, actor)
    else:
        decision = _decision(case, policy, tally, explained)
    if decision.kind in ("remove", "keep"):
        verdicts.record_verdict(case, decision.kind, decision.rule, tally, method="weighted" if weighted else "quorum",
                                policy_version=policy.version, actor=actor, explained=explained,
                                reason=decision.reason)
    elif decision.kind == "widen":
        # Weighted panels grow one seat at a time; a split quorum panel widens once to its larger
        # size, and one seat at a time beyond it while the leads' desk is full.
        new_size = policy.widened_panel_size if not weighted and case.panel_size < policy.widened_panel_size \
            else case.panel_size + 1
        case.open_seats += new_size - case.panel_size
        case.panel_size = new_size
        payload = {"panel_size": case.panel_size, "tally": tally.as_dict()}
        if explained is not None:
            payload["posterior"] = explained.posterior
        audit.record(db.session, "panel_widened", "case", case.id, payload, actor=actor)
    elif decision.kind == "escalate":
        case.state = "escalated"
        payload = {"tally": tally.as_dict()}
        if explained is not None:
            payload["posterior"] = explained.posterior
        audit.record(db.session, "case_escalated", "case", case.id, payload, actor=actor)
    return decision


def _decision(case: Case, policy: PolicyInForce, tally: Tally,
              explained: juror_reliability.CasePosterior | None) -> Decision:
    """What the policy's verdict method makes of the tally (and, weighted, of the posterior)."""
    if explained is None:
        decision = decide(tally, case.panel_size, policy.widened_panel_size, policy.supermajority)
        if decision.kind == "escalate" and not leads_free(policy):
            largest = max(policy.max_panel_size, policy.widened_panel_size)
            decision = quorum.decide_when_leads_full(tally, case.panel_size, largest)
        return decision
    if policy.vote_cost <= 0:
        decision = decide_weighted(tally, explained.posterior, case.panel_size, policy.max_panel_size,
                                   policy.confidence, policy.min_votes)
        if decision.kind == "escalate" and not leads_free(policy):
            decision = quorum.at_leaning(tally, explained.weights["log_odds"], "leads_full")
        return decision
    # In a flood (triage.flood) one more vote must be worth more: it is a case nobody reads.
    vote_cost, flooded = flood.vote_cost(policy.flood, policy.vote_cost)
    with_lead, without_lead = juror_reliability.panel_plans(policy.version, vote_cost, policy.lead_cost,
                                                            policy.min_votes, policy.max_panel_size)
    log_odds = explained.weights["log_odds"]
    decision = quorum.decide_by_value(tally, explained.posterior, log_odds, case.panel_size, policy.confidence,
                                      with_lead, without_lead, lambda: leads_free(policy))
    if flooded and decision.reason == "votes_not_worth":
        # Would the usual price have asked one more juror? Then the flood decided it, and says so.
        usual, _ = juror_reliability.panel_plans(policy.version, policy.vote_cost, policy.lead_cost,
                                                 policy.min_votes, policy.max_panel_size)
        if usual.action(log_odds, tally.total) == VOTE:
            decision = replace(decision, reason="queue_flood")
    return decision


_OPEN_ESCALATIONS = select(func.count()).select_from(Case).where(Case.state == "escalated")


def leads_free(policy: PolicyInForce) -> bool:
    """Whether the leads' desk has room for one more escalated case (policy max_open_escalations)."""
    cap = policy.max_open_escalations
    return cap is None or (db.session.scalar(_OPEN_ESCALATIONS) or 0) < cap


def skip(case_id: int, juror: User) -> None:
    """Hand a seat back without voting; the juror is not dealt this case again."""
    assignment = _assignment(case_id, juror)
    if assignment is None or assignment.state != "active":
        raise Conflict("you do not hold a live seat on this case")
    with transaction.atomic(keep=(juror,)):
        release(assignment, "skipped", actor=f"user:{juror.id}")
