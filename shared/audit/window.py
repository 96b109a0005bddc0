"""The report window: ``--since YYYY-MM-DD [--until YYYY-MM-DD]`` as a half-open UTC interval."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DATE_FORMAT = "YYYY-MM-DD"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadDate(ValueError):
    """A --since/--until value that is not a calendar date in the expected format."""

    def __init__(self, option: str, value: str, why: str = "") -> None:
        self.option = option
        self.value = value
        detail = f" ({why})" if why else ""
        super().__init__(f"{option}: {value!r} is not a date; expected {DATE_FORMAT}, e.g. 2026-11-20{detail}")


def parse_day(option: str, value: str) -> date:
    """Parse one ``YYYY-MM-DD`` (strictly: no times, no other separators); raises :class:`BadDate`."""
    if not _DATE.match(value):
        raise BadDate(option, value)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadDate(option, value, str(exc)) from None


@dataclass(frozen=True, slots=True)
class Window:
    """Records whose bus ``ts`` lies in ``[since, until)``; ``until`` None means "to the end of the log"."""

    since: datetime
    until: datetime | None = None

    @classmethod
    def from_days(cls, since: date, until: date | None = None) -> Window:
        """``--until`` names the last day included, so the window ends at the next midnight (UTC)."""
        start = datetime(since.year, since.month, since.day, tzinfo=UTC)
        end = None
        if until is not None:
            if until < since:
                raise BadDate("--until", until.isoformat(), "before --since")
            end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
        return cls(start, end)

    @classmethod
    def everything(cls) -> Window:
        """The whole log (the reference the benchmark compares a one-day window against)."""
        return cls(datetime(1970, 1, 1, tzinfo=UTC), None)

    def contains(self, moment: datetime) -> bool:
        return moment >= self.since and (self.until is None or moment < self.until)

    def describe(self) -> str:
        end = "end of log" if self.until is None else self.until.strftime("%Y-%m-%d %H:%M UTC")
        return f"{self.since.strftime('%Y-%m-%d %H:%M UTC')} to {end}"
