"""Near-duplicate clusters of posts and the LSH band keys that find them (triage/clusters.py fills both)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Cluster(Base):
    """Posts whose texts are near-duplicates of one representative post (its first member)."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The first member; named in the transaction that creates the cluster, just after its posts are
    # stored (a cluster is created before them, so they go in with its id).
    representative_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    # The representative's exact fingerprint (SHA-256 of its normalised text) and its MinHash
    # signature (triage/fingerprint.py: NUM_PERM little-endian uint32), which new posts are compared with.
    fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    member_count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When its latest member arrived.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The standing verdict (jury.panels.cluster_verdicts): the removal on the cluster's case, which
    # later copies are hidden and removed under; None while none stands (or after a lead reversed it).
    verdict_id: Mapped[int | None] = mapped_column(ForeignKey("verdicts.id", use_alter=True))
    # When a spot check's juror disagreed: later copies are then hidden and confirmed by a juror one
    # by one, until a lead resumes auto-apply. When a lead reversed the cluster's verdict.
    paused_at: Mapped[datetime | None]
    reversed_at: Mapped[datetime | None]
    # The removal a lead reversed, whose copies a job restores (the sweeper finds a lost one by it).
    reversed_verdict_id: Mapped[int | None] = mapped_column(ForeignKey("verdicts.id", use_alter=True))


class ClusterBand(Base):
    """One LSH band key of a cluster's signature: a post whose signature shares a band key with a
    cluster is a candidate member of it. A key belongs to the first cluster that stored it.

    An index, not a record: no foreign key, so nothing but its primary key is maintained on insert
    (millions of clusters make tens of millions of rows). Only triage/clusters.py writes it."""

    __tablename__ = "cluster_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cluster_id: Mapped[int] = mapped_column(Integer)
