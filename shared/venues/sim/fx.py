"""The FX sim venue: the 8 majors quoted around real H1 bars with OANDA-like spreads.

The bars (2025-07-28 to 2026-02-20) loop in 30-week passes, so a fleet left running keeps trading; the seam
falls on a weekend.

Spreads are typical OANDA core-pricing figures in pips, widened 3× in the 21:00 UTC rollover hour, with ±20 %
per-hour jitter. The cost of trading FX is the spread: no commission; each fill reports the half-spread it paid
against the mid (as OANDA's ``halfSpreadCost`` does), so the spread shows up as a fee. P&L converts to US cents
at the replayed rate of the quote currency (JPY via USD_JPY, CHF via USD_CHF, CAD via USD_CAD).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path

from shared.clock import Clock
from shared.venues.base import Instrument
from shared.venues.sim import data, rng
from shared.venues.sim.common import SIM_VENUE
from shared.venues.sim.linear import LinearSimVenue
from shared.venues.sim.path import BarSeries, looped, weekly_cycle

SPREAD_PIPS = {
    "EUR_USD": Decimal("1.2"), "GBP_USD": Decimal("1.6"), "USD_JPY": Decimal("1.4"), "USD_CHF": Decimal("1.8"),
    "AUD_USD": Decimal("1.4"), "USD_CAD": Decimal("2.0"), "NZD_USD": Decimal("2.2"), "EUR_JPY": Decimal("2.0"),
}
PAIRS = tuple(SPREAD_PIPS)
REPEATS = 4  # 30-week data loop x 4: about 34 wall hours at SIM_SPEED=600 before the replay runs out
_CONVERT = {"JPY": "USD_JPY", "CHF": "USD_CHF", "CAD": "USD_CAD"}


def pip(pair: str) -> Decimal:
    return Decimal("0.01") if pair.endswith("JPY") else Decimal("0.0001")


@cache
def _series() -> dict[str, BarSeries]:
    """The looped bar series, built once per process (they are read-only)."""
    raw = {pair: data.fx_bars(pair) for pair in PAIRS}
    cycle = weekly_cycle(list(raw.values()))
    return {pair: BarSeries(pair, looped(bars, cycle, REPEATS)) for pair, bars in raw.items()}


class FxSimVenue(LinearSimVenue):
    """OANDA-like FX on replayed H1 bars."""

    kind = "fx"
    reports_spread_cost = True

    def __init__(self, clock: Clock, state_dir: Path, seed: int, starting_cash_cents: int,
                 surface: str = "fx") -> None:
        super().__init__(surface, clock, state_dir, seed, starting_cash_cents, dict(_series()))

    def half_spread(self, symbol: str, mid: Decimal, at: datetime) -> Decimal:
        hour = int(at.timestamp() // 3600)
        jitter = Decimal(str(round(0.8 + 0.4 * rng.unit(self.seed, symbol, hour, "spread"), 3)))
        rollover = 3 if at.hour == 21 else 1
        return SPREAD_PIPS[symbol] * pip(symbol) * jitter * rollover / 2

    def closed_reason(self, symbol: str, at: datetime) -> str | None:
        series = self._series(symbol)
        if series.index_at(at) is not None:
            return None
        last = series.bars[-1]
        if at >= last.start + timedelta(seconds=last.seconds):
            return "replay_data_exhausted: no FX bars after " + last.start.isoformat()
        return "market_closed: FX weekend or holiday (no bar at this hour)"

    def commission_cents(self, symbol: str, quantity: int, price: Decimal) -> int:
        return 0

    def to_usd_cents(self, symbol: str, amount: Decimal, at: datetime) -> int:
        quote_ccy = symbol[4:]
        if quote_ccy != "USD":
            series = self._series(_CONVERT[quote_ccy])
            rate = series.price_at(at)
            if rate is None:
                i = series.last_index_before(at)
                rate = series.bars[max(i, 0)].close
            amount = amount / rate
        return int((amount * 100).to_integral_value(ROUND_HALF_EVEN))

    def describe(self, symbol: str) -> Instrument:
        tick = Decimal("0.001") if symbol.endswith("JPY") else Decimal("0.00001")
        return Instrument(SIM_VENUE, symbol, "fx", symbol.replace("_", "/"), "fx", symbol, tick_size=tick,
                          fee_type="spread", attributes={"pip": str(pip(symbol)), "source": "deriv_h1"})
