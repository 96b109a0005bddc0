"""Weather-high markets: synthetic brackets around real NOAA highs, the recorded KXHIGHNY quotes, and the sim's
forecast and climate report.

Synthetic brackets. Sim day D replays the real daily high of the same calendar day of 2018 or 2019
(``source_day``: 2025 -> 2018, 2026 -> 2019, then alternating; attributes name it), so seasons are real.
The market prices a normal forecast ``N(high + σ·z, σ)`` whose σ shrinks as the day's afternoon peak
approaches (0.6 + 0.07 °F per hour of lead) and whose error z is persistent per event with a fresh component
every three hours. The sim *forecast* the strategy reads has its own, independent error (and is 20 % sharper),
so a strategy has some real edge, not a copy of the market's. Markets list at 10:00 local standard time the day
before, close at 23:59 LST on the day (04:59Z for New York) and settle an hour later from the real high.

Recorded. The six KXHIGHNY events recorded from Kalshi's production feed replay their real top of book, tick by
tick, and settle by inferred_results.csv. On those days they replace the synthetic New York event.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from shared.clock import Clock
from shared.venues.base import BookLevel, Candle
from shared.venues.sim import data, rng
from shared.venues.sim.binary import RECENT, MarketSpec, quote_levels
from shared.venues.sim.tickers import (
    MONTHS,
    TickerError,
    bracket_ticker,
    date_code,
    parse_date_code,
    parse_weather,
    tail_ticker,
)

FIRST_SIM_YEAR = 2025
SOURCE_YEARS = (2018, 2019)


@dataclass(frozen=True, slots=True)
class Station:
    icao: str
    series: str
    city: str
    std_offset_h: int  # local standard time minus UTC (the climate day is in standard time all year)


STATIONS = {
    "KNYC": Station("KNYC", "KXHIGHNY", "NYC (Central Park)", -5),
    "KMDW": Station("KMDW", "KXHIGHCHI", "Chicago (Midway)", -6),
    "KAUS": Station("KAUS", "KXHIGHAUS", "Austin", -6),
    "KLAX": Station("KLAX", "KXHIGHLAX", "Los Angeles (LAX)", -8),
}
BY_SERIES = {s.series: s for s in STATIONS.values()}


def source_day(day: date) -> date | None:
    """The real day whose high the sim replays for sim ``day``: the same calendar day of 2018 for odd offsets
    from 2025 and of 2019 for even ones (2025 -> 2018, 2026 -> 2019, 2027 -> 2018, ...); None before 2025 and
    for Feb 29."""
    if day.year < FIRST_SIM_YEAR:
        return None
    try:
        return day.replace(year=SOURCE_YEARS[(day.year - FIRST_SIM_YEAR) % len(SOURCE_YEARS)])
    except ValueError:
        return None


def recorded_high(day: date) -> int | None:
    """For a recorded KXHIGHNY day: the winning bucket's lower edge (the recording reveals only the bucket)."""
    if date_code(day) not in data.KXHIGHNY_EVENTS:
        return None
    event = f"KXHIGHNY-{date_code(day)}"
    for ticker, result in data.inferred_results().items():
        if ticker.startswith(event + "-") and result == "yes":
            parsed = parse_weather(ticker)
            if parsed.kind == "B":
                return int(parsed.strike - Decimal("0.5"))
            tails = sorted(parse_weather(t).strike for t in data.inferred_results() if t.startswith(event + "-T"))
            return int(parsed.strike) - 1 if parsed.strike == tails[0] else int(parsed.strike) + 1
    return None


def real_high(station: str, day: date) -> int | None:
    """The real high replayed for sim ``day`` at ``station`` (recorded Kalshi days first), or None without data."""
    if station == "KNYC":
        recorded = recorded_high(day)
        if recorded is not None:
            return recorded
    source = source_day(day)
    return None if source is None else data.daily_highs(station).get(source)


def _local(station: Station, day: date, at: time) -> datetime:
    return datetime.combine(day, at, UTC) - timedelta(hours=station.std_offset_h)


def event_times(station: Station, day: date) -> tuple[datetime, datetime, datetime]:
    """(listing, close, settlement) of the event for ``day``."""
    opens = _local(station, day - timedelta(days=1), time(10, 0))
    closes = _local(station, day, time(23, 59))
    return opens, closes, closes + timedelta(hours=1)


def lead_hours(station: Station, day: date, now: datetime) -> float:
    """Hours until the afternoon peak (17:00 LST) of ``day``; 0 once it has passed."""
    return max(0.0, (_local(station, day, time(17, 0)) - now).total_seconds() / 3600.0)


def _sigma(lead: float) -> float:
    return 0.6 + 0.07 * lead


def _error(seed: int, stream: str, station: str, day: date, now: datetime, opens: datetime) -> float:
    block = int((now - opens).total_seconds() // (3 * 3600))
    return 0.8 * rng.normal(seed, stream, station, day, "event") + 0.6 * rng.normal(seed, stream, station, day, block)


def bucket_probability(mean: float, sigma: float, low: int | None, high: int | None) -> float:
    """P(low <= rounded high <= high) for a high ~ N(mean, sigma) reported in whole degrees (None = open end)."""
    upper = 1.0 if high is None else rng.norm_cdf((high + 0.5 - mean) / sigma)
    lower = 0.0 if low is None else rng.norm_cdf((low - 0.5 - mean) / sigma)
    return max(0.0, upper - lower)


class WeatherMarkets:
    """Synthetic weather-high bracket markets (six per station and day)."""

    def __init__(self, seed: int, skip_events: frozenset[str] = frozenset()) -> None:
        self.seed = seed
        self.skip_events = skip_events

    @lru_cache(maxsize=4096)  # noqa: B019 - the source lives as long as its venue; bounded
    def event(self, station_id: str, day: date) -> tuple[MarketSpec, ...]:
        """The six markets of one event (empty without real data)."""
        station = STATIONS[station_id]
        high = real_high(station_id, day)
        if high is None or f"{station.series}-{date_code(day)}" in self.skip_events:
            return ()
        opens, closes, settles = event_times(station, day)
        centre = high + _sigma(lead_hours(station, day, opens)) * rng.normal(self.seed, "mkt", station_id, day, "event")
        lo = round(centre) - 3
        label = f"{MONTHS[day.month - 1].title()} {day.day}, {day.year}"
        attrs = {"series": station.series, "station": station_id, "day": day.isoformat(),
                 "source_day": str(source_day(day)), "source": "noaa_ghcnd"}
        event = f"{station.series}-{date_code(day)}"

        def spec(
            symbol: str, title: str, won: bool, strike_type: str, floor: int | None, cap: int | None
        ) -> MarketSpec:
            return MarketSpec(
                symbol, f"Will the high temp in {station.city} be {title} on {label}?", "weather", event, opens,
                closes, settles, "yes" if won else "no", strike_type,
                None if floor is None else Decimal(floor), None if cap is None else Decimal(cap), "quadratic",
                attrs | {"bucket_low": "" if floor is None else str(floor + (0 if strike_type == "between" else 1)),
                         "bucket_high": "" if cap is None else str(cap - (0 if strike_type == "between" else 1))},
            )

        out = [spec(tail_ticker(station.series, day, lo), f"{lo - 1}° or below", high < lo, "less", None, lo)]
        for floor in range(lo, lo + 8, 2):
            out.append(spec(bracket_ticker(station.series, day, floor), f"{floor}-{floor + 1}°",
                            floor <= high <= floor + 1, "between", floor, floor + 1))
        top = lo + 7
        out.append(
            spec(tail_ticker(station.series, day, top), f"{top + 1}° or above", high > top, "greater", top, None)
        )
        return tuple(out)

    def markets(self, now: datetime) -> list[MarketSpec]:
        out: list[MarketSpec] = []
        for offset in range(-2, 3):
            day = (now + timedelta(days=offset)).date()
            for station_id in STATIONS:
                out.extend(s for s in self.event(station_id, day) if s.open_time <= now < s.settle_time + RECENT)
        return out

    def spec(self, symbol: str) -> MarketSpec | None:
        try:
            ticker = parse_weather(symbol)
        except TickerError:
            return None
        station = BY_SERIES.get(ticker.series)
        if station is None:
            return None
        return next((s for s in self.event(station.icao, ticker.day) if s.symbol == symbol), None)

    def fair(self, spec: MarketSpec, now: datetime) -> float:
        station = STATIONS[spec.attributes["station"]]
        day = date.fromisoformat(spec.attributes["day"])
        high = real_high(station.icao, day)
        assert high is not None  # a spec exists only for days with data
        sigma = _sigma(lead_hours(station, day, now))
        mean = high + sigma * _error(self.seed, "mkt", station.icao, day, now, spec.open_time)
        low = spec.attributes["bucket_low"]
        top = spec.attributes["bucket_high"]
        return bucket_probability(mean, sigma, int(low) if low else None, int(top) if top else None)

    def book(self, spec: MarketSpec, now: datetime) -> tuple[list[BookLevel], list[BookLevel]]:
        block = int((now - spec.open_time).total_seconds() // 600)
        half = 1 + int(rng.unit(self.seed, spec.symbol, block, "hs") * 2)
        return quote_levels(self.seed, (spec.symbol, block), self.fair(spec, now), half_spread_cents=half)

    def candles(self, symbol: str, granularity_s: int, count: int, now: datetime) -> list[Candle] | None:
        return None


class RecordedWeatherMarkets:
    """The recorded KXHIGHNY events, replayed at their real times with their real top of book."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        results = data.inferred_results()
        self._specs: dict[str, MarketSpec] = {}
        self._quotes: dict[str, tuple[list[datetime], list[tuple[int, int]]]] = {}
        station = STATIONS["KNYC"]
        for suffix in data.KXHIGHNY_EVENTS:
            day = parse_date_code(suffix)
            event = f"KXHIGHNY-{suffix}"
            opens, closes, settles = event_times(station, day)  # the recordings start at the 10:00 ET listing
            tickers = sorted(t for t in results if t.startswith(event + "-"))
            between = [parse_weather(t).strike for t in tickers if parse_weather(t).kind == "B"]
            for ticker in tickers:
                parsed = parse_weather(ticker)
                strike = parsed.strike
                if parsed.kind == "B":
                    kind, floor, cap = "between", strike - Decimal("0.5"), strike + Decimal("0.5")
                    title = f"{floor}-{cap}°"
                elif strike < min(between):
                    kind, floor, cap, title = "less", None, strike, f"{strike - 1}° or below"
                else:
                    kind, floor, cap, title = "greater", strike, None, f"{strike + 1}° or above"
                self._specs[ticker] = MarketSpec(
                    ticker, f"Will the high temp in NYC be {title} on {MONTHS[day.month - 1].title()} {day.day}, "
                    f"{day.year}?", "weather", event, opens, closes, settles,
                    "yes" if results[ticker] == "yes" else "no", kind, floor, cap, "quadratic",
                    {"series": "KXHIGHNY", "station": "KNYC", "day": day.isoformat(), "source": "kalshi_recorded"},
                )

    def _recorded(self, spec: MarketSpec) -> tuple[list[datetime], list[tuple[int, int]]]:
        """The ticker's recorded top of book; an event's file is read the first time one of its markets is quoted."""
        found = self._quotes.get(spec.symbol)
        if found is None:
            rows = data.recorded_quotes(spec.underlying.split("-", 1)[1])
            for ticker in {r.ticker for r in rows}:
                mine = [r for r in rows if r.ticker == ticker]
                self._quotes[ticker] = ([r.at for r in mine], [(r.yes_bid, r.no_bid) for r in mine])
            found = self._quotes.setdefault(spec.symbol, ([], []))
        return found

    @property
    def events(self) -> frozenset[str]:
        return frozenset(s.underlying for s in self._specs.values())

    def markets(self, now: datetime) -> list[MarketSpec]:
        return [s for s in self._specs.values() if s.open_time <= now < s.settle_time + RECENT]

    def spec(self, symbol: str) -> MarketSpec | None:
        return self._specs.get(symbol)

    def book(self, spec: MarketSpec, now: datetime) -> tuple[list[BookLevel], list[BookLevel]]:
        """The last recorded top of book at or before ``now``; sizes (not recorded) and two deeper levels are
        synthetic."""
        times, values = self._recorded(spec)
        i = bisect.bisect_right(times, now) - 1
        if i < 0:
            return [], []
        yes_bid, no_bid = values[i]
        minute = int(now.timestamp() // 60)
        bids = [BookLevel(Decimal(yes_bid - k) / 100, 100 * (50 + int(400 * rng.unit(self.seed, spec.symbol, minute,
                                                                                   "b", k))))
                for k in range(3) if yes_bid - k >= 1]
        asks = [BookLevel(Decimal(100 - no_bid + k) / 100, 100 * (50 + int(400 * rng.unit(self.seed, spec.symbol,
                                                                                        minute, "a", k))))
                for k in range(3) if no_bid - k >= 1]
        return bids, asks

    def candles(self, symbol: str, granularity_s: int, count: int, now: datetime) -> list[Candle] | None:
        return None


class SimForecast:
    """``HighTempForecast`` for the sim: 31 members around the replayed real high, with the sim's own error."""

    MEMBERS = 31

    def __init__(self, clock: Clock, seed: int) -> None:
        self.clock = clock
        self.seed = seed

    def daily_high_members(self, station: str, day: date) -> list[float]:
        """Forecast highs (°F) for ``station`` on ``day``; raises SimDataError for a station/day without data."""
        if station not in STATIONS:
            raise data.SimDataError(f"sim forecast: unknown station {station}")
        high = real_high(station, day)
        if high is None:
            raise data.SimDataError(f"sim forecast: no replayed high for {station} on {day}")
        info = STATIONS[station]
        now = self.clock.now()
        opens = event_times(info, day)[0]
        sigma = 0.8 * _sigma(lead_hours(info, day, now))
        mean = high + sigma * _error(self.seed, "fcst", station, day, now, opens)
        block = int((now - opens).total_seconds() // (3 * 3600))
        return [round(mean + 0.7 * sigma * rng.normal(self.seed, "member", station, day, block, i), 1)
                for i in range(self.MEMBERS)]


class SimClimateReport:
    """``ClimateReport`` for the sim: the replayed real high, published when the day's markets settle."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def daily_high(self, station: str, day: date) -> int | None:
        info = STATIONS.get(station)
        if info is None or self.clock.now() < event_times(info, day)[2]:
            return None
        return real_high(station, day)
