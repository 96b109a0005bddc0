"""Small statistics the sections share. Money stays integer cents; ratios are floats."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

DAYS_PER_YEAR = 365  # prediction markets and FX trade every day; the annualization is stated in the output


def max_drawdown_cents(pnls: Sequence[int]) -> int:
    """Largest peak-to-trough fall of cumulative P&L (starting from 0), in cents; 0 if it never fell."""
    equity = peak = worst = 0
    for pnl in pnls:
        equity += pnl
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return worst


def daily_series(pnl_by_day: dict[str, int]) -> list[int]:
    """P&L per calendar day from the first to the last day with a resolution, days without one as 0."""
    if not pnl_by_day:
        return []
    days = sorted(pnl_by_day)
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    out = []
    day = first
    while day <= last:
        out.append(pnl_by_day.get(day.isoformat(), 0))
        day += timedelta(days=1)
    return out


def sharpe(daily: Sequence[int]) -> float | None:
    """Mean over sample standard deviation of daily P&L (not annualized); None under 2 days or no variation."""
    n = len(daily)
    if n < 2:
        return None
    mean = sum(daily) / n
    variance = sum((x - mean) ** 2 for x in daily) / (n - 1)
    if variance <= 0:
        return None
    return mean / math.sqrt(variance)


def annualize(daily_sharpe: float | None) -> float | None:
    return None if daily_sharpe is None else daily_sharpe * math.sqrt(DAYS_PER_YEAR)


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation quantile of already sorted values (the same rule as numpy's default)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(sorted_values[low])
    fraction = position - low
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction)


def median(values: Sequence[float]) -> float | None:
    return quantile(sorted(values), 0.5)


def ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


Z_95 = 1.96  # two-sided 95 % normal quantile


@dataclass(frozen=True, slots=True)
class MeanInterval:
    """A sample mean with its normal-approximation 95 % interval: mean ± 1.96 · s / √n (s the sample sd)."""

    n: int
    mean: float
    low: float | None  # None under 2 values: one value gives no spread to judge
    high: float | None

    @property
    def half_width(self) -> float | None:
        return None if self.high is None else self.high - self.mean


def mean_interval(values: Sequence[float], z: float = Z_95) -> MeanInterval | None:
    """The mean of ``values`` with mean ± z·s/√n; None for no values."""
    n = len(values)
    if n == 0:
        return None
    mean = math.fsum(values) / n
    if n < 2:
        return MeanInterval(n, mean, None, None)
    variance = math.fsum((x - mean) ** 2 for x in values) / (n - 1)
    half = z * math.sqrt(variance / n)
    return MeanInterval(n, mean, mean - half, mean + half)
