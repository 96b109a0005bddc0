"""A loop writes a heartbeat at most every HEARTBEAT_SECONDS of wall time (the dashboard's staleness is 60 s)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from shared.bus import JsonlLog
from surfaces.replay import FleetReplay


@pytest.mark.parametrize(("seconds", "expected"), [(0.0, 30), (10.0, 3), (4.0, 8)])
def test_heartbeats_are_spaced_in_wall_time(tmp_path: Path, seconds: float, expected: int) -> None:
    fleet = FleetReplay(tmp_path, seed=7, surfaces=("fx",), overrides={"fx": {"heartbeat_seconds": seconds}})
    fleet.run(30)  # the replay's wall clock moves 1 s a tick
    fleet.close()
    beats = [e.data for e in JsonlLog(tmp_path / "fx" / "heartbeats.jsonl").read_all()]
    assert len(beats) == expected
    assert beats[0]["tick"] == 1  # the first tick always beats: a started loop shows at once
    assert all(b["tick"] - a["tick"] <= max(1, seconds) for a, b in itertools.pairwise(beats))
