"""Trading days and weeks in a surface's ``day_boundary_tz`` (UTC by default).

A day runs from local midnight to local midnight; a week starts on Monday. Keys are ISO dates of the period's
first day, so they compare and sort like the periods they name. Conversion is cached per zone name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
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


def day_period(moment: datetime, tz_name: str = "UTC") -> tuple[datetime, datetime, date, date]:
    """``(start, end, day, week)`` of ``moment``'s trading day: its bounds as aware datetimes (local midnights, so
    23 or 25 hours long across a DST change), its date and the Monday of its week. Lets a hot loop re-derive the
    trading day only when the clock leaves ``[start, end)``.
    """
    day = trading_day(moment, tz_name)
    tz = zone(tz_name)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    tick = timedelta(microseconds=1)
    if not (start <= moment < end and trading_day(start, tz_name) == day == trading_day(end - tick, tz_name)):
        # A zone whose clocks skip midnight itself: no cacheable bounds; an empty range makes callers recompute.
        start = end = moment
    return start, end, day, week_of(day)
