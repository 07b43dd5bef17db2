"""Internal complaints (DSA Art. 20): an author or reporter contests a decision."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# pending: a fresh panel is reviewing; awaiting_signoff: the panel would overturn and a
# lead must sign off; upheld: the decision stands; overturned: reversed and repaired.
APPEAL_STATES = ("pending", "awaiting_signoff", "upheld", "overturned")
APPEAL_CHANNELS = ("link", "api")


class Appeal(Base):
    """One appeal against one verdict; at most one per verdict."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: one appeal per decision, so a signed link cannot be used twice.
    verdict_id: Mapped[int] = mapped_column(ForeignKey("verdicts.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    appeal_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    appellant_account_id: Mapped[str] = mapped_column(String(128), index=True)
    appellant_role: Mapped[str] = mapped_column(String(16))  # author | reporter
    statement: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    panel_decided_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
