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

from shared.clock import Clock, SteppedClock
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


def replay_settings(name: str, log_dir: Path, seed: int, overrides: dict[str, Any]) -> Any:
    """A surface's settings as the replay runs it: logs, key and sim seed under ``log_dir``, plus ``overrides``."""
    module = importlib.import_module(SURFACE_PACKAGES[name][0])
    values: dict[str, Any] = {
        "log_dir": log_dir, "signal_key_path": log_dir / "keys" / "operator_ed25519.pem",
        "sim_seed": seed, "tick_seconds": 0.01,
    }
    values.update(overrides)
    return module.SETTINGS(**values)


def build_member(name: str, settings: Any, clock: SteppedClock, wall: Clock, rng: random.Random) -> ReplayedSurface:
    """One surface exactly as its PM2 process builds it (its own ``build``), on a sim venue driven by ``clock``.

    The replay and ``tbot backtest`` both build through here: one code path for trading. Signal ids come from
    ``rng`` and the wall clock, so a replay reproduces them.
    """
    module = importlib.import_module(SURFACE_PACKAGES[name][0])
    venue = build_sim_venue(name, clock, settings.log_dir, settings.sim_seed, settings.bankroll_cents)
    loop = module.build(settings, process_name=SURFACE_PACKAGES[name][2], venue=venue, wall=wall,
                        new_signal_id=lambda: new_id(wall.now(), rng.randbytes(10)))
    loop.start()
    return ReplayedSurface(name, clock, venue, loop, STEPS[name], settings)


def resolver_for(log_dir: Path, members: Iterable[ReplayedSurface]) -> Resolver:
    """The resolver over these surfaces' trade logs and venues (the same venue objects their loops trade on)."""
    books = []
    for member in members:
        trades = open_stream(log_dir, member.name, "trades")
        books.append(SurfaceBook(surface=member.name, venue=member.venue, trades=trades, reader=trades.reader()))
    return Resolver(books)


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
            settings = replay_settings(name, self.log_dir, self.seed, self.overrides.get(name, {}))
            clock = SteppedClock(DATA_STARTS[name] + self.start_offsets.get(name, timedelta(0)))
            self.members[name] = build_member(name, settings, clock, self.wall, rng)
        self.resolver = resolver_for(self.log_dir, self.members.values())

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
