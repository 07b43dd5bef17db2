"""Clusters for the posts stored before clustering was switched on (`flask clusters backfill`).

A network that turns `clusters.enabled` on has posts stored without a fingerprint: new copies of
them would start clusters of their own instead of joining theirs. The backfill puts those posts in
their clusters, BATCH at a time in id order, each batch its own transaction, with the same matching
as the scoring job (`triage.clusters.assign`) and its `posts_clustered` audit event. It takes only
posts already scored (the scoring job clusters the others itself) and skips posts another
transaction holds, so it can run while intake and workers do; stopped, it goes on where it was,
since a clustered post has its fingerprint.

Cases: a post that already has its own case keeps it. Where a cluster has no open case yet, the
open first-round case of its first member becomes the cluster's case (`cases.cluster_id`), so that
its later copies are routed to it (triage.cluster_cases.route) instead of opening cases of their
own; other members' open cases stay as they are. Old verdicts are not made the cluster's standing
verdict: a removal decided for one post before clusters existed does not remove its later copies
without a juror.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from models import OPEN_CASE_STATES, Case, Post, db
from models.errors import DomainError
from triage import cluster_cases, clusters, transaction
from triage.policy import current_policy

BATCH = 500
MAX_BATCH = 5000


class ClusteringOff(DomainError):
    """The policy does not cluster posts: a backfill would build clusters nothing uses."""


_WAITING = (Post.fingerprint.is_(None), Post.scored_at.is_not(None))


def waiting() -> int:
    """Scored posts with no fingerprint: what a backfill would cluster."""
    return db.session.scalar(select(func.count()).select_from(Post).where(*_WAITING)) or 0


def backfill_batch(after_id: int, similarity: float, size: int = BATCH) -> tuple[int, int]:
    """Cluster up to `size` waiting posts with ids over `after_id` (one transaction); return (how many,
    the last id seen: 0 posts means none is left past after_id)."""
    statement = select(Post).where(*_WAITING, Post.id > after_id).order_by(Post.id).limit(size)
    if db.session.get_bind().dialect.name == "postgresql":
        # As the scoring job locks its posts (triage.intake._unscored): a post held elsewhere waits for the next run.
        statement = statement.with_for_update(skip_locked=True, key_share=True)
    with transaction.atomic(durable=True):
        posts = db.session.scalars(statement).all()
        if not posts:
            return 0, after_id
        clusters.assign(list(posts), similarity)
        _attach_open_cases([post.id for post in posts if post.cluster_id is not None])
        return len(posts), posts[-1].id


def _attach_open_cases(post_ids: list[int]) -> int:
    """Make the open first-round case of the first of these posts in each cluster that cluster's case,
    where the cluster has no open case; return how many were attached."""
    if not post_ids:
        return 0
    candidates = db.session.execute(
        select(Case, Post.cluster_id).join(Post, Post.id == Case.post_id)
        .where(Case.post_id.in_(post_ids), Case.review_round == 0, Case.state.in_(OPEN_CASE_STATES),
               Case.cluster_id.is_(None)).order_by(Post.id)).all()
    if not candidates:
        return 0
    cluster_ids = sorted({cluster_id for _, cluster_id in candidates})
    cluster_cases.lock_clusters(cluster_ids)  # as route() does before it looks for a cluster's case
    taken = set(db.session.scalars(select(Case.cluster_id).where(
        Case.cluster_id.in_(cluster_ids), Case.review_round == 0, Case.state.in_(OPEN_CASE_STATES))))
    attached = 0
    for case, cluster_id in candidates:
        if cluster_id not in taken:
            case.cluster_id = cluster_id
            taken.add(cluster_id)
            attached += 1
    return attached


def backfill(size: int = BATCH, limit: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> int:
    """Cluster every waiting post (or the first `limit`), `size` a batch; return how many were clustered.

    progress(done so far, last post id) after each batch. Raises ClusteringOff when the policy does not
    cluster, ValueError on a size outside 1..MAX_BATCH or a limit under 1."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"the batch size must be from 1 to {MAX_BATCH}")
    if limit is not None and limit < 1:
        raise ValueError("the limit must be at least 1")
    policy = current_policy()
    if not policy.clustering:
        raise ClusteringOff("clustering is off in the policy in force (clusters.enabled): switch it on first, "
                            "or the clusters would be built for nothing")
    done, after = 0, 0
    while limit is None or done < limit:
        count, after = backfill_batch(after, policy.cluster_similarity,
                                      size if limit is None else min(size, limit - done))
        if not count:
            break
        done += count
        if progress:
            progress(done, after)
    return done
