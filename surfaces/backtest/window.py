"""Which days of replayable data each surface has, and the check that a backtest window lies inside them.

The ranges are read from the vendored data itself (shared/venues/sim/data.py), never from the sim's loops: the FX
and stock venues repeat their bars to keep a long-running fleet trading, and a backtest over a repeat would count
the same real days twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared.venues.sim import data
from shared.venues.sim.weather_forecast import FIRST_SIM_YEAR

BACKTEST_SURFACES: tuple[str, ...] = ("kalshi_st", "fx", "stocks")

# What each surface's replay is made of, for the manifest and the summary: which parts are real and which synthetic.
DATA_NOTES: dict[str, str] = {
    "fx": "real H1 bars (data/fx), quoted with OANDA-like spreads",
    "stocks": "real hourly regular-session bars (data/equities), IBKR Fixed commission",
    "kalshi_st": ("weather brackets priced from real as-issued NYC forecasts and settled on real CLI highs "
                  "(other stations borrow NYC errors around their real 2018/2019 highs: sim outcomes); the "
                  "recorded KXHIGHNY quotes replayed as they were; BTC 15-minute markets on Binance December 2024 "
                  "minutes mapped onto the sim date in a 28-day loop (a synthetic time mapping)"),
}


class WindowError(ValueError):
    """A backtest window the data cannot serve; the message says which data exists."""


@dataclass(frozen=True, slots=True)
class DataRange:
    """The first and last venue day (UTC dates, both included) a surface's data covers."""

    first: date
    last: date

    def describe(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


def _bar_days(series: list[tuple[datetime, datetime]]) -> DataRange:
    # Every instrument must have data on every day of the window: the latest first day, the earliest last day.
    first = max(start for start, _ in series)
    last = min(end for _, end in series)
    return DataRange(first.date(), (last - timedelta(microseconds=1)).date())


def data_range(surface: str) -> DataRange:
    """The days ``surface``'s vendored (or ``$TBOT_DATA_DIR``) data covers; raises WindowError for other surfaces."""
    if surface == "fx":
        spans = []
        for pair in data.FX_FILES:
            bars = data.fx_bars(pair)
            spans.append((bars[0].start, bars[-1].start + timedelta(seconds=bars[-1].seconds)))
        return _bar_days(spans)
    if surface == "stocks":
        spans = []
        for symbol in data.STOCK_SYMBOLS:
            bars = data.stock_bars(symbol)
            spans.append((bars[0].start, bars[-1].start + timedelta(seconds=bars[-1].seconds)))
        return _bar_days(spans)
    if surface == "kalshi_st":
        # The weather markets need a day's as-issued forecasts and its official high; the sim starts its station
        # calendar in FIRST_SIM_YEAR (earlier days have no events at the borrowed-error stations).
        days = sorted(set(data.knyc_forecasts()) & set(data.knyc_cli_highs()))
        first = max(days[0], date(FIRST_SIM_YEAR, 1, 1))
        return DataRange(first, days[-1])
    raise WindowError(f"{surface}: no backtest (its sim replays long-dated markets on a compressed clock, so a "
                      f"venue day there is not a market day); backtest one of {', '.join(BACKTEST_SURFACES)}")


@dataclass(frozen=True, slots=True)
class BacktestWindow:
    """Venue days ``first`` .. ``last`` (both included), i.e. ``[first 00:00Z, last + 1 day 00:00Z)``."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime(self.last.year, self.last.month, self.last.day, tzinfo=UTC) + timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def describe(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


def check_window(surface: str, window: BacktestWindow) -> DataRange:
    """The surface's data range if ``window`` lies inside it; else WindowError saying which range exists."""
    if window.last < window.first:
        raise WindowError(f"--to {window.last.isoformat()} is before --from {window.first.isoformat()}")
    available = data_range(surface)
    if window.first < available.first or window.last > available.last:
        raise WindowError(f"{surface}: no data for {window.describe()}; the data covers {available.describe()} "
                          f"(venue days, UTC)")
    return available
