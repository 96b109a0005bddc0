"""BTC 15-minute up/down markets (``KXBTC15M``) around real Binance BTCUSDT 1-minute candles.

Replay mapping: December 2024 minute data (28 whole days, 2024-12-01..28) replays in a loop. Sim
2025-12-05 00:00Z shows data 2024-12-06 00:00Z (exactly 52 weeks earlier, so weekdays and the weekend lull line
up); after 28 days the data wraps to its start (one price jump a cycle, at a window boundary).

A market opens every quarter hour; its strike ("price to beat", ``floor_strike``) is the BTC price at the
window's open and it settles YES iff the real price at the close is at or above it (the live series settles on
CF Benchmarks' BRTI; Binance USDT is the nearest real series we hold). The book prices
``Φ(ln(S/K) / (σ√τ))`` from the spot at the quote instant, τ the time left and σ the realised 1-minute volatility
of the last hour, with no pricing error beyond the whole-cent grid and a 1–2 cent half-spread; five levels whose
size leans toward the side of the last five minutes' momentum. The market is never less informed than a strategy:
its spot is the real price path at that instant, while the candles a strategy can read are complete 1-minute bars
that closed at or before it. No attribute names the replayed data time.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from shared.venues.base import BookLevel, Candle
from shared.venues.kalshi.tickers import TickerError, btc15m_ticker, parse_btc15m
from shared.venues.sim import data, rng
from shared.venues.sim.binary import RECENT, MarketSpec, quote_levels
from shared.venues.sim.data import Bar
from shared.venues.sim.path import aggregate, price_in_bar

WINDOW = timedelta(minutes=15)
CYCLE_START = datetime(2024, 12, 1, tzinfo=UTC)
CYCLE = timedelta(days=28)
ANCHOR_SIM = datetime(2025, 12, 5, tzinfo=UTC)
ANCHOR_DATA = datetime(2024, 12, 6, tzinfo=UTC)
UNDERLYING = "BTCUSDT"
SERIES = "KXBTC15M"


def data_time(sim: datetime) -> datetime:
    """The data instant replayed at sim instant ``sim``."""
    offset = (sim - ANCHOR_SIM + (ANCHOR_DATA - CYCLE_START)) % CYCLE
    return CYCLE_START + offset


class BtcMarkets:
    """The KXBTC15M market family."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._bars = data.btc_minutes()
        self._first = self._bars[0].start

    def _minute_bar(self, sim_minute: datetime) -> Bar:
        moment = data_time(sim_minute)
        bar = self._bars[int((moment - self._first).total_seconds() // 60)]
        return Bar(sim_minute, 60, bar.open, bar.high, bar.low, bar.close, bar.volume)

    def price_at(self, now: datetime) -> Decimal:
        """BTC price at sim instant ``now`` on the real minute bar's path."""
        minute = now.replace(second=0, microsecond=0)
        return price_in_bar(self._minute_bar(minute), now)

    @lru_cache(maxsize=2048)  # noqa: B019 - bounded, lives with the venue
    def _spec(self, close: datetime) -> MarketSpec:
        opens = close - WINDOW
        strike = self._minute_bar(opens).open
        final = self._minute_bar(close - timedelta(minutes=1)).close
        ticker = btc15m_ticker(close)
        return MarketSpec(
            ticker, "BTC price up in next 15 mins?", "crypto", ticker.rsplit("-", 1)[0], opens, close,
            close + timedelta(minutes=1), "yes" if final >= strike else "no", "greater_or_equal", strike, None,
            "quadratic", {"series": SERIES, "underlying_symbol": UNDERLYING, "source": "binance_1m"},
        )

    def markets(self, now: datetime) -> list[MarketSpec]:
        """The open window plus the windows settled within the last day (most recent first, capped at 8)."""
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        current_close = epoch + ((now - epoch) // WINDOW + 1) * WINDOW
        closes = [current_close - k * WINDOW for k in range(9)]
        return [self._spec(c) for c in closes if now < c + timedelta(minutes=1) + RECENT]

    def spec(self, symbol: str) -> MarketSpec | None:
        try:
            close = parse_btc15m(symbol)
        except TickerError:
            return None
        return self._spec(close)

    def _sigma_per_minute(self, now: datetime) -> float:
        minute = now.replace(second=0, microsecond=0)
        closes = [float(self._minute_bar(minute - timedelta(minutes=k)).close) for k in range(1, 62)]
        returns = [math.log(closes[i] / closes[i + 1]) for i in range(60)]
        mean = sum(returns) / len(returns)
        return max(1e-5, math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)))

    def fair(self, spec: MarketSpec, now: datetime) -> float:
        """The market's YES price before spread: P(close >= strike) from the spot now and the time left."""
        assert spec.floor_strike is not None
        price = float(self.price_at(now))
        minutes_left = max((spec.close_time - now).total_seconds() / 60.0, 1e-3)
        z = math.log(price / float(spec.floor_strike)) / (self._sigma_per_minute(now) * math.sqrt(minutes_left))
        return rng.norm_cdf(z)

    def book(self, spec: MarketSpec, now: datetime) -> tuple[list[BookLevel], list[BookLevel]]:
        minute = int(now.timestamp() // 60)
        then = self.price_at(now - timedelta(minutes=5))
        move = math.log(float(self.price_at(now)) / float(then)) / (self._sigma_per_minute(now) * math.sqrt(5))
        half = 1 + int(rng.unit(self.seed, spec.symbol, minute, "hs") * 2)
        return quote_levels(self.seed, (spec.symbol, minute), self.fair(spec, now), half_spread_cents=half,
                            base_size=60_000, tilt=0.5 * math.tanh(move))

    def candles(self, symbol: str, granularity_s: int, count: int, now: datetime) -> list[Candle] | None:
        """Real BTC candles (1-minute bars aggregated) for ``BTCUSDT``/``BTC``/the series or any of its markets."""
        if symbol not in (UNDERLYING, "BTC", SERIES) and not symbol.startswith(SERIES + "-"):
            return None
        if granularity_s < 60 or granularity_s % 60:
            raise ValueError(f"BTC candles come in multiples of 60 s, not {granularity_s}")
        last_complete = now.replace(second=0, microsecond=0)
        end = datetime.fromtimestamp(int(last_complete.timestamp()) // granularity_s * granularity_s, UTC)
        minutes = count * granularity_s // 60
        bars = [self._minute_bar(end - timedelta(minutes=k)) for k in range(minutes, 0, -1)]
        return aggregate(UNDERLYING, bars, granularity_s, now)[-count:]
