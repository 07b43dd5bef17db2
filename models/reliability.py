"""Estimated juror reliabilities and the runs of the full re-estimation that produced them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class JurorReliability(Base):
    """A juror's current confusion matrix (sensitivity, specificity), from the latest EM run."""

    __tablename__ = "juror_reliability"

    juror_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sensitivity: Mapped[float] = mapped_column(Float)
    specificity: Mapped[float] = mapped_column(Float)
    # Soft votes behind the estimate: few votes means the prior still dominates.
    votes: Mapped[float] = mapped_column(Float, default=0.0)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("reliability_runs.id"))
    estimated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReliabilityRun(Base):
    """One full Dawid–Skene re-estimation over every vote, gold answer and lead decision."""

    __tablename__ = "reliability_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    votes: Mapped[int] = mapped_column(Integer)
    cases: Mapped[int] = mapped_column(Integer)
    jurors: Mapped[int] = mapped_column(Integer)
    known: Mapped[int] = mapped_column(Integer)
    # Verdicts that existed when it ran: the next run is due after enough new ones.
    verdicts: Mapped[int] = mapped_column(Integer)
    iterations: Mapped[int] = mapped_column(Integer)
    log_likelihood: Mapped[float] = mapped_column(Float)
    # The model score's calibration into a prior: log-odds = intercept + slope * logit(score), for cases
    # nobody reported (the model flagged them); the prior_reported_ pair for reported cases (null on runs
    # that fitted one calibration for all: the first pair stands for both).
    prior_intercept: Mapped[float] = mapped_column(Float, default=0.0)
    prior_slope: Mapped[float] = mapped_column(Float, default=0.0)
    prior_reported_intercept: Mapped[float | None] = mapped_column(Float)
    prior_reported_slope: Mapped[float | None] = mapped_column(Float)
