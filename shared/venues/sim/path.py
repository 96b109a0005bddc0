"""Prices between bar boundaries, and candles aggregated from bars.

A bar only says open, high, low and close. Inside it the sim walks the conventional OHLC path: open, then the
extreme nearer the open's direction (low first on an up bar, high first on a down bar), then the other extreme,
then close, at 0, 1/3, 2/3 and 1 of the bar. Quotes therefore touch the real high and low, and a stop inside the
bar's range triggers as it would have on that bar.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.venues.base import Candle
from shared.venues.sim.data import Bar


def bar_points(bar: Bar) -> list[tuple[datetime, Decimal]]:
    """The four (time, price) vertices of the bar's path."""
    third = timedelta(seconds=bar.seconds / 3)
    first, second = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
    end = bar.start + timedelta(seconds=bar.seconds)
    return [(bar.start, bar.open), (bar.start + third, first), (bar.start + 2 * third, second), (end, bar.close)]


def price_in_bar(bar: Bar, at: datetime) -> Decimal:
    """The path price at ``at`` (clamped to the bar), quantized like the bar's prices."""
    points = bar_points(bar)
    if at <= points[0][0]:
        return bar.open
    for (t0, p0), (t1, p1) in itertools.pairwise(points):
        if at <= t1:
            span = (t1 - t0).total_seconds()
            frac = Decimal(str(round((at - t0).total_seconds() / span, 6))) if span > 0 else Decimal(1)
            exponent = min(p.as_tuple().exponent for p in (bar.open, bar.high, bar.low, bar.close))
            quantum = Decimal(1).scaleb(int(exponent) if isinstance(exponent, int) else -5)
            return (p0 + (p1 - p0) * frac).quantize(quantum)
    return bar.close


WEEK = timedelta(days=7)


def weekly_cycle(series: Sequence[Sequence[Bar]]) -> timedelta:
    """The loop length for a set of bar series: the shortest series' span rounded up to whole weeks.

    Whole weeks keep weekdays, sessions and weekends where they were; using the shortest span means every series
    has data through the whole cycle (a longer series is cut at the cycle's end).
    """
    spans = [s[-1].start + timedelta(seconds=s[-1].seconds) - s[0].start for s in series if s]
    shortest = min(spans)
    return WEEK * -(-shortest // WEEK)


def looped(bars: Sequence[Bar], cycle: timedelta, repeats: int) -> list[Bar]:
    """``bars`` replayed ``repeats`` times back to back, each pass shifted by ``cycle`` (bars past it dropped).

    A long-running fleet never runs out of data; the seam between passes falls in a market closure (the data start
    on a Monday / a session open and end before the same weekday), so it reads like a weekend gap.
    """
    first = bars[0].start
    kept = [b for b in bars if b.start - first < cycle]
    return [
        Bar(b.start + k * cycle, b.seconds, b.open, b.high, b.low, b.close, b.volume)
        for k in range(repeats)
        for b in kept
    ]


class BarSeries:
    """Bars of one instrument with O(log n) lookup by time."""

    def __init__(self, symbol: str, bars: Sequence[Bar]) -> None:
        self.symbol = symbol
        self.bars = tuple(bars)
        self._starts = [b.start for b in self.bars]

    def index_at(self, at: datetime) -> int | None:
        """The index of the bar covering ``at``, or None if ``at`` falls in a gap or outside the data."""
        i = bisect.bisect_right(self._starts, at) - 1
        if i < 0:
            return None
        bar = self.bars[i]
        return i if at < bar.start + timedelta(seconds=bar.seconds) else None

    def last_index_before(self, at: datetime) -> int:
        """The index of the last bar starting at or before ``at`` (-1 if none)."""
        return bisect.bisect_right(self._starts, at) - 1

    def price_at(self, at: datetime) -> Decimal | None:
        """The path price at ``at``; None when no bar covers it (weekend, night, holiday, data exhausted)."""
        i = self.index_at(at)
        return None if i is None else price_in_bar(self.bars[i], at)

    def complete_candles(self, now: datetime, granularity_s: int, count: int) -> list[Candle]:
        """The ``count`` most recent complete candles at ``now``, aggregated to ``granularity_s``."""
        base = self.bars[0].seconds if self.bars else 60
        if granularity_s < base or granularity_s % base:
            raise ValueError(f"{self.symbol}: granularity {granularity_s}s is not a multiple of the {base}s bars")
        end = self.last_index_before(now)
        done = [b for b in self.bars[max(0, end - (count + 2) * (granularity_s // base) - 2) : end + 1]
                if b.start + timedelta(seconds=b.seconds) <= now]
        if count <= 0:
            return []
        if granularity_s == base:
            # The bars themselves, with their own start times (a session's last half-hour bar keeps its :30 start).
            return [Candle(self.symbol, b.start, granularity_s, b.open, b.high, b.low, b.close, b.volume)
                    for b in done[-count:]]
        return aggregate(self.symbol, done, granularity_s, now)[-count:]


def aggregate(symbol: str, bars: Sequence[Bar], granularity_s: int, now: datetime) -> list[Candle]:
    """Group bars into candles aligned to ``granularity_s`` since the Unix epoch; only complete candles."""
    candles: list[Candle] = []
    group: list[Bar] = []
    key: int | None = None

    def flush() -> None:
        if not group or key is None:
            return
        start = datetime.fromtimestamp(key * granularity_s, UTC)
        if granularity_s == group[0].seconds or start + timedelta(seconds=granularity_s) <= now:
            candles.append(
                Candle(symbol, start if granularity_s != group[0].seconds else group[0].start, granularity_s,
                       group[0].open, max(b.high for b in group), min(b.low for b in group), group[-1].close,
                       sum(b.volume for b in group))
            )

    for bar in bars:
        k = int(bar.start.timestamp()) // granularity_s
        if k != key:
            flush()
            group, key = [], k
        group.append(bar)
    flush()
    return candles
