"""Clocks. Wall time stamps what people read (signals' published_at/expires_at, decisions); venue time is
the time of the market being traded. On a live venue the two are the same; a sim venue replays historical
data on a compressed clock, and trades record venue time (opened_at, resolved_at, eta_hours) so that an ETA
and its outcome are measured on one clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant on this clock, timezone-aware UTC."""
        ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)  # utcnow() without its extra call: the risk chain stamps every decision with it


class ReplayClock:
    """Maps wall time onto historical time: data_start + (wall − epoch) × speed.

    Every process of the fleet builds its replay clock from the same epoch (a file the first one writes),
    so the surfaces and the resolver agree on what the simulated market is doing right now.
    """

    def __init__(self, data_start: datetime, epoch: datetime, speed: float, wall: Clock | None = None) -> None:
        self.data_start = data_start
        self.epoch = epoch
        self.speed = speed
        self._wall = wall or WallClock()

    def now(self) -> datetime:
        elapsed = (self._wall.now() - self.epoch).total_seconds()
        return self.data_start + timedelta(seconds=max(0.0, elapsed) * self.speed)


class SteppedClock:
    """A clock that moves only when told to: deterministic replays and tests."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment
