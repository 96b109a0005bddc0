"""Parse the NWS Daily Climate Report (CLI product text) into the day's maximum temperature.

Only the final report counts for settlement: the one issued after midnight that summarises YESTERDAY. The same-day
preliminary report ("VALID TODAY AS OF 0400 PM LOCAL TIME", section TODAY) is recognised and marked not final.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

_SUMMARY = re.compile(r"CLIMATE SUMMARY FOR\s+([A-Z]+)\s+(\d{1,2})\s+(\d{4})")
_PRELIMINARY = re.compile(r"VALID\s+(?:TODAY\s+)?AS OF", re.IGNORECASE)
_TEMPERATURE = re.compile(r"^\s*TEMPERATURE \(F\)\s*$", re.MULTILINE)
_PERIOD = re.compile(r"^\s*(YESTERDAY|TODAY)\s*$", re.MULTILINE)
_MAXIMUM = re.compile(r"^\s*MAXIMUM\s+(-?\d+|MM)\b", re.MULTILINE)
_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "JANUARY",
            "FEBRUARY",
            "MARCH",
            "APRIL",
            "MAY",
            "JUNE",
            "JULY",
            "AUGUST",
            "SEPTEMBER",
            "OCTOBER",
            "NOVEMBER",
            "DECEMBER",
        ),
        start=1,
    )
}


class CliParseError(ValueError):
    """The product text is not a CLI report this parser understands."""


@dataclass(frozen=True, slots=True)
class CliReport:
    """What one CLI product says about one climate day."""

    day: date
    max_f: int | None  # None when the report says MM (missing)
    final: bool
    issued_at: datetime | None = None


def parse_cli(text: str, issued_at: datetime | None = None) -> CliReport:
    """Parse a CLI product's text; CliParseError if the summary date or the temperature maximum cannot be found."""
    summary = _SUMMARY.search(text)
    if summary is None:
        raise CliParseError("no 'CLIMATE SUMMARY FOR <date>' line")
    month = _MONTHS.get(summary.group(1))
    if month is None:
        raise CliParseError(f"unknown month {summary.group(1)!r}")
    day = date(int(summary.group(3)), month, int(summary.group(2)))
    section = _TEMPERATURE.search(text)
    if section is None:
        raise CliParseError("no TEMPERATURE (F) section")
    rest = text[section.end() :]
    period = _PERIOD.search(rest)
    maximum = _MAXIMUM.search(rest)
    if maximum is None:
        raise CliParseError("no MAXIMUM line in the TEMPERATURE section")
    preliminary = _PRELIMINARY.search(text) is not None or (period is not None and period.group(1) == "TODAY")
    value = maximum.group(1)
    return CliReport(day=day, max_f=None if value == "MM" else int(value), final=not preliminary, issued_at=issued_at)
