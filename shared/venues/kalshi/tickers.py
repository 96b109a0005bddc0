"""Kalshi ticker grammar (kalshi.md §5): the one home, beside the Kalshi venue, for everything that reads or writes a
Kalshi ticker (the sim's weather and BTC markets, the weather strategy, the resolver's NWS settlement).

Weather: series ``KXHIGHNY`` -> event ``KXHIGHNY-25DEC27`` -> markets ``-B31.5`` (31–32 °F, between),
``-T29`` (below the lowest bucket: less, cap 29) and ``-T36`` (above the highest: greater, floor 36).
BTC 15-minute: event ``KXBTC15M-{YY}{MON}{DD}{HHMM}`` with HHMM the window's close in US Eastern time, market
``<event>-{MM}`` (the close minute).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
EASTERN = ZoneInfo("America/New_York")


class TickerError(ValueError):
    """A ticker that does not follow the grammar."""


def date_code(day: date) -> str:
    """``25DEC27`` for 2025-12-27."""
    return f"{day.year % 100:02d}{MONTHS[day.month - 1]}{day.day:02d}"


def parse_date_code(code: str) -> date:
    match = re.fullmatch(r"(\d\d)([A-Z]{3})(\d\d)", code)
    if match is None or match.group(2) not in MONTHS:
        raise TickerError(f"bad date code {code!r}")
    try:
        return date(2000 + int(match.group(1)), MONTHS.index(match.group(2)) + 1, int(match.group(3)))
    except ValueError as exc:
        raise TickerError(f"bad date code {code!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class WeatherTicker:
    series: str
    day: date
    kind: str  # "B" (between) or "T" (tail)
    strike: Decimal

    @property
    def event(self) -> str:
        return f"{self.series}-{date_code(self.day)}"

    def __str__(self) -> str:
        return f"{self.event}-{self.kind}{format(self.strike, 'f')}"


_WEATHER = re.compile(r"(KXHIGH[A-Z]+)-(\d\d[A-Z]{3}\d\d)-([BT])(-?\d+(?:\.5)?)")  # Midway can stay below 0 °F


def parse_weather(ticker: str) -> WeatherTicker:
    """Split ``KXHIGHNY-25DEC27-B31.5`` into series, day, bucket kind and strike."""
    match = _WEATHER.fullmatch(ticker)
    if match is None:
        raise TickerError(f"not a weather-high market ticker: {ticker!r}")
    kind, strike = match.group(3), Decimal(match.group(4))
    if (kind == "B") != (abs(strike) % 1 == Decimal("0.5")):
        raise TickerError(f"{ticker!r}: B buckets end in .5, T tails are whole degrees")
    return WeatherTicker(match.group(1), parse_date_code(match.group(2)), kind, strike)


def bracket_ticker(series: str, day: date, floor: int) -> str:
    """The two-degree bucket ``floor``..``floor+1`` °F: ``B{floor+0.5}``."""
    return f"{series}-{date_code(day)}-B{Decimal(floor) + Decimal('0.5')}"  # floor -9 is B-8.5 (-9..-8 °F)


def tail_ticker(series: str, day: date, strike: int) -> str:
    return f"{series}-{date_code(day)}-T{strike}"


def btc15m_ticker(close: datetime) -> str:
    """``KXBTC15M-25DEC052015-15`` for the window closing 2025-12-05 20:15 ET."""
    local = close.astimezone(EASTERN)
    return f"KXBTC15M-{date_code(local.date())}{local.hour:02d}{local.minute:02d}-{local.minute:02d}"


_BTC = re.compile(r"KXBTC15M-(\d\d[A-Z]{3}\d\d)(\d\d)(\d\d)-(\d\d)")


def parse_btc15m(ticker: str) -> datetime:
    """The UTC close time named by a ``KXBTC15M`` market ticker."""
    match = _BTC.fullmatch(ticker)
    if match is None or match.group(3) != match.group(4):
        raise TickerError(f"not a KXBTC15M market ticker: {ticker!r}")
    day = parse_date_code(match.group(1))
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute % 15:
        raise TickerError(f"{ticker!r}: close must be a quarter hour")
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=EASTERN).astimezone(UTC)


# Which weather station's Daily Climate Report settles each high-temperature series.
SERIES_STATIONS: dict[str, str] = {
    "KXHIGHNY": "KNYC",
    "KXHIGHCHI": "KMDW",
    "KXHIGHLAX": "KLAX",
    "KXHIGHAUS": "KAUS",
    "KXHIGHPHX": "KPHX",
    "KXHIGHHOU": "KIAH",
    "KXHIGHSFO": "KSFO",
}


def event_day(ticker: str) -> date | None:
    """The day in a weather event or market ticker: ``KXHIGHNY-25DEC27`` (or ``...-B31.5``) -> 2025-12-27."""
    parts = ticker.split("-")
    if len(parts) < 2:
        return None
    try:
        return parse_date_code(parts[1])
    except TickerError:
        return None


def series_of(ticker: str) -> str:
    """The series of an event or market ticker: ``KXHIGHNY-25DEC27-B31.5`` -> ``KXHIGHNY``."""
    return ticker.split("-", 1)[0]
