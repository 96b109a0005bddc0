"""Loaders for the real historical data vendored under ``data/`` (see each set's SOURCE.txt).

Files are read once per process and cached; CSVs may be gzip'd (``.csv.gz``). Prices are parsed into Decimal,
times into timezone-aware UTC. A missing or malformed file raises :class:`SimDataError` naming the file.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.config import repo_root

_PACIFIC = ZoneInfo("America/Los_Angeles")


class SimDataError(Exception):
    """A vendored data file is missing or cannot be parsed."""


def data_dir() -> Path:
    """The vendored data folder: ``$TBOT_DATA_DIR`` if set, else ``data/`` in the checkout."""
    override = os.environ.get("TBOT_DATA_DIR")
    return Path(override) if override else repo_root() / "data"


def _text(relative: str) -> str:
    path = data_dir() / relative
    if not path.exists():
        raise SimDataError(f"{path}: vendored data file missing")
    raw = path.read_bytes()
    return gzip.decompress(raw).decode("utf-8") if path.suffix == ".gz" else raw.decode("utf-8")


def _rows(relative: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(relative))))


def _table(relative: str, *columns: str) -> list[list[str]]:
    """Just ``columns`` of every row, in that order (a plain reader: several times faster than DictReader)."""
    reader = csv.reader(io.StringIO(_text(relative)))
    header = next(reader)
    try:
        picks = [header.index(c) for c in columns]
    except ValueError as exc:
        raise SimDataError(f"{relative}: missing column ({exc})") from None
    return [[row[i] for i in picks] for row in reader if row]


def _dec(value: str, where: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise SimDataError(f"{where}: not a number: {value!r}") from None


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLC bar of real data, start time in UTC (data time, before any replay mapping)."""

    start: datetime
    seconds: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 0


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


FX_FILES = {
    "EUR_USD": "EURUSD",
    "GBP_USD": "GBPUSD",
    "USD_JPY": "USDJPY",
    "USD_CHF": "USDCHF",
    "AUD_USD": "AUDUSD",
    "USD_CAD": "USDCAD",
    "NZD_USD": "NZDUSD",
    "EUR_JPY": "EURJPY",
}
STOCK_SYMBOLS = ("AAPL", "AMD", "AMZN", "CRM", "GOOGL", "META", "MSFT", "NFLX", "NVDA", "TSLA")


@cache
def fx_bars(pair: str) -> tuple[Bar, ...]:
    """Real H1 bars for an OANDA-style pair (``EUR_USD``), oldest first; times are UTC bar opens."""
    if pair not in FX_FILES:
        raise SimDataError(f"no vendored FX data for {pair}")
    name = f"fx/{FX_FILES[pair]}_H1.csv.gz"
    return tuple(
        Bar(
            _utc(r["datetime"]), 3600, _dec(r["open"], name), _dec(r["high"], name), _dec(r["low"], name),
            _dec(r["close"], name),
        )
        for r in _rows(name)
    )


@cache
def stock_bars(symbol: str) -> tuple[Bar, ...]:
    """Real hourly regular-session bars (yfinance); the last bar of a session lasts 30 minutes."""
    if symbol not in STOCK_SYMBOLS:
        raise SimDataError(f"no vendored equity data for {symbol}")
    name = f"equities/hourly_2025_2026/{symbol}_1h.csv.gz"
    rows = _rows(name)
    bars: list[Bar] = []
    for row in rows:
        start = _utc(row["Datetime"])
        # The 15:30 ET bar is the session's last half hour; every other bar is a full hour.
        local = start.astimezone(ZoneInfo("America/New_York"))
        seconds = 1800 if (local.hour, local.minute) == (15, 30) else 3600
        bars.append(
            Bar(
                start, seconds, _dec(row["Open"], name), _dec(row["High"], name), _dec(row["Low"], name),
                _dec(row["Close"], name), int(float(row["Volume"] or 0)),
            )
        )
    return tuple(bars)


@lru_cache(maxsize=1)
def btc_minutes() -> tuple[Bar, ...]:
    """Real Binance BTCUSDT 1-minute bars for December 2024, oldest first."""
    name = "crypto/BTCUSDT_1m_2024-12.csv.gz"
    return tuple(
        Bar(_utc(t), 60, _dec(o, name), _dec(h, name), _dec(lo, name), _dec(c, name))
        for t, o, h, lo, c in _table(name, "open_time_utc", "open", "high", "low", "close")
    )


STATIONS = ("KMDW", "KAUS", "KLAX")  # GHCN highs that anchor the stations without archived forecasts


@cache
def daily_highs(station: str) -> dict[date, int]:
    """Real daily maximum temperatures (whole °F, GHCN-Daily) for a station, by local standard day."""
    if station not in STATIONS:
        raise SimDataError(f"no vendored weather data for {station}")
    name = f"weather/{station}_daily_2018-2019.csv"
    highs: dict[date, int] = {}
    for row in _rows(name):
        if row["tmax_f"]:
            highs[date.fromisoformat(row["date"])] = int(row["tmax_f"])
    return highs


@cache
def knyc_cli_highs() -> dict[date, int]:
    """Official NWS CLI daily highs for Central Park (whole °F, the value KXHIGHNY settles on), 2023-09..2026-08."""
    name = "weather/KNYC_cli_daily_high_2023-09_2026-08.csv"
    return {date.fromisoformat(d): int(h) for d, h in _table(name, "date", "cli_high_f")}


@dataclass(frozen=True, slots=True)
class ForecastIssue:
    """One as-issued Open-Meteo forecast of a day's maximum (°F, 0.1 resolution) for NYC; see weather/SOURCE.txt."""

    issued_at: datetime  # the archive's file-name hour (UTC); the fetch happened within that hour
    target: date  # America/New_York local date
    lead_days: int
    forecast_f: float


@cache
def knyc_forecasts() -> dict[date, tuple[ForecastIssue, ...]]:
    """As-issued NYC forecasts by target date (leads 0-3, a morning and an evening issue a day), oldest first."""
    name = "weather/KNYC_openmeteo_forecast_daily_max_lead0-3.csv.gz"
    by_day: dict[date, list[ForecastIssue]] = {}
    for at, target, lead, value in _table(name, "issued_at_utc", "target_date", "lead_days", "forecast_max_f"):
        try:
            issue = ForecastIssue(_utc(at), date.fromisoformat(target), int(lead), float(value))
        except ValueError:
            raise SimDataError(f"{name}: bad row {at},{target},{lead},{value}") from None
        by_day.setdefault(issue.target, []).append(issue)
    return {day: tuple(sorted(issues, key=lambda i: i.issued_at)) for day, issues in by_day.items()}


@dataclass(frozen=True, slots=True)
class RecordedQuote:
    """One top-of-book change recorded from Kalshi's production WebSocket (cents; 0 = empty side)."""

    at: datetime
    ticker: str
    yes_bid: int
    no_bid: int


KXHIGHNY_EVENTS = ("25DEC06", "25DEC07", "25DEC08", "25DEC16", "25DEC27", "26JAN01")


@cache
def recorded_quotes(event_suffix: str) -> tuple[RecordedQuote, ...]:
    """The recorded KXHIGHNY quotes of one event; the logger wrote naive US/Pacific times (see SOURCE.txt)."""
    name = f"kalshi/kxhighny_quotes/market_data_KXHIGHNY-{event_suffix}.csv.gz"
    out = []
    offsets: dict[str, timedelta] = {}  # UTC offset per local hour: one tz lookup per hour, not per row
    for stamp, ticker, yes_bid, no_bid in _table(name, "timestamp", "market_ticker", "best_yes_bid", "best_no_bid"):
        naive = datetime.fromisoformat(stamp)
        hour = stamp[:13]
        offset = offsets.get(hour)
        if offset is None:
            offset = offsets[hour] = naive.replace(tzinfo=_PACIFIC).utcoffset() or timedelta(0)
        out.append(RecordedQuote((naive - offset).replace(tzinfo=UTC), ticker, int(yes_bid), int(no_bid)))
    return tuple(out)


@lru_cache(maxsize=1)
def inferred_results() -> dict[str, str]:
    """Market ticker -> ``yes``/``no`` for the recorded KXHIGHNY events (inferred from final quotes)."""
    return {r["market_ticker"]: r["inferred_result"] for r in _rows("kalshi/kxhighny_quotes/inferred_results.csv")}


@lru_cache(maxsize=1)
def fed_markets() -> tuple[dict[str, str], ...]:
    """The KXFEDDECISION ``GET /markets`` snapshot rows (fixed-point dollar strings, as Kalshi sent them)."""
    return tuple(_rows("kalshi/kxfeddecision_markets_snapshot.csv.gz"))


@lru_cache(maxsize=1)
def polymarket_weather_markets() -> tuple[dict[str, str], ...]:
    """Resolved Polymarket NYC daily-high markets (CC BY 4.0, Marketlens)."""
    return tuple(_rows("prediction/polymarket_nyc_hightemp_markets_2026-07-15_17.csv"))
