"""Read models for pages: what a juror or lead may see of a case, and nothing more."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, distinct, exists, func, select
from sqlalchemy.orm import contains_eager

from models import (
    VOTES_SHOWN_STATES,
    Appeal,
    Assignment,
    Case,
    Cluster,
    GoldAnswer,
    Post,
    Report,
    Score,
    User,
    Verdict,
    Vote,
    VoteDisclosure,
    db,
    utcnow,
)
from models.errors import NO_SUCH_CASE, NotFound
from models.rules import RULES_BY_CODE
from models.sql import insert_ignore
from triage import transaction

# A post whose toxicity is at least this stays blurred until the juror reveals it.
BLUR_AT = 0.5


@dataclass(frozen=True)
class CaseView:
    """One case as a page shows it."""

    id: int
    state: str
    origin: str
    severity: int
    priority: float
    post: Post
    reports: list[tuple[str, str | None]]  # (reason title, comment)
    report_count: int
    scores: dict[str, float]
    model: str | None
    blurred: bool
    lease_expires_at: datetime | None
    verdict: Verdict | None
    votes: list[Vote]  # empty unless the viewer may see them
    seated: bool  # the viewer holds or held a seat on this case
    appeal_statement: str | None = None  # on an appeal case: what the appellant wrote
    cluster: ClusterContext | None = None  # on a case that decides for near-copies, or checks one


@dataclass(frozen=True)
class ClusterContext:
    """What a juror sees of a post's near-copies: how many there are, a few of them, and for a copy
    held under a standing removal, the rule it was removed for."""

    id: int
    size: int
    variants: list[str]
    standing_rule: str | None = None  # confirm and spot-check cases: the rule the cluster was removed for


# Variants shown beside the post, each cut to this many characters.
VARIANTS_SHOWN = 3
VARIANT_CHARS = 500


# Built once: the juror's screen runs them for every case (see triage.dealing).
# Its own `scores` is not the outer query's (joined to it): correlate only the post.
_LATEST_SCORE_ID = (select(Score.id).where(Score.post_id == Post.id).correlate_except(Score)
                    .order_by(Score.scored_at.desc(), Score.id.desc()).limit(1).scalar_subquery())
_CASE_POST_SEAT_VERDICT = (
    select(Case, Post, Assignment, Verdict, Score.labels, Score.model_name, Score.model_version)
    .join(Post, Post.id == Case.post_id)
    .outerjoin(Assignment, and_(Assignment.case_id == Case.id, Assignment.juror_id == bindparam("viewer_id")))
    .outerjoin(Verdict, Verdict.case_id == Case.id)
    .outerjoin(Score, Score.id == _LATEST_SCORE_ID)
    .where(Case.id == bindparam("case_id"))
    # Case.post is eager by default: fill it from the join above rather than join posts twice.
    .options(contains_eager(Case.post))
)
_REPORTS = (select(Report.reason, Report.comment).where(Report.post_id == bindparam("post_id"))
            .order_by(Report.received_at).limit(50))


def case_view(case_id: int, viewer: User) -> CaseView:
    """The case as `viewer` may see it; other jurors' votes only after the verdict, or to leads."""
    # The case, its post, the viewer's seat, the verdict and the latest scores in one round trip
    # (a page per vote: under load each round trip is another wait for a core).
    row = db.session.execute(_CASE_POST_SEAT_VERDICT, {"case_id": case_id, "viewer_id": viewer.id}).first()
    if row is None:
        raise NotFound(NO_SUCH_CASE)
    case, post, assignment, verdict, labels, model_name, model_version = row
    if not viewer.is_lead and assignment is None:
        raise NotFound(NO_SUCH_CASE)  # the same answer as a missing id
    reports = db.session.execute(_cluster_reports(case) if _decides_for_cluster(case) else _REPORTS,
                                 {"post_id": post.id}).all()
    scores = labels if model_name is not None else {}
    model = f"{model_name}:{model_version}" if model_name is not None else None
    votes = []
    # Blind voting: nobody, leads included, sees a panel's votes until it is done (a verdict or an
    # escalation); a lead who then reads them is never dealt a seat on that post (disclose_votes).
    if verdict is not None or (viewer.is_lead and assignment is None and case.state in VOTES_SHOWN_STATES):
        votes = list(db.session.scalars(select(Vote).where(Vote.case_id == case_id).order_by(Vote.cast_at)))
        if votes and viewer.is_lead and assignment is None:
            disclose_votes([case_id], viewer)
    origin, state = case.origin, case.state
    if case.origin == "gold" and not (viewer.is_lead and assignment is None):
        # Known-answer cases look like any case under review to the juror dealt one.
        origin, state = _gold_disguise(case)
    return CaseView(
        id=case.id, state=state, origin=origin, severity=case.severity, priority=case.priority,
        post=post,
        reports=[(RULES_BY_CODE[r].title if r in RULES_BY_CODE else r, c) for r, c in reports],
        report_count=case.report_count, scores=scores, model=model,
        blurred=float(scores.get("toxicity", 0.0)) >= BLUR_AT or case.severity >= 2,
        lease_expires_at=assignment.expires_at if assignment and assignment.state == "active" else None,
        verdict=verdict, votes=votes, seated=assignment is not None,
        appeal_statement=_appeal_statement(case), cluster=_cluster_context(case, post),
    )


def votes_of(case_ids: list[int], lead: User) -> dict[int, list[Vote]]:
    """The votes of panels that are done, for a lead's pages; open panels' votes are never read.

    Reading them is remembered (disclose_votes), so the lead sits on no later panel of those posts.
    """
    shown = list(db.session.scalars(select(Case.id).where(Case.id.in_(case_ids),
                                                          Case.state.in_(VOTES_SHOWN_STATES))))
    votes: dict[int, list[Vote]] = {case_id: [] for case_id in case_ids}
    if shown:
        for vote in db.session.scalars(select(Vote).where(Vote.case_id.in_(shown)).order_by(Vote.cast_at)):
            votes[vote.case_id].append(vote)
        disclose_votes([case_id for case_id in shown if votes[case_id]], lead)
    return votes


def disclose_votes(case_ids: list[int], lead: User) -> None:
    """Remember that `lead` has read these cases' votes, and commit (a page may be read twice at once)."""
    if not case_ids:
        return
    now = utcnow()
    rows = [{"case_id": case_id, "user_id": lead.id, "seen_at": now} for case_id in case_ids]
    with transaction.atomic():
        insert_ignore(VoteDisclosure, rows, ("case_id", "user_id"), None)


def _appeal_statement(case: Case) -> str | None:
    """The appellant's statement, which an appeal panel weighs with the post."""
    if case.origin != "appeal":
        return None
    return db.session.scalar(select(Appeal.statement).where(Appeal.appeal_case_id == case.id))


def _decides_for_cluster(case: Case) -> bool:
    """Whether the case is its cluster's: its copies' reports count on it, so the juror reads them."""
    return case.cluster_id is not None and case.review_round == 0 and case.origin not in ("cluster", "confirm")


def _cluster_reports(case: Case):
    """The reports of the case's post and of its copies that have no case of their own."""
    own_case = exists().where(Case.post_id == Post.id, Case.review_round == 0)
    members = select(Post.id).where(Post.cluster_id == case.cluster_id, ~own_case)
    return (select(Report.reason, Report.comment)
            .where((Report.post_id == bindparam("post_id")) | Report.post_id.in_(members))
            .order_by(Report.received_at).limit(50))


def _cluster_context(case: Case, post: Post) -> ClusterContext | None:
    """The post's near-copies, for a case that decides for its cluster or checks a copy of one."""
    if case.cluster_id is None or case.origin in ("gold", "appeal"):
        return None  # an appeal judges its own post
    cluster = db.session.get(Cluster, case.cluster_id)
    if cluster is None or (cluster.member_count <= 1 and case.origin not in ("confirm", "spot_check")):
        return None  # a post alone in its cluster: nothing to say
    variants = db.session.scalars(
        select(func.substr(Post.text, 1, VARIANT_CHARS)).where(Post.cluster_id == cluster.id, Post.id != post.id,
                                                                Post.text != post.text)
        .order_by(Post.id).limit(VARIANTS_SHOWN)).all()
    standing = None
    if case.origin in ("confirm", "spot_check"):
        standing = db.session.scalar(select(Verdict.rule).where(Verdict.id == cluster.verdict_id)) \
            if cluster.verdict_id else None
    return ClusterContext(id=cluster.id, size=cluster.member_count, variants=list(variants), standing_rule=standing)


def _gold_disguise(case: Case) -> tuple[str, str]:
    """The origin and state a gold case shows its juror: those of an ordinary case in review."""
    source_origin = db.session.scalar(
        select(Case.origin).join(GoldAnswer, GoldAnswer.source_case_id == Case.id).where(GoldAnswer.case_id == case.id)
    )
    return source_origin or "reported", "in_review"


def juror_summary(juror: User) -> dict[str, int]:
    """The juror's own counts for their home page, and the live gold cases (one round trip)."""
    live_gold = (select(func.count()).select_from(GoldAnswer).where(GoldAnswer.retired.is_(False))
                 .scalar_subquery())
    votes, decided, agreed, gold_cases = db.session.execute(
        select(func.count(distinct(Vote.id)), func.count(Verdict.id),
               func.count(Verdict.id).filter(Vote.decision == Verdict.outcome), live_gold)
        .select_from(Vote).outerjoin(Verdict, Verdict.case_id == Vote.case_id).where(Vote.juror_id == juror.id)
    ).one()
    return {"votes": votes, "decided": decided, "agreed": agreed, "live_gold_cases": gold_cases}
