"""One replay clock for the whole fleet: a shared epoch file plus a per-surface data start.

The first process to start writes ``logs/sim/epoch.json`` (O_EXCL, so exactly one wins); every other process,
including the resolver, reads it. Sim time for a surface is then ``data_start + (wall − epoch) × SIM_SPEED``,
identical in every process. Delete the file (with the fleet stopped) to start the replay over.

Data starts are chosen so that something happens at once: kalshi_st opens on 2025-12-05 15:00Z, when the first
recorded KXHIGHNY event starts quoting, with that day's synthetic weather events closing 14 sim hours later and a
BTC market every 15 sim minutes; kalshi_lt on 2025-07-30 14:00Z, when the September-2025 Fed markets open (they
close about a sim day later on the 48× compressed long-term timeline); fx on Wednesday 2025-07-30 06:00Z, 54 H1
bars into the data, and stocks on Monday 2025-04-14 13:30Z (09:30 ET), nine sessions (63 hourly bars) in: the
bracket strategies' indicators (a 48-bar EMA, a 14-bar ATR) need that history before their first signal, and a
weekday start keeps the first minutes of a fresh `make up` inside trading hours.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from shared.clock import Clock, ReplayClock, WallClock
from shared.timeutil import from_iso, to_iso

DATA_STARTS: dict[str, datetime] = {
    "kalshi_st": datetime(2025, 12, 5, 15, 0, tzinfo=UTC),
    "kalshi_lt": datetime(2025, 7, 30, 14, 0, tzinfo=UTC),
    "fx": datetime(2025, 7, 30, 6, 0, tzinfo=UTC),
    "stocks": datetime(2025, 4, 14, 13, 30, tzinfo=UTC),
}


class EpochError(Exception):
    """The shared epoch file exists but cannot be read."""


def epoch_path(log_dir: Path) -> Path:
    return log_dir / "sim" / "epoch.json"


def load_or_create_epoch(log_dir: Path, wall: Clock | None = None) -> datetime:
    """The fleet's replay epoch; created now (exclusively) if no process has created it yet."""
    path = epoch_path(log_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = (wall or WallClock()).now()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        return _read_epoch(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"epoch": to_iso(now)}) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return now


def _read_epoch(path: Path) -> datetime:
    # The creator may be between O_EXCL and its write: give it a moment before calling the file broken.
    for _ in range(50):
        text = path.read_text(encoding="utf-8")
        if text.endswith("\n"):
            try:
                return from_iso(str(json.loads(text)["epoch"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise EpochError(f"{path}: unreadable sim epoch ({exc}); stop the fleet and delete it") from None
        time.sleep(0.02)
    raise EpochError(f"{path}: sim epoch file stays incomplete; stop the fleet and delete it")


def replay_clock(surface: str, log_dir: Path, speed: float, wall: Clock | None = None) -> ReplayClock:
    """The surface's replay clock on the fleet's shared epoch."""
    if surface not in DATA_STARTS:
        raise ValueError(f"no sim data start for surface {surface!r}")
    epoch = load_or_create_epoch(log_dir, wall)
    return ReplayClock(DATA_STARTS[surface], epoch, speed, wall)


def existing_replay_clock(surface: str, log_dir: Path, speed: float, wall: Clock | None = None) -> ReplayClock:
    """The surface's replay clock on an epoch some fleet process already wrote; never creates one.

    For read-only users (the subscriber client's paper quotes): without a running fleet's epoch there is no
    shared market to quote, and this raises FileNotFoundError instead of starting a replay of its own.
    """
    if surface not in DATA_STARTS:
        raise ValueError(f"no sim data start for surface {surface!r}")
    path = epoch_path(log_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no sim fleet epoch (is the operator's fleet running here?)")
    return ReplayClock(DATA_STARTS[surface], _read_epoch(path), speed, wall)
