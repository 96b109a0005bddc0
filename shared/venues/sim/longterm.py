"""Long-dated binary markets for kalshi_lt: real titles, on a compressed clock, with prices that are martingales.

Sources: the KXFEDDECISION markets of the Kalshi snapshot that have a final result (Sep/Oct/Dec 2025 and Jan 2026
meetings), and the resolved Polymarket NYC daily-high markets (CC BY 4.0, Marketlens). Real time is compressed 48×
onto the sim timeline from 2025-07-30 14:00Z (one real day = 30 sim minutes), so a two-month Fed market lives a bit
over a sim day; each market keeps its real open and close times in ``attributes``.

Prices and outcomes. The snapshot holds no price history, and a path drawn towards the known result would let a
strategy read the result from the drift. So each event (its markets are mutually exclusive, one wins) runs a
latent process instead: every market i has an independent Brownian motion X_i over the event's life, starting at 0
(an uninformed 1 / number of outcomes), and the market whose X_i is highest at the close wins. The price of market i
at any step is P(i wins | X at that step), computed exactly, so prices are martingales and past moves say nothing
about the result beyond the current price. The outcome is the sim's own (``attributes["outcome"] = "sim"``), not
the real one: real titles, sim results. The recorded Polymarket hourly book is not replayed, since it tracks the
real result, not the sim's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from shared.venues.base import BookLevel, Candle
from shared.venues.kalshi.tickers import date_code
from shared.venues.sim import data, rng
from shared.venues.sim.binary import RECENT, MarketSpec, quote_levels

REAL_START = datetime(2025, 7, 30, 14, 0, tzinfo=UTC)
COMPRESSION = 48
SETTLE_DELAY = timedelta(minutes=5)
STEP = timedelta(minutes=15)  # the latent process moves once per 15 sim minutes
MIN_STEPS = 24
# The integral over the winner's own future shock z: trapezoid from -6 to 6 in steps of 0.2 (the integrand is smooth;
# its error is far below a cent).
_GRID = [k / 5 for k in range(-30, 31)]
_WEIGHTS = [math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / 5 for z in _GRID]


def to_sim(real: datetime) -> datetime:
    """The sim instant at which real instant ``real`` replays."""
    return REAL_START + (real - REAL_START) / COMPRESSION


def to_real(sim: datetime) -> datetime:
    return REAL_START + (sim - REAL_START) * COMPRESSION


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def win_probabilities(levels: tuple[float, ...], remaining: float) -> tuple[float, ...]:
    """P(market i has the highest level at the close) for independent Brownian levels with ``remaining`` variance
    left each: E over the winner's own shock z of prod_j Phi(z + (x_i - x_j) / sqrt(remaining)); for one market,
    P(its level ends above 0)."""
    if remaining <= 0:
        if len(levels) == 1:
            return (1.0 if levels[0] > 0 else 0.0,)
        best = max(range(len(levels)), key=lambda i: levels[i])
        return tuple(1.0 if i == best else 0.0 for i in range(len(levels)))
    scale = math.sqrt(remaining)
    if len(levels) == 1:
        return (rng.norm_cdf(levels[0] / scale),)
    raw = []
    for i, x_i in enumerate(levels):
        gaps = [(x_i - x_j) / scale for j, x_j in enumerate(levels) if j != i]
        raw.append(math.fsum(w * math.prod(rng.norm_cdf(z + g) for g in gaps) for z, w in zip(_GRID, _WEIGHTS,
                                                                                                 strict=True)))
    total = math.fsum(raw)
    return tuple(r / total for r in raw)


@dataclass(frozen=True, slots=True)
class _Event:
    symbols: tuple[str, ...]  # its mutually exclusive markets, in a fixed order
    open_time: datetime
    close_time: datetime
    steps: int


class LongTermMarkets:
    """Finalized KXFEDDECISION markets plus resolved Polymarket NYC-high markets, on the sim's latent process."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._specs: dict[str, MarketSpec] = {}
        self._load_fed()
        self._load_polymarket()
        members: dict[str, list[str]] = defaultdict(list)
        for spec in self._specs.values():
            members[spec.underlying].append(spec.symbol)
        self._events: dict[str, _Event] = {}
        for event, symbols in members.items():
            opens = min(self._specs[s].open_time for s in symbols)
            closes = max(self._specs[s].close_time for s in symbols)
            steps = max(MIN_STEPS, (closes - opens) // STEP)
            self._events[event] = _Event(tuple(sorted(symbols)), opens, closes, steps)
        # Each market's result is the sim's: the winner of its event's latent process at the close.
        for event, info in self._events.items():
            final = self.prices(event, info.steps)
            for symbol, price in zip(info.symbols, final, strict=True):
                self._specs[symbol] = replace(self._specs[symbol], result="yes" if price >= 0.5 else "no")

    def _load_fed(self) -> None:
        rows = [r for r in data.fed_markets() if r["status"] == "finalized" and r["result"] in ("yes", "no")]
        for r in rows:
            real_open, real_close = _utc(r["open_time"]), _utc(r["close_time"])
            close = to_sim(real_close)
            self._specs[r["ticker"]] = MarketSpec(
                r["ticker"], r["title"], "macro", r["event_ticker"], to_sim(real_open), close, close + SETTLE_DELAY,
                "no", r["strike_type"] or None, None, None, "quadratic",
                {"series": "KXFEDDECISION", "source": "kalshi_snapshot", "outcome": "sim",
                 "real_open_time": r["open_time"], "real_close_time": r["close_time"],
                 "rules_primary": r["rules_primary"], "subtitle": r["yes_sub_title"]},
            )

    def _load_polymarket(self) -> None:
        for r in data.polymarket_weather_markets():
            day = datetime.fromisoformat(r["target_date"]).date()
            low, high = r["bucket_low_f"], r["bucket_high_f"]
            bucket = f"{low}-{high}" if low and high else (f"LE{high}" if high else f"GE{low}")
            event = f"POLY-NYCHIGH-{date_code(day)}"
            symbol = f"{event}-{bucket}"
            close = to_sim(_utc(r["close_time"]))
            self._specs[symbol] = MarketSpec(
                symbol, r["question"], "weather", event, to_sim(_utc(r["open_time"])), close, close + SETTLE_DELAY,
                "no", "between" if low and high else ("less" if high else "greater"),
                Decimal(low) if low else None, Decimal(high) if high else None, "quadratic",
                {"source": "polymarket", "outcome": "sim",
                 "attribution": "Marketlens, https://marketlens.trade (CC BY 4.0)",
                 "market_id": r["market_id"], "real_open_time": r["open_time"], "real_close_time": r["close_time"]},
            )

    def markets(self, now: datetime) -> list[MarketSpec]:
        return [s for s in self._specs.values() if s.open_time <= now < s.settle_time + RECENT]

    def spec(self, symbol: str) -> MarketSpec | None:
        return self._specs.get(symbol)

    def _shock(self, event: str, symbol: str, step: int) -> float:
        """The latent increment of ``symbol`` in step ``step`` (variance 1/steps: total variance 1 over the life)."""
        return rng.normal(self.seed, "latent", event, symbol, step) / math.sqrt(self._events[event].steps)

    @lru_cache(maxsize=4096)  # noqa: B019 - bounded, lives with the venue
    def _levels(self, event: str, step: int) -> tuple[float, ...]:
        info = self._events[event]
        if step == 0:
            return tuple(0.0 for _ in info.symbols)
        before = self._levels(event, step - 1)
        return tuple(x + self._shock(event, s, step - 1) for x, s in zip(before, info.symbols, strict=True))

    @lru_cache(maxsize=4096)  # noqa: B019 - bounded, lives with the venue
    def prices(self, event: str, step: int) -> tuple[float, ...]:
        """Every market's win probability after ``step`` latent steps (in the event's symbol order)."""
        info = self._events[event]
        for k in range(step):  # fill the level cache bottom-up: no deep recursion
            self._levels(event, k)
        return win_probabilities(self._levels(event, step), (info.steps - step) / info.steps)

    def step_at(self, event: str, now: datetime) -> int:
        """How many latent steps have happened by ``now`` (only those: the market never sees a later one)."""
        info = self._events[event]
        elapsed = (now - info.open_time) / (info.close_time - info.open_time)
        return max(0, min(info.steps, int(elapsed * info.steps)))

    def fair(self, spec: MarketSpec, now: datetime) -> float:
        """The market's win probability given the latent process up to ``now``."""
        info = self._events[spec.underlying]
        return self.prices(spec.underlying, self.step_at(spec.underlying, now))[info.symbols.index(spec.symbol)]

    def book(self, spec: MarketSpec, now: datetime) -> tuple[list[BookLevel], list[BookLevel]]:
        hour = int((now - spec.open_time).total_seconds() // 3600)
        half = 1 + int(rng.unit(self.seed, spec.symbol, hour, "hs") * 3)
        step = self.step_at(spec.underlying, now)
        return quote_levels(self.seed, (spec.symbol, step), self.fair(spec, now), half_spread_cents=half,
                            base_size=20_000)

    def candles(self, symbol: str, granularity_s: int, count: int, now: datetime) -> list[Candle] | None:
        return None
