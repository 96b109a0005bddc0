"""Trading days and weeks in a surface's ``day_boundary_tz`` (UTC by default).

A day runs from local midnight to local midnight; a week starts on Monday. Keys are ISO dates of the period's
first day, so they compare and sort like the periods they name. Conversion is cached per zone name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=32)
def zone(name: str) -> tzinfo:
    """The tzinfo for a zone name; raises ValueError for an unknown zone."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
        raise ValueError(f"unknown time zone {name!r}") from exc


def trading_day(moment: datetime, tz_name: str = "UTC") -> date:
    """The local calendar date of ``moment`` in ``tz_name``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: tbot only handles timezone-aware times")
    return moment.astimezone(zone(tz_name)).date()


def trading_week(moment: datetime, tz_name: str = "UTC") -> date:
    """The Monday that starts ``moment``'s local week in ``tz_name``."""
    return week_of(trading_day(moment, tz_name))


def week_of(day: date) -> date:
    """The Monday that starts the week of ``day``."""
    return day - timedelta(days=day.weekday())
