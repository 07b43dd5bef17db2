"""Near-duplicate clusters: at intake every new post joins the cluster whose representative it copies,
or starts one, in the transaction that stores it.

Matching a post costs a few indexed statements for the whole batch, whatever the number of clusters:
its LSH band keys (triage/fingerprint.py) are looked up in `cluster_bands` (primary key), the
clusters they name are read by id with their representative's signature, and the estimated
Jaccard similarity decides, against the policy's `clusters.similarity`. The best cluster at or above
it wins; posts of one batch match each other too. A post that matches nothing starts a cluster, its
representative, and stores its band keys; each key belongs to the first cluster that stored it.

**Two copies at once.** On PostgreSQL, two transactions that store the same band key serialise on
it: the second insert waits for the first transaction and then finds the key taken. A key taken by a
cluster this transaction did not see when it matched means a copy committed meanwhile: the new
clusters are rolled back to a savepoint and the batch is matched again, now seeing that cluster
(ATTEMPTS times at most; then the posts keep their own clusters). Band keys go in sorted, in one
statement per transaction, and member counts are raised in cluster order after them, so two intakes
never wait for each other in a circle. SQLite runs one writer at a time.

What later work builds on: `posts.cluster_id` (indexed) lists a cluster's members,
`posts.cluster_similarity` says how close each was to the representative when it joined,
`clusters.member_count` and `last_seen_at` say how big and how live a cluster is.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import bindparam, insert, select, text, update

import audit
from models import Cluster, ClusterBand, Post, db, utcnow
from models.sql import insert_ignore
from triage import fingerprint, transaction
from triage.fingerprint import Sketch

ATTEMPTS = 3


@dataclass
class _Group:
    """Posts of this batch that start one new cluster; the first is its representative."""

    sketch: Sketch
    members: list[tuple[int, float]]
    keys: list[int] = field(default_factory=list)
    cluster_id: int | None = None


@dataclass
class _Plan:
    """Where each matchable post of a batch goes: an existing cluster, or a new group."""

    joins: dict[int, tuple[int, float]] = field(default_factory=dict)
    groups: list[_Group] = field(default_factory=list)


def assign(posts: Sequence[tuple[int, str]], similarity: float, actor: str = "system") -> dict[int, int]:
    """Fingerprint these new posts (id, text) and put each matchable one in a cluster, in the caller's
    transaction; return {post id: cluster id}."""
    if not posts:
        return {}
    sketches = {post_id: fingerprint.sketch(text_) for post_id, text_ in posts}
    matchable = [(post_id, sketch) for post_id, sketch in sketches.items() if sketch.matchable]
    plan = _Plan()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for attempt in range(ATTEMPTS):
        owners, signatures = _candidates(matchable)
        plan = _plan(matchable, owners, signatures, similarity)
        point = transaction.set_savepoint() if postgres and plan.groups else None
        raced = _store_groups(plan.groups, owners)
        if not raced or point is None or attempt == ATTEMPTS - 1:
            break
        point.rewind()
    placed = _place(sketches, plan)
    _count_joins(plan)
    if placed:
        audit.record(db.session, "posts_clustered", "batch", min(placed), {
            "clusters": _members_by_cluster(placed),
            "new_clusters": sorted(group.cluster_id for group in plan.groups)}, actor=actor)
    return placed


def _candidates(matchable: list[tuple[int, Sketch]]) -> tuple[dict[int, int], dict[int, np.ndarray]]:
    """The stored owners of the batch's band keys, and the signatures of those clusters."""
    keys = sorted({key for _, sketch in matchable for key in sketch.band_keys})
    if not keys:
        return {}, {}
    owners = dict(db.session.execute(
        select(ClusterBand.band_key, ClusterBand.cluster_id).where(ClusterBand.band_key.in_(keys))).all())
    if not owners:
        return owners, {}
    rows = db.session.execute(select(Cluster.id, Cluster.signature).where(Cluster.id.in_(set(owners.values()))))
    return owners, {cluster_id: fingerprint.as_signature(signature) for cluster_id, signature in rows}


def _plan(matchable: list[tuple[int, Sketch]], owners: dict[int, int], signatures: dict[int, np.ndarray],
          threshold: float) -> _Plan:
    """Match each post to the most similar stored cluster or earlier new group of the batch at or over
    the threshold (ties go to the stored cluster, then the oldest); else it starts a group."""
    plan = _Plan()
    in_batch: dict[int, int] = {}
    for post_id, sketch in matchable:
        best: tuple[float, int, int] | None = None  # (similarity, preference, -id or -group index)
        for cluster_id in {owners[key] for key in sketch.band_keys if key in owners}:
            if cluster_id in signatures:
                score = fingerprint.similarity(sketch.signature, signatures[cluster_id])
                if score >= threshold and (best is None or (score, 1, -cluster_id) > best):
                    best = (score, 1, -cluster_id)
        for index in {in_batch[key] for key in sketch.band_keys if key in in_batch}:
            score = fingerprint.similarity(sketch.signature, plan.groups[index].sketch.signature)
            if score >= threshold and (best is None or (score, 0, -index) > best):
                best = (score, 0, -index)
        if best is not None and best[1] == 1:
            plan.joins[post_id] = (-best[2], best[0])
        elif best is not None:
            plan.groups[-best[2]].members.append((post_id, best[0]))
        else:
            group = _Group(sketch, [(post_id, 1.0)])
            for key in sketch.band_keys:
                if key not in owners and key not in in_batch:
                    in_batch[key] = len(plan.groups)
                    group.keys.append(key)
            plan.groups.append(group)
    return plan


def _store_groups(groups: list[_Group], owners: dict[int, int]) -> bool:
    """Insert the new clusters and their free band keys; True when a key was taken meanwhile by a
    cluster stored after the match (a copy committed by another transaction)."""
    if not groups:
        return False
    now = utcnow()
    rows = [{"representative_post_id": group.members[0][0], "fingerprint": group.sketch.fingerprint,
             "signature": fingerprint.signature_bytes(group.sketch.signature),
             "member_count": len(group.members), "created_at": now, "last_seen_at": now} for group in groups]
    table = Cluster.__table__
    ids = db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).all()
    bands = []
    for group, cluster_id in zip(groups, ids, strict=True):
        group.cluster_id = cluster_id
        bands.extend({"band_key": key, "cluster_id": cluster_id} for key in group.keys)
    bands.sort(key=lambda row: row["band_key"])
    stored = set(insert_ignore(ClusterBand, bands, ("band_key",), ClusterBand.band_key))
    return any(row["band_key"] not in stored and row["band_key"] not in owners for row in bands)


def _place(sketches: dict[int, Sketch], plan: _Plan) -> dict[int, int]:
    """Write each new post's fingerprint, cluster and similarity; return {post id: cluster id}."""
    placed: dict[int, tuple[int, float]] = dict(plan.joins)
    for group in plan.groups:
        placed.update({post_id: (group.cluster_id, score) for post_id, score in group.members})
    rows = [{"pid": post_id, "fp": sketch.fingerprint, "cid": placed.get(post_id, (None, None))[0],
             "sim": placed.get(post_id, (None, None))[1]} for post_id, sketch in sorted(sketches.items())]
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement for the batch (an UPDATE per post cost a round trip each).
        db.session.execute(_UNNEST_UPDATE, {
            "pids": [r["pid"] for r in rows], "fps": [r["fp"] for r in rows],
            "cids": [r["cid"] for r in rows], "sims": [r["sim"] for r in rows]})
    else:
        posts = Post.__table__
        db.session.execute(update(posts).where(posts.c.id == bindparam("pid")).values(
            fingerprint=bindparam("fp"), cluster_id=bindparam("cid"), cluster_similarity=bindparam("sim")), rows)
    return {post_id: cluster_id for post_id, (cluster_id, _) in placed.items()}


_UNNEST_UPDATE = text(
    "UPDATE posts SET fingerprint = v.fp, cluster_id = v.cid, cluster_similarity = v.sim"
    " FROM unnest(CAST(:pids AS integer[]), CAST(:fps AS varchar[]), CAST(:cids AS integer[]),"
    " CAST(:sims AS double precision[])) AS v(pid, fp, cid, sim) WHERE posts.id = v.pid")


def _count_joins(plan: _Plan) -> None:
    """Raise the member count and last-seen time of each stored cluster the batch joined, in id order."""
    added: dict[int, int] = {}
    for cluster_id, _ in plan.joins.values():
        added[cluster_id] = added.get(cluster_id, 0) + 1
    if not added:
        return
    table = Cluster.__table__
    now = utcnow()
    db.session.execute(update(table).where(table.c.id == bindparam("cid")).values(
        member_count=table.c.member_count + bindparam("n"), last_seen_at=bindparam("seen")),
        [{"cid": cluster_id, "n": n, "seen": now} for cluster_id, n in sorted(added.items())])


def _members_by_cluster(placed: dict[int, int]) -> dict[str, list[int]]:
    """{cluster id: its new members' post ids}, for the audit event."""
    members: dict[str, list[int]] = {}
    for post_id, cluster_id in sorted(placed.items()):
        members.setdefault(str(cluster_id), []).append(post_id)
    return members
