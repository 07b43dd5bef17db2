"""Reporting periods: whole UTC days, the last one included."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

MAX_DAYS = 3700


class PeriodError(ValueError):
    """Dates that do not make a period."""


def period(first: str | date, last: str | date) -> tuple[datetime, datetime]:
    """[first 00:00 UTC, the day after last 00:00 UTC) from two YYYY-MM-DD dates."""
    try:
        first_day = first if isinstance(first, date) else date.fromisoformat(first)
        last_day = last if isinstance(last, date) else date.fromisoformat(last)
    except ValueError:
        raise PeriodError("dates are YYYY-MM-DD") from None
    if last_day < first_day:
        raise PeriodError("the period ends before it starts")
    if (last_day - first_day).days > MAX_DAYS:
        raise PeriodError(f"a period spans at most {MAX_DAYS} days")
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    end = datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC) + timedelta(days=1)
    return start, end
