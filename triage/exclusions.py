"""Who may sit on which case: the exclusions as SQL for dealing, and in words for leads.

Both forms read the same rules, so a lead's explanation matches what dealing does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, bindparam, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from models import (
    OPEN_CASE_STATES,
    Account,
    AccountLink,
    Assignment,
    Case,
    GoldAnswer,
    Post,
    Report,
    Strike,
    User,
    Verdict,
    Vote,
    VoteDisclosure,
    db,
    utcnow,
)
from triage.gold import probation_possible
from triage.policy import PolicyInForce

EXPOSURE_WINDOW = timedelta(hours=24)
_earlier, _earlier_seat = aliased(Case), aliased(Assignment)
_seen, _seen_seat = aliased(Case), aliased(Assignment)
_disclosed = aliased(Case)
_appealed_post, _struck_seat = aliased(Post), aliased(Assignment)
_copy_case, _copy_seat = aliased(Case), aliased(Assignment)
# Jurors in these states are dealt gold (known-answer) cases only.
TRAINING_STATES = ("probation", "paused")


def constant(value) -> ColumnElement:
    """A constant written into the SQL text rather than bound as a parameter.

    psycopg prepares a statement run often on one connection, and PostgreSQL then plans it once
    (a generic plan) instead of on every deal (planning was most of the dealing query's 3 ms). A
    generic plan can use the partial index of open cases only if the index's condition (state,
    open_seats) is in the text, and reads only the top of it only if the LIMIT is.
    """
    return literal(value, literal_execute=True)


@dataclass(frozen=True)
class Exclusion:
    """One reason a juror may not be dealt a case."""

    code: str
    detail: str


def juror_languages(juror: User) -> list[str]:
    """The juror's reading languages, lower-case two-letter codes."""
    return sorted({str(code).strip().lower()[:2] for code in (juror.languages or []) if str(code).strip()})


def capped_categories(juror: User, policy: PolicyInForce) -> dict[str, int]:
    """Categories the juror has reached their 24-hour cap on, with the count dealt."""
    caps = policy.daily_exposure_caps
    if not caps:
        return {}
    counts = dict(db.session.execute(
        select(Case.category, func.count()).join(Assignment, Assignment.case_id == Case.id)
        .where(Assignment.juror_id == juror.id, Assignment.leased_at > utcnow() - EXPOSURE_WINDOW,
               Case.category.in_(list(caps)))
        .group_by(Case.category)
    ).all())
    return {code: counts.get(code, 0) for code, cap in caps.items() if counts.get(code, 0) >= cap}


def _post_lang_readable(languages: ColumnElement) -> ColumnElement:
    """The post has no known language, or one the juror reads (regional variants included)."""
    return or_(Post.lang.is_(None), func.lower(func.substr(Post.lang, constant(1), constant(2))).in_(languages))


def _capped_in_sql(caps: dict[str, int], juror_id: ColumnElement, since: ColumnElement):
    """capped_categories as a subquery, so the dealing query applies the caps itself."""
    return (
        select(_seen.category).join(_seen_seat, _seen_seat.case_id == _seen.id)
        .where(_seen_seat.juror_id == juror_id, _seen_seat.leased_at > since, _seen.category.in_(sorted(caps)))
        .group_by(_seen.category)
        .having(func.count() >= case(caps, value=_seen.category))
    )


@dataclass(frozen=True)
class JurorFilter:
    """The juror-specific part of the dealing SQL: its shape, and the values bound into it.

    Jurors with the same shape share one SQL statement (built once per process, see
    triage.dealing); only `values` differ, passed as parameters when it runs.
    """

    shape: tuple
    values: dict


def juror_filter(juror: User, policy: PolicyInForce) -> JurorFilter:
    """What fairness_conditions needs to know about this juror and the policy."""
    caps = policy.daily_exposure_caps
    opted_out = sorted(set(juror.opted_out_categories or []))
    account = juror.network_account_id
    shape = (bool(account), bool(opted_out), tuple(sorted(caps.items())))
    values = {"juror_id": juror.id, "languages": juror_languages(juror)}
    if account:
        values["account"] = account
    if opted_out:
        values["opted_out"] = opted_out
    if caps:
        values["exposure_since"] = utcnow() - EXPOSURE_WINDOW
    return JurorFilter(shape, values)


def fairness_conditions(juror: User, policy: PolicyInForce) -> list[ColumnElement]:
    """SQL conditions on Case that keep a juror off posts they are too close to or should not see.

    Every juror-specific value is a named bind parameter (see juror_filter), so the same
    conditions serve any juror of the same shape when run with that juror's values.
    """
    spec = juror_filter(juror, policy)
    param = {name: bindparam(name, value, expanding=isinstance(value, list)) for name, value in spec.values.items()}
    juror_id = param["juror_id"]
    # Everything about the post itself goes in one EXISTS over its row: fewer joins for the
    # planner to order (planning, not execution, was most of a deal's time with one EXISTS each).
    post_ok = [Post.id == Case.post_id, _post_lang_readable(param["languages"])]
    if "account" in param:
        account = param["account"]
        post_ok.append(Post.author_id != account)
        post_ok.append(~exists().where(AccountLink.author_id == Post.author_id, AccountLink.account_id == account))
    conditions = [
        ~exists().where(Assignment.case_id == Case.id, Assignment.juror_id == juror_id),
        ~exists().where(Vote.case_id == Case.id, Vote.juror_id == juror_id),
        exists().where(*post_ok),
        # An appeal goes to a fresh panel: nobody who sat on an earlier round of the same post, nor a
        # lead who read its votes. First rounds (nearly every case) skip the look-ups: their votes
        # are shown to nobody while they are open (jury.panels.case_view).
        or_(Case.review_round == constant(0),
            and_(~exists().where(_earlier.post_id == Case.post_id, _earlier.review_round < Case.review_round,
                                 _earlier_seat.case_id == _earlier.id, _earlier_seat.juror_id == juror_id),
                 ~exists().where(_disclosed.post_id == Case.post_id, VoteDisclosure.case_id == _disclosed.id,
                                 VoteDisclosure.user_id == juror_id),
                 # Nor anyone who sat on a removal behind the author's strikes: appealing the removal
                 # that crossed a threshold appeals the account measure it called for.
                 ~exists().where(_appealed_post.id == Case.post_id, Account.external_id == _appealed_post.author_id,
                                 Strike.account_id == Account.id, Verdict.id == Strike.verdict_id,
                                 _struck_seat.case_id == Verdict.case_id, _struck_seat.juror_id == juror_id),
                 # Nor, on a near-copy's spot check or appeal, anyone who sat on a first-round case of its
                 # cluster (the cluster's own, or a copy's confirmation): other spot checks do not count.
                 or_(Case.cluster_id.is_(None),
                     ~exists().where(_copy_case.cluster_id == Case.cluster_id, _copy_case.review_round == constant(0),
                                     _copy_seat.case_id == _copy_case.id, _copy_seat.juror_id == juror_id)))),
    ]
    if "account" in param:
        conditions.append(~exists().where(and_(Report.post_id == Case.post_id, Report.reporter_id == param["account"])))
    blocked = []
    if "opted_out" in param:
        blocked.append(Case.category.not_in(param["opted_out"]))
    caps = policy.daily_exposure_caps
    closed = sorted(code for code, cap in caps.items() if cap <= 0)
    if closed:  # a cap of 0 shuts the category even for a juror who has seen none of it
        blocked.append(Case.category.not_in(closed))
    counted = {code: cap for code, cap in caps.items() if cap > 0}
    if counted:
        blocked.append(Case.category.not_in(_capped_in_sql(counted, juror_id, param["exposure_since"])))
    if blocked:
        conditions.append(or_(Case.category.is_(None), and_(*blocked)))
    return conditions


def real_case_conditions(juror: User, policy: PolicyInForce) -> list[ColumnElement]:
    """Conditions for an ordinary open case with a free seat."""
    return [Case.state.in_(bindparam("open_states", list(OPEN_CASE_STATES), expanding=True, literal_execute=True)),
            Case.open_seats > constant(0), *fairness_conditions(juror, policy)]


def gold_case_conditions(juror: User, policy: PolicyInForce) -> list[ColumnElement]:
    """Conditions for a live gold case the juror has never seen, nor seen the post of.

    Like fairness_conditions, the juror's values are named bind parameters, so the dealing query
    built from these serves every juror of the same shape.
    """
    earlier = Case.__table__.alias("earlier")
    return [
        Case.state == constant("gold"),
        exists().where(GoldAnswer.case_id == Case.id, GoldAnswer.retired.is_(False)),
        # A juror who sat on the source case (or any case of the post), or a lead who read its
        # votes, would know the answer.
        ~exists().where(earlier.c.post_id == Case.post_id, Assignment.case_id == earlier.c.id,
                        Assignment.juror_id == bindparam("juror_id", juror.id)),
        ~exists().where(_disclosed.post_id == Case.post_id, VoteDisclosure.case_id == _disclosed.id,
                        VoteDisclosure.user_id == bindparam("juror_id", juror.id)),
        *fairness_conditions(juror, policy),
    ]


def gold_cases_left(juror: User, policy: PolicyInForce) -> int:
    """How many gold cases the juror could still be dealt (training stalls at zero)."""
    return db.session.scalar(select(func.count()).select_from(Case).where(*gold_case_conditions(juror, policy))) or 0


def explain(case: Case, juror: User, policy: PolicyInForce) -> list[Exclusion]:
    """Every reason the juror may not be dealt this case (empty: they may)."""
    reasons: list[Exclusion] = []
    post = db.session.get(Post, case.post_id)
    account = juror.network_account_id
    if juror.state == "suspended":
        reasons.append(Exclusion("suspended", "the account is suspended"))
    if case.state == "gold":
        if juror.state not in TRAINING_STATES and policy.gold_share <= 0:
            reasons.append(Exclusion("no_gold", "the policy deals no gold cases to active jurors"))
        gold = db.session.get(GoldAnswer, case.id)
        if gold is None or gold.retired:
            reasons.append(Exclusion("gold_retired", "this gold case is retired"))
        sat = db.session.scalar(select(Assignment.id).join(Case, Case.id == Assignment.case_id).where(
            Case.post_id == case.post_id, Case.id != case.id, Assignment.juror_id == juror.id).limit(1))
        if sat is not None:
            reasons.append(Exclusion("saw_post", "sat on another case of this post"))
    else:
        if case.state not in OPEN_CASE_STATES:
            reasons.append(Exclusion("closed", f"the case is {case.state.replace('_', ' ')}"))
        elif case.open_seats <= 0:
            reasons.append(Exclusion("full", "no free seat on the panel"))
        if juror.state == "paused" or (juror.state == "probation" and probation_possible(policy)):
            reasons.append(Exclusion("training", f"the juror is {juror.state}: gold cases only until they pass"))
    if db.session.scalar(select(Assignment.id).where(Assignment.case_id == case.id,
                                                     Assignment.juror_id == juror.id)) is not None:
        reasons.append(Exclusion("seated", "already dealt this case"))
    if db.session.scalar(select(Vote.id).where(Vote.case_id == case.id, Vote.juror_id == juror.id)) is not None:
        reasons.append(Exclusion("voted", "already voted on this case"))
    if case.origin == "appeal" and db.session.scalar(
            select(Assignment.id).join(Case, Case.id == Assignment.case_id).where(
                Case.post_id == case.post_id, Case.review_round < case.review_round,
                Assignment.juror_id == juror.id).limit(1)) is not None:
        reasons.append(Exclusion("earlier_panel", "sat on the decision under appeal: appeals get a fresh panel"))
    if case.origin == "appeal" and db.session.scalar(
            select(Assignment.id).join(Verdict, Verdict.case_id == Assignment.case_id)
            .join(Strike, Strike.verdict_id == Verdict.id).join(Account, Account.id == Strike.account_id)
            .where(Account.external_id == post.author_id, Assignment.juror_id == juror.id).limit(1)) is not None:
        reasons.append(Exclusion("struck_author", "sat on a removal behind the author's strikes: the appeal may "
                                                  "lift an account measure, so it gets a fresh panel"))
    if case.review_round > 0 and case.cluster_id is not None and db.session.scalar(
            select(Assignment.id).join(Case, Case.id == Assignment.case_id).where(
                Case.cluster_id == case.cluster_id, Case.review_round == 0, Assignment.juror_id == juror.id)
            .limit(1)) is not None:
        reasons.append(Exclusion("cluster_panel", "decided a case of this post's near-copies: a spot check or "
                                                  "an appeal of a copy gets jurors who did not"))
    if db.session.scalar(select(VoteDisclosure.case_id).join(Case, Case.id == VoteDisclosure.case_id).where(
            Case.post_id == case.post_id, VoteDisclosure.user_id == juror.id).limit(1)) is not None:
        reasons.append(Exclusion("saw_votes", "has read the votes of a panel on this post"))
    if account and post.author_id == account:
        reasons.append(Exclusion("author", "the juror wrote the post"))
    if account and db.session.scalar(select(Report.id).where(Report.post_id == post.id,
                                                             Report.reporter_id == account).limit(1)):
        reasons.append(Exclusion("reporter", "the juror reported the post"))
    if account and db.session.scalar(select(AccountLink.id).where(AccountLink.author_id == post.author_id,
                                                                  AccountLink.account_id == account)):
        reasons.append(Exclusion("follows", "the network says the juror follows or is followed by the author"))
    languages = juror_languages(juror)
    if post.lang and post.lang.lower()[:2] not in languages:
        reasons.append(Exclusion("language", f"the post is in {post.lang}; the juror reads "
                                             f"{', '.join(languages) or 'no language set'}"))
    if case.category and case.category in (juror.opted_out_categories or []):
        reasons.append(Exclusion("opted_out", f"the juror opted out of {case.category.replace('_', ' ')}"))
    capped = capped_categories(juror, policy)
    if case.category in capped:
        reasons.append(Exclusion("exposure_cap", f"{capped[case.category]} {case.category.replace('_', ' ')} "
                                                 "cases in 24 hours reaches the daily cap"))
    return reasons
