"""The whole operator side in one process on stepped clocks: every surface loop plus the resolver.

Used by the fleet integration test and the tick benchmark: deterministic (seeded venues and signal ids, clocks
that move only when told) and fast (hours of sim time in seconds), yet built from exactly the parts the PM2 fleet
runs: the same settings classes, ``build`` functions, sim venues, risk chains, lifecycle and resolver.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.clock import SteppedClock
from shared.ids import new_id
from shared.paths import open_stream
from shared.venues.base import Venue
from shared.venues.sim import build_sim_venue
from shared.venues.sim.replay import DATA_STARTS
from surfaces.loop import SurfaceLoop
from surfaces.resolver.service import Resolver, SurfaceBook
from surfaces.runner import SURFACE_PACKAGES

# Sim time per tick, per surface: a weather day in ~100 ticks, an FX/stock bar every other tick.
STEPS: dict[str, timedelta] = {
    "kalshi_st": timedelta(minutes=5),
    "kalshi_lt": timedelta(hours=2),
    "fx": timedelta(minutes=30),
    "stocks": timedelta(minutes=30),
}


@dataclass
class ReplayedSurface:
    name: str
    clock: SteppedClock
    venue: Venue
    loop: SurfaceLoop
    step: timedelta
    settings: Any


@dataclass
class FleetReplay:
    log_dir: Path
    seed: int = 7
    surfaces: tuple[str, ...] = ("kalshi_st", "kalshi_lt", "fx", "stocks")
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    start_offsets: dict[str, timedelta] = field(default_factory=dict)
    members: dict[str, ReplayedSurface] = field(default_factory=dict)
    wall: SteppedClock | None = None
    resolver: Resolver | None = None

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        first = min(DATA_STARTS.values())
        self.wall = SteppedClock(first)
        for name in self.surfaces:
            self.members[name] = self._build(name, rng)
        books = []
        for member in self.members.values():
            trades = open_stream(self.log_dir, member.name, "trades")
            books.append(SurfaceBook(surface=member.name, venue=member.venue, trades=trades, reader=trades.reader()))
        self.resolver = Resolver(books)

    def _build(self, name: str, rng: random.Random) -> ReplayedSurface:
        module = importlib.import_module(SURFACE_PACKAGES[name][0])
        values: dict[str, Any] = {
            "log_dir": self.log_dir, "signal_key_path": self.log_dir / "keys" / "operator_ed25519.pem",
            "sim_seed": self.seed, "tick_seconds": 0.01,
        }
        values.update(self.overrides.get(name, {}))
        settings = module.SETTINGS(**values)
        clock = SteppedClock(DATA_STARTS[name] + self.start_offsets.get(name, timedelta(0)))
        venue = build_sim_venue(name, clock, self.log_dir, self.seed, settings.bankroll_cents)
        wall = self.wall
        assert wall is not None
        loop = module.build(settings, process_name=SURFACE_PACKAGES[name][2], venue=venue, wall=wall,
                            new_signal_id=lambda: new_id(wall.now(), rng.randbytes(10)))
        loop.start()
        return ReplayedSurface(name, clock, venue, loop, STEPS[name], settings)

    def tick(self) -> None:
        """One step of every surface's clock, one loop tick each, then one resolver pass."""
        assert self.wall is not None and self.resolver is not None
        self.wall.advance(timedelta(seconds=1))
        for member in self.members.values():
            member.clock.advance(member.step)
            member.loop.tick()
        self.resolver.tick()

    def run(self, ticks: int) -> None:
        for _ in range(ticks):
            self.tick()

    def close(self) -> None:
        for member in self.members.values():
            member.loop.close()

    def now(self, surface: str) -> datetime:
        return self.members[surface].clock.now()


def counts(log_dir: Path, surfaces: Iterable[str]) -> dict[str, dict[str, int]]:
    """Signals, filled and resolved trades per surface, read back from the logs."""
    import json

    out: dict[str, dict[str, int]] = {}
    for surface in surfaces:
        c = {"signals": 0, "filled": 0, "resolved": 0, "decisions": 0}
        for stream, key in (("signals", "signals"), ("decisions", "decisions")):
            path = log_dir / surface / f"{stream}.jsonl"
            if path.exists():
                c[key] = sum(1 for _ in path.open())
        path = log_dir / surface / "trades.jsonl"
        if path.exists():
            for line in path.open():
                status = json.loads(line).get("status")
                if status in ("filled", "resolved"):
                    c[status] += 1
        out[surface] = c
    return out
