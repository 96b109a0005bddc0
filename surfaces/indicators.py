"""Indicators the strategies share. Prices are Decimal in, Decimal out: they feed stop and take-profit levels."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

from shared.venues.base import Candle


def true_ranges(candles: Sequence[Candle]) -> list[Decimal]:
    """Wilder's true range per bar after the first: max(high − low, |high − prev close|, |low − prev close|)."""
    ranges = []
    for prev, bar in itertools.pairwise(candles):
        ranges.append(max(bar.high - bar.low, abs(bar.high - prev.close), abs(bar.low - prev.close)))
    return ranges


def atr(candles: Sequence[Candle], period: int) -> Decimal | None:
    """Average true range over the last ``period`` bars (simple mean); None without enough history."""
    ranges = true_ranges(candles)
    if period <= 0 or len(ranges) < period:
        return None
    window = ranges[-period:]
    return sum(window, Decimal(0)) / Decimal(period)


def ema(values: Sequence[Decimal], period: int) -> Decimal | None:
    """Exponential moving average seeded with the simple mean of the first ``period`` values."""
    if period <= 0 or len(values) < period:
        return None
    alpha = Decimal(2) / Decimal(period + 1)
    current = sum(values[:period], Decimal(0)) / Decimal(period)
    for value in values[period:]:
        current = alpha * value + (1 - alpha) * current
    return current


def rate_of_change(values: Sequence[Decimal], lookback: int) -> Decimal | None:
    """(last − value ``lookback`` bars ago) / that value."""
    if lookback <= 0 or len(values) <= lookback or values[-1 - lookback] == 0:
        return None
    base = values[-1 - lookback]
    return (values[-1] - base) / base
