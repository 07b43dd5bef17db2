"""Signatures of intake requests already accepted, so a captured request cannot be replayed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SignatureNonce(Base):
    """One accepted signed request: SHA-256 of "<t>.<body>", kept until its signature has expired anyway."""

    __tablename__ = "signature_nonces"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
