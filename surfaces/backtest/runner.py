"""Run one surface's own loop and the resolver over a window of replayed data, writing ordinary bus logs.

Nothing here trades: the surface is built by its own ``build`` through surfaces/replay.py's ``build_member`` (the
fleet replay builds through the same function), on its sim venue, with the resolver over the same venue object.
This module only moves the clocks: the venue clock jumps to each instant of the backtest clock (clock.py), the
wall clock (what signals and decisions are stamped with) follows venue time, the loop ticks once and the resolver
once (the resolver first, so the loop decides knowing the exits made up to that instant). After the last tick the
resolver looks once more at the window's end, so exits inside the window are booked.
Positions still open then stay open: they are counted, never marked into the net.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.clock import SteppedClock
from shared.config import repo_root
from shared.ids import new_id
from shared.surfaces import surface_spec
from shared.timeutil import to_iso, utcnow
from shared.venues.sim import data, weather_forecast
from shared.venues.sim import fx as sim_fx
from shared.venues.sim import stocks as sim_stocks
from surfaces.backtest.clock import Schedule, schedule_for
from surfaces.backtest.settings import DEVIATIONS, backtest_settings, effective_settings
from surfaces.backtest.window import DATA_NOTES, BacktestWindow, data_range
from surfaces.replay import ReplayedSurface, build_member, resolver_for

MANIFEST = "manifest.json"
RESULT_KIND = "sim"
RESULT_LABEL = ("synthetic (sim): the sim venue's markets are priced so that no input knows more than the price, "
                "so these figures test the machinery and show no skill")


@dataclass(frozen=True)
class BacktestSpec:
    """What to run: a surface, a window of venue days, ``--set`` overrides (validated), a seed, a data folder."""

    surface: str
    window: BacktestWindow
    overrides: dict[str, str] = field(default_factory=dict)
    seed: int = 7
    data_dir: Path | None = None


@dataclass
class BacktestRun:
    """What a finished run leaves besides its logs: where they are and how the clock went."""

    spec: BacktestSpec
    out_dir: Path
    member: ReplayedSurface
    ticks: int
    elapsed_seconds: float
    clock: str
    starting_cash_cents: int
    manifest: dict[str, Any]


def code_version() -> str:
    """``git rev-parse HEAD`` of the checkout, ``+dirty`` when tracked files differ from it; "unknown" without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True,
                              timeout=5, check=False)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                                capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = head.stdout.strip()
    if head.returncode != 0 or not commit:
        return "unknown"
    # A run on edited code is not reproducible from the commit alone: say so.
    return commit + ("+dirty" if status.returncode == 0 and status.stdout.strip() else "")


def use_data_dir(data_dir: Path | None) -> None:
    """Point the sim's data loaders at ``data_dir`` (``$TBOT_DATA_DIR``, which shared/venues/sim/data.py reads)."""
    if data_dir is None:
        return
    wanted = str(data_dir.resolve())
    if os.environ.get("TBOT_DATA_DIR") != wanted:
        os.environ["TBOT_DATA_DIR"] = wanted
        forget_loaded_data()


def forget_loaded_data() -> None:
    """Drop what the sim has loaded and derived in this process, so the next read comes from the data folder now set.

    The loaders and the series built on them cache per process (a fleet process reads its files once); a process
    that switches folders (a test, a long-lived caller) must forget them, or it would replay the old data.
    """
    # Every cached function of the loader module and of the venues that build series on it: found by looking, not
    # listed, so a loader added or removed there is never missed here.
    for module in (data, sim_fx, sim_stocks):
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()
    weather_forecast.clear_caches()


def new_out_dir(base: Path) -> Path:
    """``base/<time-sortable id>``: ``logs/backtests/<ULID>``."""
    return base / new_id()


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    """Write atomically: a reader (the dashboard listing backtests) never sees half a manifest."""
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(out_dir / MANIFEST)


def write_env_file(out_dir: Path, spec: BacktestSpec) -> Path:
    """``<out>/envs/<surface env file>``: the run's venue, seed and overrides as the surface's env file.

    ``tbot audit pnl --log-dir <out> --env-dir <out>/envs`` then rebuilds the same sim venue (same seed) for its
    reconciliation line.
    """
    path = out_dir / "envs" / surface_spec(spec.surface).env_file
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# written by tbot backtest: the settings this backtest ran with (beside the surface's defaults)",
             "VENUE=sim", "TRADING_MODE=paper", f"SIM_SEED={spec.seed}"]
    lines += [f'{key}="{value}"' for key, value in sorted(spec.overrides.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_backtest(
    spec: BacktestSpec,
    out_dir: Path,
    *,
    schedule: Schedule | None = None,
    wall_start: datetime | None = None,
    wall_step: timedelta | None = None,
    on_tick: Callable[[int, int, datetime], None] | None = None,
    resolve_first: bool = True,
) -> BacktestRun:
    """Run ``spec`` into ``out_dir`` (created; it must not hold logs already).

    ``schedule`` replaces the backtest clock and ``wall_start``/``wall_step`` make the wall clock advance by a fixed
    step per tick instead of following venue time: both exist so a test can drive a backtest exactly as the fleet
    replay is driven (parity), as does ``resolve_first=False`` (the replay ticks the loop, then the resolver).
    ``on_tick(done, total, venue_time)`` reports progress.

    By default the resolver goes first at each instant: in the fleet it polls every few seconds, so by the time a
    bar closes it has booked the exits made during the bar, and the loop decides knowing them.
    """
    use_data_dir(spec.data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir}: not empty (a backtest writes into a directory of its own)")
    window = spec.window
    settings = backtest_settings(spec.surface, spec.overrides, out_dir, spec.seed)
    clock = SteppedClock(window.start)
    wall = SteppedClock(wall_start or window.start)
    member = build_member(spec.surface, settings, clock, wall, random.Random(spec.seed))
    resolver = resolver_for(out_dir, [member])
    moments = schedule if schedule is not None else schedule_for(spec.surface, member.venue, window.start, window.end)
    manifest = _manifest(spec, settings, moments.description)
    manifest["order"] = "resolver, then loop, at each instant" if resolve_first else "loop, then resolver"
    write_manifest(out_dir, manifest)
    write_env_file(out_dir, spec)
    started = time.perf_counter()
    total = len(moments)
    for done, moment in enumerate(moments, start=1):
        clock.set(moment)
        if wall_step is None:
            wall.set(moment)
        else:
            wall.advance(wall_step)
        if resolve_first:
            resolver.tick()
        member.loop.tick()
        if not resolve_first:
            resolver.tick()
        if on_tick is not None:
            on_tick(done, total, moment)
    if schedule is None:
        # Exits the venue made after the last tick but inside the window: booked now, at their own fill times.
        clock.set(window.end)
        wall.set(window.end)
        resolver.tick()
    member.loop.close()
    elapsed = time.perf_counter() - started
    manifest |= {"completed": True, "ticks": total, "elapsed_seconds": round(elapsed, 3)}
    write_manifest(out_dir, manifest)
    return BacktestRun(spec, out_dir, member, total, elapsed, moments.description, settings.bankroll_cents, manifest)


def _manifest(spec: BacktestSpec, settings: Any, clock: str) -> dict[str, Any]:
    available = data_range(spec.surface)
    return {
        "kind": "backtest",
        "surface": spec.surface,
        "window": {"from": spec.window.first.isoformat(), "to": spec.window.last.isoformat(),
                   "days": spec.window.days},
        "overrides": dict(sorted(spec.overrides.items())),
        "settings": effective_settings(settings),
        "seed": spec.seed,
        "data": {"dir": os.environ.get("TBOT_DATA_DIR") or str(repo_root() / "data"),
                 "range": {"from": available.first.isoformat(), "to": available.last.isoformat()},
                 "what": DATA_NOTES.get(spec.surface, "")},
        "clock": clock,
        "deviations": list(DEVIATIONS),
        "result_kind": RESULT_KIND,
        "result_label": RESULT_LABEL,
        "code_version": code_version(),
        "created_at": to_iso(utcnow()),
        "completed": False,
    }
