"""Weather-high markets: brackets priced from the sim's one forecast process, the recorded KXHIGHNY quotes, and
the sim's forecast and climate report.

Brackets. Each station-day's forecast issues and outcome come from ``weather_forecast`` (real as-issued NYC
forecasts and CLI highs; other stations borrow a real NYC day's errors around their own real climate). Six markets
per station and day, placed around the bias-corrected forecast known at listing; their price at any instant is the
probability from the latest issue known then and the forecast's recent published errors, and the forecast a
strategy reads (``SimForecast``) comes from that same issue. No attribute names the replayed real day. Markets
list at 10:00 local standard time the day before, close at 23:59 LST on the day (04:59Z for New York) and settle an
hour later.

Recorded. The six KXHIGHNY events recorded from Kalshi's production feed replay their real top of book, tick by
tick, and settle by inferred_results.csv. On those days they replace the New York brackets; the forecast for them
is the real as-issued one (never centred on the recorded result).
"""

from __future__ import annotations

import bisect
import statistics
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from shared.clock import Clock
from shared.venues.base import BookLevel, Candle
from shared.venues.kalshi.tickers import (
    MONTHS,
    TickerError,
    bracket_ticker,
    date_code,
    parse_date_code,
    parse_weather,
    tail_ticker,
)
from shared.venues.sim import data, rng
from shared.venues.sim.binary import RECENT, MarketSpec, quote_levels
from shared.venues.sim.weather_forecast import STATIONS, event_times, station_day

BY_SERIES = {s.series: s for s in STATIONS.values()}


class WeatherMarkets:
    """Weather-high bracket markets (six per station and day)."""

    def __init__(self, seed: int, skip_events: frozenset[str] = frozenset()) -> None:
        self.seed = seed
        self.skip_events = skip_events

    @lru_cache(maxsize=4096)  # noqa: B019 - the source lives as long as its venue; bounded
    def event(self, station_id: str, day: date) -> tuple[MarketSpec, ...]:
        """The six markets of one event (empty without data)."""
        station = STATIONS[station_id]
        plan = station_day(station_id, day)
        if plan is None or f"{station.series}-{date_code(day)}" in self.skip_events:
            return ()
        high = plan.high
        opens, closes, settles = event_times(station, day)
        # Brackets around what the listing-time forecast expects (forecast + the median error of its issue), as
        # Kalshi lists around a forecast: the layout says nothing the listing forecast does not.
        listing = plan.listing_issue
        lo = round(listing.forecast_f + statistics.median(listing.residuals)) - 3
        label = f"{MONTHS[day.month - 1].title()} {day.day}, {day.year}"
        attrs = {"series": station.series, "station": station_id, "day": day.isoformat(), "source": "sim_weather",
                 "outcome": plan.outcome}
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
        """The bucket's probability from the freshest forecast issue known at ``now`` and the recent errors."""
        plan = station_day(spec.attributes["station"], date.fromisoformat(spec.attributes["day"]))
        assert plan is not None  # a spec exists only for days with data
        low = spec.attributes["bucket_low"]
        top = spec.attributes["bucket_high"]
        return plan.probability(now, int(low) if low else None, int(top) if top else None)

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
    """``HighTempForecast`` for the sim: 31 members around the freshest issue of the sim's forecast process.

    The members are the issue's forecast plus an under-dispersed spread (0.6 of the issue's error SD, as raw 2 m
    temperature ensembles are), drawn from the seed and the issue, never from the outcome: the strategy reads the
    same information the market prices, no fresher.
    """

    MEMBERS = 31
    SPREAD = 0.6

    def __init__(self, clock: Clock, seed: int) -> None:
        self.clock = clock
        self.seed = seed

    def daily_high_members(self, station: str, day: date) -> list[float]:
        """Forecast highs (°F) for ``station`` on ``day``; raises SimDataError without data or before any issue."""
        if station not in STATIONS:
            raise data.SimDataError(f"sim forecast: unknown station {station}")
        plan = station_day(station, day)
        issue = None if plan is None else plan.latest(self.clock.now())
        if issue is None:
            raise data.SimDataError(f"sim forecast: no forecast issued yet for {station} on {day}")
        sd = self.SPREAD * issue.error_sd
        return [round(issue.forecast_f + sd * rng.normal(self.seed, "member", station, day, issue.known_at, i), 1)
                for i in range(self.MEMBERS)]


class SimClimateReport:
    """``ClimateReport`` for the sim: the station-day's outcome, published when the day's markets settle."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def daily_high(self, station: str, day: date) -> int | None:
        info = STATIONS.get(station)
        if info is None or self.clock.now() < event_times(info, day)[2]:
            return None
        plan = station_day(station, day)
        return None if plan is None else plan.high
