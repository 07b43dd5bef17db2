"""Appeals (DSA Art. 20): a fresh, larger panel reviews a decision; a lead signs off reversals."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import audit
from models import Appeal, Assignment, Case, Post, Report, User, Verdict, db, utcnow
from models.errors import Conflict, DomainError, Forbidden, NotFound
from models.rules import RULES_BY_CODE
from triage import account_measures, cases, outbox, transaction
from triage import priority as prio
from triage.appeal_links import REDRESS, LinkExpired, appeal_deadline
from triage.policy import current_policy

STATEMENT_MAX_CHARS = 5000
REASON_MAX_CHARS = 2000


@dataclass(frozen=True)
class Contested:
    """A decision an appeal may be filed against, as the appeal page shows it."""

    verdict: Verdict
    case: Case
    post: Post
    deadline_iso: str
    appeal: Appeal | None


def clean_statement(statement: str | None, limit: int = STATEMENT_MAX_CHARS) -> str:
    """Trim the statement, drop NULs (PostgreSQL text cannot hold them) and enforce the cap."""
    text = (statement or "").replace("\x00", "").strip()
    if not text:
        raise DomainError("Please write why you think the decision was wrong.")
    if len(text) > limit:
        raise DomainError(f"The statement is longer than {limit} characters.")
    return text


def contested(verdict_id: int) -> Contested:
    """The decision a link or API call names, with any appeal already filed against it."""
    verdict = db.session.get(Verdict, verdict_id)
    if verdict is None:
        raise NotFound("No such decision.")
    case = db.session.get(Case, verdict.case_id)
    post = db.session.get(Post, case.post_id)
    appeal = db.session.scalar(select(Appeal).where(Appeal.verdict_id == verdict.id))
    return Contested(verdict, case, post, appeal_deadline(verdict.decided_at).date().isoformat(), appeal)


def latest_decision(post_external_id: str) -> Verdict:
    """The most recent first-instance decision on a post (what the network relays an appeal about)."""
    verdict = db.session.scalar(
        select(Verdict).join(Case, Case.id == Verdict.case_id).join(Post, Post.id == Case.post_id)
        .where(Post.external_id == post_external_id, Case.origin != "appeal")
        .order_by(Verdict.decided_at.desc(), Verdict.id.desc()).limit(1)
    )
    if verdict is None:
        raise NotFound("No decision on this post.")
    return verdict


def _reporters(post_id: int) -> list[str]:
    return list(db.session.scalars(
        select(Report.reporter_id).where(Report.post_id == post_id).distinct().order_by(Report.reporter_id)
    ))


def _role(verdict: Verdict, post: Post, account: str) -> str:
    """Who may appeal: the author of a removed post; a reporter of a kept one."""
    if verdict.outcome == "remove" and account == post.author_id:
        return "author"
    if verdict.outcome == "keep" and account in _reporters(post.id):
        return "reporter"
    raise Forbidden("Only the author of a removed post, or a reporter of a kept one, can appeal this decision.")


def usability_error(item: Contested) -> DomainError | None:
    """Why an appeal can no longer be filed against this decision, or None."""
    if item.appeal is not None:
        return Conflict(f"This appeal link was already used: an appeal was filed on "
                        f"{item.appeal.created_at:%Y-%m-%d} and is {item.appeal.state.replace('_', ' ')}. "
                        "You will be told the outcome through the network.")
    if item.case.origin == "appeal":
        return Conflict("This is already the decision on an appeal. " + REDRESS)
    if utcnow() > appeal_deadline(item.verdict.decided_at):
        return LinkExpired(f"Appeals against this decision closed on {item.deadline_iso} "
                           "(6 months after the decision).")
    return None


def usable(verdict_id: int) -> Contested:
    """The decision a link names, if an appeal can still be filed against it; else the error saying why."""
    item = contested(verdict_id)
    problem = usability_error(item)
    if problem is not None:
        raise problem
    return item


def file_appeal(verdict_id: int, appellant: str, statement: str, *, channel: str, actor: str) -> Appeal:
    """Record the appeal and open a case for a fresh panel (commits)."""
    text = clean_statement(statement)
    item = contested(verdict_id)
    problem = usability_error(item)
    if problem is not None:
        raise problem
    role = _role(item.verdict, item.post, appellant)
    try:
        with transaction.atomic():
            case = _open_appeal_case(item.case, actor)
            appeal = Appeal(verdict_id=item.verdict.id, case_id=item.case.id, appeal_case_id=case.id,
                            appellant_account_id=appellant, appellant_role=role, statement=text,
                            channel=channel, state="pending", created_at=utcnow())
            db.session.add(appeal)
            db.session.flush()
            # The statement itself stays in the appeals table; the chain keeps its length only.
            audit.record(db.session, "appeal_filed", "appeal", appeal.id, {
                "verdict_id": item.verdict.id, "case_id": item.case.id, "appeal_case_id": case.id,
                "role": role, "channel": channel, "statement_chars": len(text),
            }, actor=actor)
    except IntegrityError:
        # A concurrent submission with the same link won: one appeal per decision (rolled back).
        raise Conflict("An appeal against this decision was already filed.") from None
    return appeal


def relay_appeal(post_external_id: str, appellant: str, statement: str) -> Appeal:
    """An appeal the network relays through the API, against the post's latest decision."""
    verdict = latest_decision(post_external_id)
    return file_appeal(verdict.id, appellant, statement, channel="api", actor="network")


def _open_appeal_case(original: Case, actor: str) -> Case:
    """A later review round of the same post, sized by the policy's appeal panel."""
    policy = current_policy()
    last_round = db.session.scalar(select(func.max(Case.review_round)).where(Case.post_id == original.post_id))
    now = utcnow()
    # Distinct reporters, as the first round's priority counted them (see triage.cases.distinct_reports).
    base = prio.base_priority(original.severity, cases.reporter_count(original.post_id),
                              policy.settings["priority_weights"])
    case = Case(post_id=original.post_id, review_round=(last_round or 0) + 1, origin="appeal", state="queued",
                severity=original.severity, report_count=original.report_count, base_priority=base,
                priority=base, panel_size=policy.appeal_panel_size, open_seats=policy.appeal_panel_size,
                policy_version=policy.version, opened_at=now,
                sla_deadline=now + timedelta(hours=policy.sla_hours(original.severity)), lock_version=0,
                # A near-copy's appeal: nobody who decided a case of its cluster sits on it (triage.exclusions).
                cluster_id=original.cluster_id)
    db.session.add(case)
    db.session.flush()
    audit.record(db.session, "case_opened", "case", case.id, {
        "post_id": case.post_id, "origin": "appeal", "review_round": case.review_round,
        "appeal_of_case": original.id, "panel_size": case.panel_size, "policy_version": policy.version,
    }, actor=actor)
    return case


def appeal_for_case(case_id: int) -> Appeal | None:
    """The appeal an appeal case reviews."""
    return db.session.scalar(select(Appeal).where(Appeal.appeal_case_id == case_id))


def on_verdict(case: Case, verdict: Verdict, actor: str) -> None:
    """The fresh panel (or a lead, after a split) decided an appeal case (caller commits)."""
    appeal = appeal_for_case(case.id)
    if appeal is None:
        return
    original = db.session.get(Verdict, appeal.verdict_id)
    appeal.panel_decided_at = verdict.decided_at
    if verdict.outcome == original.outcome:
        _close(appeal, "upheld", None, _panel_reason(verdict, upheld=True), actor)
    elif verdict.method == "lead" and verdict.decided_by_id is not None:
        # A lead already decided the split appeal panel: that decision is the supervision.
        lead = db.session.get(User, verdict.decided_by_id)
        _close(appeal, "overturned", lead, _panel_reason(verdict, upheld=False), actor)
    else:
        appeal.state = "awaiting_signoff"
        audit.record(db.session, "appeal_awaiting_signoff", "appeal", appeal.id,
                     {"appeal_case_id": case.id, "tally": verdict.tally}, actor=actor)


def _panel_reason(verdict: Verdict, upheld: bool) -> str:
    tally = verdict.tally or {}
    votes = f"{tally.get('remove', 0)} to remove, {tally.get('keep', 0)} to keep"
    if verdict.method == "lead":
        who = "a trust-and-safety lead, after a fresh panel split"
    else:
        who = "a fresh panel of volunteer jurors who had not seen the case before"
    return f"Reviewed again by {who} ({votes})."


def awaiting_signoff() -> list[Appeal]:
    """Reversals a lead must confirm, oldest first."""
    return list(db.session.scalars(select(Appeal).where(Appeal.state == "awaiting_signoff")
                                   .order_by(Appeal.panel_decided_at, Appeal.id)))


def recent(limit: int = 50) -> list[Appeal]:
    """The latest appeals, newest first."""
    return list(db.session.scalars(select(Appeal).order_by(Appeal.id.desc()).limit(limit)))


def sign_off(appeal_id: int, lead: User, approve: bool, reason: str) -> Appeal:
    """A lead confirms (or refuses) a panel's reversal, with a reason the appellant will read (commits)."""
    if not lead.is_lead:
        raise Forbidden("Only leads sign off appeal decisions.")
    reason = clean_statement(reason, REASON_MAX_CHARS)
    with transaction.atomic():
        appeal = db.session.get(Appeal, appeal_id, with_for_update=True)
        if appeal is None:
            raise NotFound("No such appeal.")
        if appeal.state != "awaiting_signoff":
            raise Conflict(f"Appeal {appeal_id} is {appeal.state.replace('_', ' ')}, not awaiting sign-off.")
        if took_part(appeal, lead):
            raise Forbidden("You took part in a decision on this post (on its panel, the appeal panel, or as the "
                            "lead who decided it): another lead must sign off this appeal.")
        verdict = db.session.scalar(select(Verdict).where(Verdict.case_id == appeal.appeal_case_id))
        base = _panel_reason(verdict, upheld=not approve)
        if approve:
            _close(appeal, "overturned", lead, f"{base} A trust-and-safety lead confirmed it: {reason}",
                   f"user:{lead.id}")
        else:
            _close(appeal, "upheld", lead, f"{base} A trust-and-safety lead did not confirm the reversal: "
                   f"{reason}", f"user:{lead.id}")
    return appeal


def took_part(appeal: Appeal, lead: User) -> bool:
    """Whether the lead sat on any panel of the appealed post (the appeal's included) or decided one."""
    post_id = select(Case.post_id).where(Case.id == appeal.case_id).scalar_subquery()
    rounds = select(Case.id).where(Case.post_id == post_id)
    sat = db.session.scalar(select(Assignment.id).where(Assignment.case_id.in_(rounds),
                                                        Assignment.juror_id == lead.id).limit(1))
    decided = db.session.scalar(select(Verdict.id).where(Verdict.case_id.in_(rounds),
                                                         Verdict.decided_by_id == lead.id).limit(1))
    return sat is not None or decided is not None


def _close(appeal: Appeal, state: str, lead: User | None, reason: str, actor: str) -> None:
    """Final decision: repair the post on a reversal, tell the appellant and the reporters why."""
    original = db.session.get(Verdict, appeal.verdict_id)
    appeal_case = db.session.get(Case, appeal.appeal_case_id)
    post = db.session.get(Post, appeal_case.post_id)
    verdict = db.session.scalar(select(Verdict).where(Verdict.case_id == appeal_case.id))
    appeal.state, appeal.decided_at = state, utcnow()
    appeal.signed_off_by_id = lead.id if lead else None
    appeal.decision_reason = reason
    rule = RULES_BY_CODE.get(original.rule or "")
    rule_words = f" under the rule '{rule.title}'" if rule else ""
    when = f"{original.decided_at:%Y-%m-%d}"
    specs: list[outbox.ActionSpec] = []
    if state == "overturned":
        if original.outcome == "remove":
            specs.append(outbox.ActionSpec("restore_post", post.author_id, reason))
            author_text = (f"Your appeal against the removal of your post on {when}{rule_words} succeeded: "
                           f"the post has been restored. {reason}")
            reporter_text = ("The post you reported was removed, then restored after the author's appeal. "
                             f"{reason}")
        else:
            specs.append(outbox.ActionSpec("remove_post", post.author_id, reason, verdict.rule if verdict else None))
            author_text = f"Your post was removed after a reporter's appeal. {reason} {REDRESS}"
            reporter_text = f"Your appeal succeeded: the post you reported has been removed. {reason}"
    else:
        if original.outcome == "remove":
            author_text = (f"Your appeal against the removal of your post on {when}{rule_words} was reviewed "
                           f"and the decision stands. {reason} {REDRESS}")
            reporter_text = f"The post you reported stays removed after the author's appeal. {reason}"
        else:
            author_text = ""
            reporter_text = f"The post you reported was reviewed again and kept. {reason}"
    recipients: list[tuple[str, str]] = []
    if author_text:
        recipients.append((post.author_id, author_text))
    recipients.extend((reporter, reporter_text) for reporter in _reporters(post.id) if reporter != post.author_id)
    if appeal.appellant_role == "reporter":
        recipients = [(account, text) for account, text in recipients if account != appeal.appellant_account_id]
        recipients.append((appeal.appellant_account_id, f"{reporter_text} {REDRESS}"))
    specs.extend(outbox.ActionSpec("notify", account, text) for account, text in recipients)
    audit.record(db.session, f"appeal_{state}", "appeal", appeal.id, {
        "appeal_case_id": appeal_case.id, "signed_off_by": lead.id if lead else None,
        "original_outcome": original.outcome,
    }, actor=actor)
    outbox.create_actions(appeal_case, post, specs, actor=actor, verdict_id=verdict.id if verdict else None)
    if state == "overturned" and original.outcome == "remove":
        # The removal no longer counts against the author; a suspension it carried may be lifted.
        account_measures.withdraw_strike(original, reason, appeal_case, actor=actor)
    elif state == "overturned" and verdict is not None:
        account_measures.strike_for_appeal_removal(verdict, appeal_case, post, actor=actor)
