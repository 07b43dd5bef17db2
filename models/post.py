"""Posts from the network, the reports against them, and their model scores."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

POST_STATES = ("visible", "hidden", "removed", "restored")


class Post(Base):
    """A post as the network sent it; `state` mirrors what the network shows."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    author_id: Mapped[str] = mapped_column(String(128), index=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="visible")
    content_hash: Mapped[str] = mapped_column(String(64))
    # Set once scored: the sweeper re-enqueues posts whose scoring job was lost.
    scored_at: Mapped[datetime | None] = mapped_column(index=True)
    score_requested_at: Mapped[datetime | None]
    # Near-duplicates (triage/clusters.py): the SHA-256 of the normalised text, the cluster the post
    # joined at intake and its estimated similarity to the cluster's representative (1.0 for the
    # representative itself). None for posts stored before clustering or while it is off, and
    # (cluster) for texts too short to match.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    # use_alter: clusters name their representative post, so the two tables refer to each other.
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", use_alter=True), index=True)
    cluster_similarity: Mapped[float | None] = mapped_column(Float)


class Report(Base):
    """One user's report of a post, with the rule they say it breaks."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    reporter_id: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Score(Base):
    """Per-label probabilities one model version gave one post."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("post_id", "model_name", "model_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    labels: Mapped[dict[str, Any]]
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    text_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
