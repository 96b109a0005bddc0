"""Fixtures for the sim venue tests: a stepped clock and a fresh sim venue per surface."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from shared.clock import SteppedClock
from shared.venues.base import Venue
from shared.venues.sim import build_sim_venue

SimFactory = Callable[[str, datetime], tuple[Venue, SteppedClock]]


@pytest.fixture
def make_sim(log_dir: Path) -> SimFactory:
    def make(surface: str, start: datetime, seed: int = 7, cash: int = 1_000_000) -> tuple[Venue, SteppedClock]:
        clock = SteppedClock(start)
        return build_sim_venue(surface, clock, log_dir, seed, cash), clock

    return make
