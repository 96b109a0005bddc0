"""Long-dated binary markets for kalshi_lt: real titles, real outcomes, on a compressed clock.

Sources: the KXFEDDECISION markets of the Kalshi snapshot that have a final result (Sep/Oct/Dec 2025 and Jan 2026
meetings), and the resolved Polymarket NYC daily-high markets (CC BY 4.0, Marketlens). Real time is compressed 48×
onto the sim timeline from 2025-07-30 14:00Z (one real day = 30 sim minutes), so a two-month Fed market lives a bit
over a sim day; each market keeps its real open and close times in ``attributes``.

Prices: where real quotes exist (the two Polymarket markets with hourly books) the book replays them. Elsewhere the
snapshot holds no price history, so the price follows a logit-space Brownian bridge from an uninformed start
(1 / number of outcomes of the event) to the market's real last price (Kalshi) or to its resolution (Polymarket):
early prices carry little information and late prices a lot, as in the real markets.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from shared.venues.base import BookLevel, Candle
from shared.venues.sim import data, rng
from shared.venues.sim.binary import RECENT, MarketSpec, quote_levels
from shared.venues.sim.tickers import date_code

REAL_START = datetime(2025, 7, 30, 14, 0, tzinfo=UTC)
COMPRESSION = 48
SETTLE_DELAY = timedelta(minutes=5)


def to_sim(real: datetime) -> datetime:
    """The sim instant at which real instant ``real`` replays."""
    return REAL_START + (real - REAL_START) / COMPRESSION


def to_real(sim: datetime) -> datetime:
    return REAL_START + (sim - REAL_START) * COMPRESSION


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


class LongTermMarkets:
    """Finalized KXFEDDECISION markets plus resolved Polymarket NYC-high markets."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._specs: dict[str, MarketSpec] = {}
        self._start: dict[str, float] = {}
        self._end: dict[str, float] = {}
        self._book: dict[str, tuple[list[datetime], list[tuple[Decimal | None, Decimal | None]]]] = {}
        self._load_fed()
        self._load_polymarket()

    def _load_fed(self) -> None:
        rows = [r for r in data.fed_markets() if r["status"] == "finalized" and r["result"] in ("yes", "no")]
        per_event = Counter(r["event_ticker"] for r in rows)
        for r in rows:
            real_open, real_close = _utc(r["open_time"]), _utc(r["close_time"])
            close = to_sim(real_close)
            self._specs[r["ticker"]] = MarketSpec(
                r["ticker"], r["title"], "macro", r["event_ticker"], to_sim(real_open), close, close + SETTLE_DELAY,
                "yes" if r["result"] == "yes" else "no", r["strike_type"] or None, None, None, "quadratic",
                {"series": "KXFEDDECISION", "source": "kalshi_snapshot", "real_open_time": r["open_time"],
                 "real_close_time": r["close_time"], "rules_primary": r["rules_primary"],
                 "subtitle": r["yes_sub_title"]},
            )
            self._start[r["ticker"]] = 1.0 / per_event[r["event_ticker"]]
            self._end[r["ticker"]] = float(r["last_price_dollars"])

    def _load_polymarket(self) -> None:
        rows = data.polymarket_weather_markets()
        per_event = Counter(r["event"] for r in rows)
        by_id: dict[str, str] = {}
        for r in rows:
            day = datetime.fromisoformat(r["target_date"]).date()
            low, high = r["bucket_low_f"], r["bucket_high_f"]
            bucket = f"{low}-{high}" if low and high else (f"LE{high}" if high else f"GE{low}")
            event = f"POLY-NYCHIGH-{date_code(day)}"
            symbol = f"{event}-{bucket}"
            close = to_sim(_utc(r["close_time"]))
            won = r["winning_outcome"] == "Yes"
            self._specs[symbol] = MarketSpec(
                symbol, r["question"], "weather", event, to_sim(_utc(r["open_time"])), close, close + SETTLE_DELAY,
                "yes" if won else "no", "between" if low and high else ("less" if high else "greater"),
                Decimal(low) if low else None, Decimal(high) if high else None, "quadratic",
                {"source": "polymarket", "attribution": "Marketlens, https://marketlens.trade (CC BY 4.0)",
                 "market_id": r["market_id"], "real_open_time": r["open_time"], "real_close_time": r["close_time"]},
            )
            self._start[symbol] = 1.0 / per_event[r["event"]]
            self._end[symbol] = 0.995 if won else 0.005
            by_id[r["market_id"]] = symbol
        for r in data.polymarket_weather_book():
            booked = by_id.get(r["market_id"])
            if booked is None:
                continue
            times, values = self._book.setdefault(booked, ([], []))
            times.append(_utc(r["time_utc"]))
            values.append((Decimal(r["best_bid"]) if r["best_bid"] else None,
                           Decimal(r["best_ask"]) if r["best_ask"] else None))

    def markets(self, now: datetime) -> list[MarketSpec]:
        return [s for s in self._specs.values() if s.open_time <= now < s.settle_time + RECENT]

    def spec(self, symbol: str) -> MarketSpec | None:
        return self._specs.get(symbol)

    @lru_cache(maxsize=512)  # noqa: B019 - bounded, lives with the venue
    def _walk(self, symbol: str, steps: int) -> tuple[float, ...]:
        total = 0.0
        out = [0.0]
        for i in range(steps):
            total += rng.normal(self.seed, "bridge", symbol, i) / math.sqrt(steps)
            out.append(total)
        return tuple(out)

    def fair(self, spec: MarketSpec, now: datetime) -> float:
        """The bridge price at ``now`` (one step per sim hour of the market's life)."""
        life = (spec.close_time - spec.open_time).total_seconds()
        steps = max(1, int(life // 3600))
        f = min(1.0, max(0.0, (now - spec.open_time).total_seconds() / life))
        walk = self._walk(spec.symbol, steps)
        i = min(steps, int(f * steps))
        bridge = walk[i] - (i / steps) * walk[-1]
        logit = (1 - f) * _logit(self._start[spec.symbol]) + f * _logit(self._end[spec.symbol]) + 1.2 * bridge
        return 1 / (1 + math.exp(-logit))

    def book(self, spec: MarketSpec, now: datetime) -> tuple[list[BookLevel], list[BookLevel]]:
        recorded = self._book.get(spec.symbol)
        if recorded is not None:
            times, values = recorded
            i = bisect.bisect_right(times, to_real(now)) - 1
            if i >= 0:
                bid, ask = values[i]
                size = 100 * (100 + int(900 * rng.unit(self.seed, spec.symbol, i, "sz")))
                bids = [BookLevel(bid.quantize(Decimal("0.01")), size)] if bid is not None and bid >= Decimal(
                    "0.01") else []
                asks = [BookLevel(ask.quantize(Decimal("0.01")), size)] if ask is not None and ask <= Decimal(
                    "0.99") else []
                return bids, asks
        hour = int((now - spec.open_time).total_seconds() // 3600)
        half = 1 + int(rng.unit(self.seed, spec.symbol, hour, "hs") * 3)
        return quote_levels(self.seed, (spec.symbol, hour), self.fair(spec, now), half_spread_cents=half,
                            base_size=20_000)

    def candles(self, symbol: str, granularity_s: int, count: int, now: datetime) -> list[Candle] | None:
        return None
