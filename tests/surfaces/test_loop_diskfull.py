"""A full disk halts new risk at once, loudly and without a traceback; the loop keeps running and resumes.

The paper fleet (kalshi_st and fx, seed 7) trades on a small tmpfs that is then filled to the last byte (skipped
with the reason if mounting is refused), and again with the refusal injected into the bus, which always runs.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.bus import DiskFullError, JsonlLog, LogReader
from surfaces.replay import FleetReplay

SURFACES = ("kalshi_st", "fx")
TMPFS_BYTES = 32 << 20


class Disk:
    """Makes the logs' file system full and frees it again."""

    def __init__(self, fill: Callable[[], None], free: Callable[[], None]) -> None:
        self.fill, self.free = fill, free


@pytest.fixture(params=["tmpfs", "injected"])
def disk(request: pytest.FixtureRequest, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Disk]]:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    if request.param == "tmpfs":
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(log_dir)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"mount -t tmpfs refused: {done.stderr.strip()}")
        filler = log_dir / "filler"

        def fill() -> None:
            with filler.open("wb") as f:
                try:
                    while True:
                        f.write(b"\0" * (1 << 16))
                        f.flush()
                except OSError:
                    pass
            # tmpfs pages: top up the last partial page too
            try:
                with filler.open("ab") as f:
                    while True:
                        f.write(b"\0")
                        f.flush()
            except OSError:
                pass

        try:
            yield log_dir, Disk(fill, filler.unlink)
        finally:
            subprocess.run(["umount", "-l", str(log_dir)], check=False)
        return
    full = {"on": False}
    real = JsonlLog._write_locked

    def write_locked(self: JsonlLog, fd: int, bodies: list[bytes]) -> list[str]:
        if full["on"]:
            raise DiskFullError(errno.ENOSPC, self.path)
        return real(self, fd, bodies)

    monkeypatch.setattr(JsonlLog, "_write_locked", write_locked)
    yield log_dir, Disk(lambda: full.update(on=True), lambda: full.update(on=False))


def sizes(log_dir: Path, stream: str) -> dict[str, int]:
    return {s: (log_dir / s / f"{stream}.jsonl").stat().st_size if (log_dir / s / f"{stream}.jsonl").exists() else 0
            for s in SURFACES}


def statuses(log_dir: Path, surface: str) -> list[str]:
    return [e.data["status"] for e in JsonlLog(log_dir / surface / "trades.jsonl").read_all()]


def step(fleet: FleetReplay) -> None:
    """FleetReplay.tick, with the resolver run as its process runs it (surfaces/resolver/main.py)."""
    assert fleet.wall is not None and fleet.resolver is not None
    fleet.wall.advance(timedelta(seconds=1))
    for member in fleet.members.values():
        member.clock.advance(member.step)
        member.loop.tick()
    with contextlib.suppress(DiskFullError):
        fleet.resolver.tick()


def test_a_full_disk_halts_new_risk_and_trading_resumes_when_there_is_room(
    disk: tuple[Path, Disk], caplog: pytest.LogCaptureFixture
) -> None:
    log_dir, control = disk
    fleet = FleetReplay(log_dir, seed=7, surfaces=SURFACES)
    for _ in range(40):
        step(fleet)
    loops = {name: m.loop for name, m in fleet.members.items()}
    assert all(loop.stats.decisions > 0 for loop in loops.values())
    caplog.clear()
    caplog.set_level(logging.DEBUG)

    control.fill()
    for _ in range(40):  # no exception escapes a tick; a file may still fill its last page before a refusal
        step(fleet)
        if all(loop.halted_for_disk for loop in loops.values()):
            break
    assert all(loop.halted_for_disk for loop in loops.values())
    before = {stream: sizes(log_dir, stream) for stream in ("decisions", "signals")}
    intents = {name: statuses(log_dir, name).count("intent") for name in SURFACES}
    decided = {name: loop.stats.decisions for name, loop in loops.items()}
    for _ in range(14):
        step(fleet)
    # New risk stays stopped: nothing decided, no intent, no signal (the resolver's exits may still get in).
    assert {stream: sizes(log_dir, stream) for stream in before} == before
    assert {name: statuses(log_dir, name).count("intent") for name in SURFACES} == intents
    assert {name: loop.stats.decisions for name, loop in loops.items()} == decided
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR and "DISK FULL" in r.getMessage()]
    assert sorted(r.getMessage().split(":")[0] for r in loud) == sorted(m.loop.process_name
                                                                         for m in fleet.members.values())
    assert all(r.exc_info is None for r in caplog.records if r.levelno >= logging.WARNING), \
        [r.getMessage() for r in caplog.records if r.exc_info]
    assert all(loop.stats.disk_full_ticks >= 14 for loop in loops.values())

    control.free()
    step(fleet)
    assert not any(loop.halted_for_disk for loop in loops.values())
    for name in SURFACES:
        events = [e.data for e in JsonlLog(log_dir / name / "events.jsonl").read_all()
                  if e.data.get("breaker") == "disk_full"]
        assert [e["action"] for e in events] == ["trip", "reset"]
    for _ in range(30):
        step(fleet)
    assert sum(loop.stats.decisions for loop in loops.values()) > sum(decided.values()) + 2  # trading again
    fleet.close()
    # Nothing torn or corrupt anywhere, and every trade that was sent has its outcome recorded.
    for path in log_dir.rglob("*.jsonl"):
        reader = LogReader(path)
        entries = list(reader.read())
        assert reader.stats.corrupt_lines == 0, path
        assert path.read_bytes().endswith(b"\n") or not entries
    for name in SURFACES:
        latest: dict[str, Any] = {}
        for entry in JsonlLog(log_dir / name / "trades.jsonl").read_all():
            latest[entry.data["id"]] = entry.data["status"]
        assert "intent" not in latest.values() and "placed" not in latest.values()


def test_a_loop_that_cannot_record_its_reconciliation_starts_halted(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from shared.records import BreakerEvent

    fleet = FleetReplay(tmp_path, seed=7, surfaces=("fx",))
    for _ in range(5):
        step(fleet)
    loop = fleet.members["fx"].loop
    # A process that ended while halted left a disk_full trip behind; this start finds room and resets it.
    JsonlLog(tmp_path / "fx" / "events.jsonl").append(BreakerEvent(
        surface="fx", breaker="disk_full", action="trip", at=datetime(2025, 8, 4, tzinfo=UTC), reason="full"))
    loop.decider.chain.breakers.refresh()
    calls = {"n": 0}
    real = loop.lifecycle.reconcile

    def reconcile() -> list[Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise DiskFullError(errno.ENOSPC, tmp_path / "fx" / "trades.jsonl")
        return real()

    monkeypatch.setattr(loop.lifecycle, "reconcile", reconcile)
    loop.start()
    assert loop.halted_for_disk and calls["n"] == 1
    decided = loop.stats.decisions
    step(fleet)  # room again: reconciles first, then resumes
    assert calls["n"] == 2 and not loop.halted_for_disk and loop.stats.decisions == decided
    actions = [e.data["action"] for e in JsonlLog(tmp_path / "fx" / "events.jsonl").read_all()
               if e.data.get("breaker") == "disk_full"]
    assert actions == ["trip", "trip", "reset"]  # the old trip, this episode's trip, its reset
    JsonlLog(tmp_path / "fx" / "events.jsonl").append(BreakerEvent(
        surface="fx", breaker="disk_full", action="trip", at=datetime(2025, 8, 5, tzinfo=UTC), reason="full"))
    loop.decider.chain.breakers.refresh()
    loop.start()  # a plain restart with room on disk: the stale trip is reset, nothing halts
    assert not loop.halted_for_disk
    last = [e.data for e in JsonlLog(tmp_path / "fx" / "events.jsonl").read_all()][-1]
    assert (last["breaker"], last["action"]) == ("disk_full", "reset")
    fleet.close()
