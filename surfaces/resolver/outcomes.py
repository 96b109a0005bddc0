"""Pure settlement maths: when a bracket exits and at what price, and what a position made.

Brackets are judged bar by bar after the entry. A bar that opens beyond a level gapped through it: the exit is
the bar's open, not the level (a stop cannot fill better than the market gave). A bar whose range holds both the
stop and the target is taken as a stop: from a bar alone the order of the two is unknowable, so assume the worst.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from shared.venues.base import Candle


@dataclass(frozen=True, slots=True)
class BracketExit:
    price: Decimal
    at: datetime
    reason: Literal["stop_loss", "take_profit", "stop_loss_gap", "take_profit_gap"]


def bracket_exit(
    side: str, stop_loss: Decimal, take_profit: Decimal, candles: Sequence[Candle], opened_at: datetime
) -> BracketExit | None:
    """The first SL/TP hit in bars that start at or after the entry; None while neither was touched.

    The bar the entry falls inside is skipped: its open and part of its range happened before the position existed.
    """
    long = side == "long"
    for bar in candles:
        if bar.start < opened_at:
            continue
        if long:
            if bar.open <= stop_loss:
                return BracketExit(bar.open, bar.start, "stop_loss_gap")
            if bar.open >= take_profit:
                return BracketExit(bar.open, bar.start, "take_profit_gap")
            if bar.low <= stop_loss:
                return BracketExit(stop_loss, _end(bar), "stop_loss")
            if bar.high >= take_profit:
                return BracketExit(take_profit, _end(bar), "take_profit")
        else:
            if bar.open >= stop_loss:
                return BracketExit(bar.open, bar.start, "stop_loss_gap")
            if bar.open <= take_profit:
                return BracketExit(bar.open, bar.start, "take_profit_gap")
            if bar.high >= stop_loss:
                return BracketExit(stop_loss, _end(bar), "stop_loss")
            if bar.low <= take_profit:
                return BracketExit(take_profit, _end(bar), "take_profit")
    return None


def _end(bar: Candle) -> datetime:
    return bar.start + timedelta(seconds=bar.granularity_s)


def binary_payout_cents(count_centi: int, won: bool) -> int:
    """A winning contract pays $1: 100 centi-contracts pay 100 cents, so the payout in cents is the centi-count."""
    return count_centi if won else 0


def binary_pnl_cents(count_centi: int, cost_cents: int, fees_cents: int, result: str, side: str) -> int:
    """Realized P&L of a held binary side after fees. A void market refunds the premium; fees are not refunded."""
    if result == "void":
        return -fees_cents
    won = result == side
    return binary_payout_cents(count_centi, won) - cost_cents - fees_cents


def price_pnl(side: str, units: int, entry: Decimal, exit_price: Decimal) -> Decimal:
    """P&L in the quote currency of ``units`` held long or short from ``entry`` to ``exit_price``."""
    sign = Decimal(1) if side == "long" else Decimal(-1)
    return sign * Decimal(units) * (exit_price - entry)


def to_cents(amount: Decimal) -> int:
    """Dollars to whole cents, half-even (no systematic bias across many trades)."""
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_EVEN))
