"""Near-duplicate clusters: every new post joins the cluster whose representative it copies, or starts
one: in the scoring job's transaction (`assign`), or for a post a report carries, in the intake
transaction that stores it (`store_posts`), so its case can join its cluster's.

Matching a post costs a few indexed statements for the whole batch, whatever the number of clusters:
its LSH band keys (triage/fingerprint.py) are looked up in `cluster_bands` (primary key), the
clusters they name are read by id with their representative's signature, and the estimated
Jaccard similarity decides, against the policy's `clusters.similarity`. The best cluster at or above
it wins; posts of one batch match each other too. A post that matches nothing starts a cluster, its
representative, and stores its band keys; each key belongs to the first cluster that stored it.

The clusters are stored before the posts, so each post row goes in once, with its fingerprint,
cluster and similarity: an UPDATE of the posts just stored would write each of them (and all its
index entries) a second time. The new clusters then name their representative (their first post).

**Two copies at once.** On PostgreSQL, two transactions that store the same band key serialise on
it: the second insert waits for the first transaction and then finds the key taken. A key taken by a
cluster this transaction did not see when it matched means a copy committed meanwhile; a post id
the insert skipped means the same post was stored meanwhile. Either way the batch goes back to a
savepoint and is matched again, now seeing that cluster or post (ATTEMPTS times at most; the last
attempt keeps what it finds). Band keys go in sorted, in one statement per transaction, before the
posts, and member counts are raised in cluster order after them, so two intakes never wait for each
other in a circle. SQLite runs one writer at a time.

What later work builds on: `posts.cluster_id` (indexed) lists a cluster's members,
`posts.cluster_similarity` says how close each was to the representative when it joined,
`clusters.member_count` and `last_seen_at` say how big and how live a cluster is.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm.attributes import set_committed_value

import audit
from models import Cluster, ClusterBand, Post, db, utcnow
from models.sql import insert_ignore
from triage import fingerprint, transaction
from triage.fingerprint import Sketch

ATTEMPTS = 3


@dataclass
class _Group:
    """Posts of this batch (external id, similarity) that start one new cluster; the first is its
    representative."""

    sketch: Sketch
    members: list[tuple[str, float]]
    keys: list[int] = field(default_factory=list)
    cluster_id: int | None = None


@dataclass
class _Plan:
    """Where each matchable post of a batch goes (by external id): a stored cluster, or a new group."""

    joins: dict[str, tuple[int, float]] = field(default_factory=dict)
    groups: list[_Group] = field(default_factory=list)


def assign(posts: list[Post], similarity: float) -> list[int]:
    """Put posts already stored (and locked by the caller: the scoring job's batch) that have no
    fingerprint yet in their clusters, in the caller's transaction; return their ids.

    The same matching as `store_posts`, with the posts' rows updated instead of inserted: the
    scoring job clusters what intake stored, so the intake request does not wait for it."""
    todo = {post.external_id: post for post in posts if post.fingerprint is None}
    if not todo:
        return []
    rows = [{"external_id": post.external_id, "text": post.text} for post in todo.values()]

    def update_rows(filled: list[dict]) -> list[int]:
        db.session.execute(
            update(Post.__table__).where(Post.__table__.c.id == bindparam("pid")).values(
                fingerprint=bindparam("fp"), cluster_id=bindparam("cid"), cluster_similarity=bindparam("sim")),
            [{"pid": todo[row["external_id"]].id, "fp": row["fingerprint"], "cid": row["cluster_id"],
              "sim": row["cluster_similarity"]} for row in filled])
        for row in filled:
            post = todo[row["external_id"]]
            for name in ("fingerprint", "cluster_id", "cluster_similarity"):
                set_committed_value(post, name, row[name])
        return [todo[row["external_id"]].id for row in filled]

    return store_posts(rows, similarity, update_rows, stored=True)


def store_posts(rows: list[dict], similarity: float, insert_rows: Callable[[list[dict]], list[int]],
                stored: bool = False) -> list[int]:
    """Put the batch's new posts in their clusters and store the batch with `insert_rows` (the post
    rows as intake built them, one per external id; it returns the new posts' ids), in the caller's
    transaction; return what `insert_rows` returned.

    Clusters come first and each post row goes in with its fingerprint, cluster and similarity, so no
    post is written twice. When another transaction stored one of these ids meanwhile (the insert
    skips it) or a cluster with one of these band keys, the batch starts again from a savepoint.
    `stored`: the rows are stored already and `insert_rows` updates them (`assign`).
    """
    sketches: dict[str, Sketch] = {}
    postgres = _postgres()
    for attempt in range(ATTEMPTS):
        known = set() if stored else _known_posts(rows)
        fresh = [row["external_id"] for row in rows if row["external_id"] not in known]
        todo = [row for row in rows if row["external_id"] not in known and row["external_id"] not in sketches]
        sketches.update(zip([row["external_id"] for row in todo],
                            fingerprint.sketches([row["text"] for row in todo]), strict=True))
        matchable = [(external_id, sketches[external_id]) for external_id in fresh
                     if sketches[external_id].matchable]
        owners, signatures = _candidates(matchable)
        plan = _plan(matchable, owners, signatures, similarity)
        point = transaction.set_savepoint() if postgres and fresh and attempt < ATTEMPTS - 1 else None
        raced = _store_groups(plan.groups, similarity)
        _fill(rows, {external_id: sketches[external_id] for external_id in fresh}, plan)
        new_ids = insert_rows(rows)
        if point is None or (not raced and len(new_ids) == len(fresh)):
            break
        point.rewind()
    _count_joins(plan)
    _set_representatives(plan)
    if new_ids and (plan.joins or plan.groups):
        # Which stored cluster each copy joined; a new cluster's members are its posts' cluster_id.
        audit.record(db.session, "posts_clustered", "batch", min(new_ids), {
            "joined": _joined(plan), "new_clusters": sorted(group.cluster_id for group in plan.groups)},
            actor="system")
    return new_ids


def _candidates(matchable: list[tuple[str, Sketch]]) -> tuple[dict[int, int], dict[int, np.ndarray]]:
    """The stored owners of the batch's band keys, and the signatures of those clusters."""
    return _owners(sorted({key for _, sketch in matchable for key in sketch.band_keys}))


def _owners(keys: list[int]) -> tuple[dict[int, int], dict[int, np.ndarray]]:
    """The clusters that own these band keys ({key: cluster id}) and their signatures."""
    if not keys:
        return {}, {}
    if _postgres():
        owners = dict(db.session.execute(_OWNERS, {"keys": _int_array(keys)}).all())
        rows = db.session.execute(_SIGNATURES, {"ids": _int_array(set(owners.values()))}) if owners else []
    else:
        owners = dict(db.session.execute(
            select(ClusterBand.band_key, ClusterBand.cluster_id).where(ClusterBand.band_key.in_(keys))).all())
        rows = db.session.execute(select(Cluster.id, Cluster.signature).where(Cluster.id.in_(set(owners.values()))))
    return owners, {cluster_id: fingerprint.as_signature(signature) for cluster_id, signature in rows}


# PostgreSQL: a batch's keys travel as one array literal (psycopg dumps a list of ten thousand ints
# element by element, and an IN list of as many parameters cost more to build than to run).
_OWNERS = text("SELECT band_key, cluster_id FROM cluster_bands WHERE band_key = ANY(CAST(:keys AS bigint[]))")
_SIGNATURES = text("SELECT id, signature FROM clusters WHERE id = ANY(CAST(:ids AS integer[]))")
_KNOWN = text("SELECT external_id FROM posts WHERE external_id = ANY(:ids)")
_NEW_IDS = text("SELECT nextval(pg_get_serial_sequence('clusters', 'id')) FROM generate_series(1, :n)")
_NEW_CLUSTERS = text(
    "INSERT INTO clusters (id, fingerprint, signature, member_count, created_at, last_seen_at)"
    " SELECT v.id, v.fp, v.sig, v.n, :now, :now FROM unnest(CAST(:ids AS integer[]), CAST(:fps AS varchar[]),"
    " CAST(:sigs AS bytea[]), CAST(:counts AS integer[])) AS v(id, fp, sig, n)")
_REPRESENTATIVES = text(
    "UPDATE clusters SET representative_post_id = posts.id FROM unnest(CAST(:ids AS integer[]),"
    " CAST(:posts AS varchar[])) AS v(cluster_id, external_id) JOIN posts ON posts.external_id = v.external_id"
    " WHERE clusters.id = v.cluster_id")
_NEW_BANDS = text(
    "INSERT INTO cluster_bands (band_key, cluster_id) SELECT * FROM unnest(CAST(:keys AS bigint[]),"
    " CAST(:ids AS integer[])) ON CONFLICT (band_key) DO NOTHING RETURNING band_key")


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _int_array(values) -> str:
    """A PostgreSQL array literal of integers."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def _known_posts(rows: list[dict]) -> set[str]:
    """The batch's external ids already stored."""
    ids = [row["external_id"] for row in rows]
    if _postgres():
        return set(db.session.scalars(_KNOWN, {"ids": ids}))
    return set(db.session.scalars(select(Post.external_id).where(Post.external_id.in_(ids))))


def _plan(matchable: list[tuple[str, Sketch]], owners: dict[int, int], signatures: dict[int, np.ndarray],
          threshold: float) -> _Plan:
    """Match each post to the most similar stored cluster or earlier new group of the batch at or over
    the threshold (ties go to the stored cluster, then the oldest); else it starts a group."""
    plan = _Plan()
    in_batch: dict[int, int] = {}
    for external_id, sketch in matchable:
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
            plan.joins[external_id] = (-best[2], best[0])
        elif best is not None:
            plan.groups[-best[2]].members.append((external_id, best[0]))
        else:
            group = _Group(sketch, [(external_id, 1.0)])
            for key in sketch.band_keys:
                if key not in owners and key not in in_batch:
                    in_batch[key] = len(plan.groups)
                    group.keys.append(key)
            plan.groups.append(group)
    return plan


def _store_groups(groups: list[_Group], threshold: float) -> bool:
    """Insert the new clusters and their free band keys (sorted); True when a key was taken meanwhile
    by a similar cluster stored after the match (a copy committed by another transaction)."""
    if not groups:
        return False
    now = utcnow()
    # The representative is named once the posts are stored (_set_representatives).
    if _postgres():
        ids = list(db.session.scalars(_NEW_IDS, {"n": len(groups)}))
        db.session.execute(_NEW_CLUSTERS, {
            "ids": _int_array(ids), "fps": [group.sketch.fingerprint for group in groups],
            "sigs": [fingerprint.signature_bytes(group.sketch.signature) for group in groups],
            "counts": _int_array(len(group.members) for group in groups), "now": now})
    else:
        table = Cluster.__table__
        ids = db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), [{
            "representative_post_id": None, "fingerprint": group.sketch.fingerprint,
            "signature": fingerprint.signature_bytes(group.sketch.signature), "member_count": len(group.members),
            "created_at": now, "last_seen_at": now} for group in groups]).all()
    bands: list[tuple[int, int]] = []
    for group, cluster_id in zip(groups, ids, strict=True):
        group.cluster_id = cluster_id
        bands.extend((key, cluster_id) for key in group.keys)
    if not bands:
        return False
    bands.sort()
    if _postgres():
        stored = set(db.session.scalars(_NEW_BANDS, {"keys": _int_array(key for key, _ in bands),
                                                     "ids": _int_array(cluster_id for _, cluster_id in bands)}))
    else:
        stored = set(insert_ignore(ClusterBand, [{"band_key": key, "cluster_id": cluster_id}
                                                 for key, cluster_id in bands], ("band_key",), ClusterBand.band_key))
    # The keys owned before the match were left out of the groups' keys: a key refused now was
    # stored since, by a new cluster of another transaction, which matters only if it is similar.
    taken = {key: cluster_id for key, cluster_id in bands if key not in stored}
    return bool(taken) and _similar_taken(groups, taken, threshold)


def _similar_taken(groups: list[_Group], taken: dict[int, int], threshold: float) -> bool:
    """Whether a cluster that took one of these keys meanwhile is similar enough to its group to join:
    a copy stored by another transaction (rather than an unrelated post whose band happened to match)."""
    owners, signatures = _owners(sorted(taken))
    mine = {group.cluster_id: group.sketch.signature for group in groups}
    return any(fingerprint.similarity(mine[cluster_id], signatures[owners[key]]) >= threshold
               for key, cluster_id in taken.items() if owners.get(key) in signatures)


def _fill(rows: list[dict], sketches: dict[str, Sketch], plan: _Plan) -> None:
    """Give each post row its fingerprint, cluster and similarity (None for posts already stored)."""
    placed: dict[str, tuple[int, float]] = dict(plan.joins)
    for group in plan.groups:
        placed.update({external_id: (group.cluster_id, score) for external_id, score in group.members})
    for row in rows:
        sketch = sketches.get(row["external_id"])
        cluster_id, score = placed.get(row["external_id"], (None, None))
        row.update(fingerprint=sketch.fingerprint if sketch else None, cluster_id=cluster_id,
                   cluster_similarity=score)


def _set_representatives(plan: _Plan) -> None:
    """Each new cluster's representative: its first post, found by its external id (unique index)."""
    if not plan.groups:
        return
    if _postgres():
        db.session.execute(_REPRESENTATIVES, {"ids": _int_array(group.cluster_id for group in plan.groups),
                                              "posts": [group.members[0][0] for group in plan.groups]})
        return
    table, posts = Cluster.__table__, Post.__table__
    first = select(posts.c.id).where(posts.c.external_id == bindparam("post")).scalar_subquery()
    db.session.execute(update(table).where(table.c.id == bindparam("cid")).values(representative_post_id=first),
                       [{"cid": group.cluster_id, "post": group.members[0][0]} for group in plan.groups])


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


def _joined(plan: _Plan) -> dict[str, list[str]]:
    """{stored cluster id: the external ids of the batch's posts that joined it}, for the audit event."""
    members: dict[str, list[str]] = {}
    for external_id, (cluster_id, _) in plan.joins.items():
        members.setdefault(str(cluster_id), []).append(external_id)
    return members
