"""The backtest clock: the venue instants at which a surface's loop ticks, and why nothing between them matters.

- FX and stocks (event-driven): the bar boundaries of the surface's instruments. The bracket strategy decides on
  complete candles (surfaces/brackets.py), so a decision can change only when a bar closes; the loop ticks at each
  bar close, when the next bar's first quote is there to trade on. Stop losses and take profits need no tick: the
  venue finds them on the bar's price path and the resolver books them at the next tick with their own fill times.
  Hours without a bar (FX weekends, the stock market's nights, weekends and holidays: exactly when the sim venue's
  ``closed_reason`` says the market is closed) are skipped entirely. A session's last bar end (16:00 ET) is a tick
  too, so an exit in the last half hour is booked on its day.
- kalshi_st (fixed steps of one minute): the BTC 15-minute strategy reads 1-minute candles and a book that the sim
  requotes every minute, and a BTC market is open around the clock (one every quarter hour), so every minute is a
  decision point; weather books requote on 10-minute blocks and listings, closes and settlements fall on whole
  minutes. The recorded KXHIGHNY quotes change between minutes too: the loop sees them as of each minute.
- ``FixedSteps``: the fleet replay's clock (a fixed step from a start), for parity with surfaces/replay.py.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.venues.base import Venue
from shared.venues.sim.linear import LinearSimVenue

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Schedule:
    """Strictly increasing venue instants in ``[start, end)``, and a sentence saying how they were chosen."""

    moments: Sequence[datetime]
    description: str

    def __iter__(self) -> Iterator[datetime]:
        return iter(self.moments)

    def __len__(self) -> int:
        return len(self.moments)


def bar_schedule(venue: LinearSimVenue, start: datetime, end: datetime) -> Schedule:
    """Every bar start and end of the venue's instruments in ``[start, end)`` (event-driven)."""
    points: set[datetime] = set()
    for series in venue.series.values():
        starts = [bar.start for bar in series.bars]
        # Only the bars that touch the window: bisect, not a scan of the whole (looped) series.
        i = max(0, bisect.bisect_left(starts, start) - 1)
        for bar in series.bars[i:]:
            if bar.start >= end:
                break
            finish = bar.start + timedelta(seconds=bar.seconds)
            points.update(t for t in (bar.start, finish) if start <= t < end)
    return Schedule(sorted(points), "event-driven: one tick per bar close (hours without a bar skipped)")


def step_schedule(start: datetime, end: datetime, step: timedelta = MINUTE) -> Schedule:
    """``start``, ``start + step``, ... before ``end``."""
    count = int((end - start) / step)
    moments = [start + k * step for k in range(count) if start + k * step < end]
    return Schedule(moments, f"fixed steps of {int(step.total_seconds())} s")


def fixed_steps(first: datetime, step: timedelta, count: int) -> Schedule:
    """The replay's clock: ``count`` ticks, the first at ``first``."""
    return Schedule([first + k * step for k in range(count)], f"fixed steps of {int(step.total_seconds())} s")


def schedule_for(surface: str, venue: Venue, start: datetime, end: datetime) -> Schedule:
    """The backtest clock of ``surface`` over ``[start, end)``."""
    if isinstance(venue, LinearSimVenue):
        return bar_schedule(venue, start, end)
    if surface == "kalshi_st":
        schedule = step_schedule(start, end, MINUTE)
        return Schedule(schedule.moments, "one tick per minute (BTC markets requote every minute, around the clock)")
    raise ValueError(f"no backtest clock for surface {surface!r}")
