"""Declarative base, UTC timestamps and portable column types shared by every model."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, registry

_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the simulated one inside `simulated_clock`)."""
    return datetime.now(UTC) if _clock is None else _clock()


@contextmanager
def simulated_clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Run the application on another clock: inside, utcnow() returns now() (an aware UTC datetime).

    For simulations that play days in minutes (`jury simulate --scenario surge`): deadlines, leases,
    exposure caps and suspensions then run on simulated time. Never set by the web app or workers."""
    global _clock
    saved, _clock = _clock, now
    try:
        yield
    finally:
        _clock = saved


class UTCDateTime(TypeDecorator):
    """A timestamp that is always aware UTC in Python, whatever the database keeps.

    SQLite drops tzinfo on the way back; normalising here keeps comparisons
    between stored and fresh timestamps from raising on one backend only.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Store aware UTC (naive values are taken to be UTC already)."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Give back aware UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL for indexing later; plain JSON text elsewhere.
PortableJSON = JSON().with_variant(JSONB(), "postgresql")

# Stable constraint names so Alembic batch migrations on SQLite can find them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every Jury model."""

    # An explicit registry: Flask-SQLAlchemy subclasses this base, and SQLAlchemy 2.1
    # only accepts a type map given to the registry itself in that case.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), dict[str, Any]: PortableJSON, list[str]: PortableJSON},
    )
