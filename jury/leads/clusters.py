"""A near-duplicate cluster as a lead sees it: its size, its standing verdict, whether spot checks
paused it, and its members with what happened to each (jury.panels.cluster_verdicts acts on it)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from models import Case, Cluster, Post, Verdict, db
from models.errors import NotFound

# Members listed on the page (the count is always exact).
MEMBERS_SHOWN = 100
TEXT_CHARS = 300


@dataclass(frozen=True)
class Member:
    """One post of the cluster as a row."""

    external_id: str
    author_id: str
    text: str
    similarity: float | None
    state: str
    outcome: str | None  # its first-round verdict: remove or keep, None while undecided
    method: str | None
    case_id: int | None


@dataclass(frozen=True)
class ClusterPage:
    """What the lead's cluster page shows."""

    cluster: Cluster
    representative: Post | None
    standing: Verdict | None
    cluster_case: Case | None
    members: list[Member]
    counts: dict[str, int]  # removed, restored, open spot checks, escalated spot checks


def cluster_page(cluster_id: int) -> ClusterPage:
    """The cluster, its standing verdict, its case and its first MEMBERS_SHOWN members."""
    cluster = db.session.get(Cluster, cluster_id)
    if cluster is None:
        raise NotFound("No such cluster.")
    rows = db.session.execute(
        select(Post, Case, Verdict).outerjoin(Case, (Case.post_id == Post.id) & (Case.review_round == 0))
        .outerjoin(Verdict, Verdict.case_id == Case.id).where(Post.cluster_id == cluster.id)
        .order_by(Post.id).limit(MEMBERS_SHOWN)).all()
    members = [Member(post.external_id, post.author_id, post.text[:TEXT_CHARS], post.cluster_similarity, post.state,
                      verdict.outcome if verdict else None, verdict.method if verdict else None,
                      case.id if case else None) for post, case, verdict in rows]
    cluster_case = db.session.scalar(
        select(Case).where(Case.cluster_id == cluster.id, Case.review_round == 0,
                           Case.origin.not_in(("cluster", "confirm"))).order_by(Case.id.desc()).limit(1))
    states = dict(db.session.execute(select(Post.state, func.count()).where(Post.cluster_id == cluster.id)
                                     .group_by(Post.state)).all())
    checks = dict(db.session.execute(select(Case.state, func.count()).where(
        Case.cluster_id == cluster.id, Case.origin == "spot_check").group_by(Case.state)).all())
    counts = {"removed": states.get("removed", 0), "restored": states.get("restored", 0),
              "spot_checks_open": checks.get("queued", 0) + checks.get("in_review", 0),
              "spot_checks_escalated": checks.get("escalated", 0)}
    return ClusterPage(cluster, db.session.get(Post, cluster.representative_post_id)
                       if cluster.representative_post_id else None,
                       db.session.get(Verdict, cluster.verdict_id) if cluster.verdict_id else None,
                       cluster_case, members, counts)
