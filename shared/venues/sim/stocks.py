"""The US equities sim venue: quotes only in the regular session, from real hourly bars.

Outside 09:30–16:00 America/New_York on a trading day (a day with bars) there is no quote and orders are
rejected with ``outside_market_hours``. The spread is a cent or one basis point, whichever is wider; the commission
is IBKR's Fixed schedule: $0.005 a share, at least $1.00, at most 1 % of the trade value.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.clock import Clock
from shared.venues.base import Instrument
from shared.venues.sim import data
from shared.venues.sim.common import SIM_VENUE
from shared.venues.sim.linear import LinearSimVenue
from shared.venues.sim.path import BarSeries, looped, weekly_cycle

NEW_YORK = ZoneInfo("America/New_York")
SESSION = (time(9, 30), time(16, 0))
PER_SHARE = Decimal("0.5")  # cents
MIN_COMMISSION_CENTS = 100
MAX_COMMISSION_RATE = Decimal("0.01")
REPEATS = 3  # the year of bars loops in 53-week passes (weekdays kept), about 3 years of sim time


def ibkr_fixed_commission_cents(shares: int, price: Decimal) -> int:
    """IBKR Fixed pricing for US stocks, in cents."""
    per_share = int((PER_SHARE * shares).to_integral_value(ROUND_CEILING))
    cap = int((Decimal(shares) * price * 100 * MAX_COMMISSION_RATE).to_integral_value(ROUND_CEILING))
    return min(max(MIN_COMMISSION_CENTS, per_share), cap)


@cache
def _series() -> dict[str, BarSeries]:
    """The looped bar series, built once per process (they are read-only)."""
    raw = {symbol: data.stock_bars(symbol) for symbol in data.STOCK_SYMBOLS}
    cycle = weekly_cycle(list(raw.values()))
    return {symbol: BarSeries(symbol, looped(bars, cycle, REPEATS)) for symbol, bars in raw.items()}


class StocksSimVenue(LinearSimVenue):
    """IBKR-like US equities on replayed hourly bars."""

    kind = "equity"

    def __init__(self, clock: Clock, state_dir: Path, seed: int, starting_cash_cents: int,
                 surface: str = "stocks") -> None:
        super().__init__(surface, clock, state_dir, seed, starting_cash_cents, dict(_series()))

    def cash_flows(self) -> bool:
        return True

    def half_spread(self, symbol: str, mid: Decimal, at: datetime) -> Decimal:
        return max(Decimal("0.005"), mid * Decimal("0.00005"))

    def closed_reason(self, symbol: str, at: datetime) -> str | None:
        local = at.astimezone(NEW_YORK)
        series = self._series(symbol)
        last = series.bars[-1]
        if at >= last.start + timedelta(seconds=last.seconds):
            return "replay_data_exhausted: no bars after " + last.start.isoformat()
        in_hours = local.weekday() < 5 and SESSION[0] <= local.time() < SESSION[1]
        if not in_hours or series.index_at(at) is None:
            return (f"outside_market_hours: US equities trade 09:30-16:00 America/New_York on trading days "
                    f"(now {local:%a %H:%M} ET)")
        return None

    def commission_cents(self, symbol: str, quantity: int, price: Decimal) -> int:
        return ibkr_fixed_commission_cents(quantity, price)

    def to_usd_cents(self, symbol: str, amount: Decimal, at: datetime) -> int:
        return int((amount * 100).to_integral_value())

    def describe(self, symbol: str) -> Instrument:
        return Instrument(SIM_VENUE, symbol, "equity", symbol, "equity", symbol, tick_size=Decimal("0.01"),
                          fee_type="ibkr_fixed", attributes={"source": "yfinance_1h"})
