"""Known answers (the gold set) and the network's follow links, cached for fair panels."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class GoldAnswer(Base):
    """The expected answer of a gold case, promoted by a lead from a decided case."""

    __tablename__ = "gold_answers"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str | None] = mapped_column(String(32))
    source_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    promoted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    promoted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Leads can retire a gold case that turned out to be ambiguous; its answers stop counting for dealing.
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountLink(Base):
    """An account the network says follows, or is followed by, a post's author."""

    __tablename__ = "account_links"
    __table_args__ = (Index("ix_account_links_author_account", "author_id", "account_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[str] = mapped_column(String(128))


class RelationshipCheck(Base):
    """When the network was last asked about an author's follow links, and whether it could say."""

    __tablename__ = "relationship_checks"

    author_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    supported: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
