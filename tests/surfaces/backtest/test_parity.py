"""Parity: a backtest and the fleet replay, given the same data, seed, settings and clock steps, write the same
decisions, signals, trades and venue orders (one code path for trading: both build the surface through
surfaces/replay.py's ``build_member`` and resolve through the same resolver)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.venues.sim.replay import DATA_STARTS
from surfaces.backtest.clock import fixed_steps
from surfaces.backtest.runner import BacktestSpec, run_backtest
from surfaces.backtest.window import BacktestWindow
from surfaces.replay import STEPS, FleetReplay

TICKS = 96  # two venue days of 30-minute steps

# The bus stamps each line with the wall time of the write, each directory signs with its own key, and a decision
# record's own id is a random ULID (shared/records.py): the rest of every record must be identical, including the
# seeded signal ids, the trade ids and client order ids derived from them, and the candidate id each decision names.
VOLATILE = {"ts", "signature"}


def _records(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in row.items()
             if k not in VOLATILE and not (k == "id" and row.get("kind") == "decision")} for row in rows]


@pytest.mark.parametrize("surface", ["fx", "stocks", "kalshi_st"])
def test_backtest_equals_fleet_replay_on_the_same_steps(tmp_path: Path, surface: str) -> None:
    replay = FleetReplay(tmp_path / "replay", surfaces=(surface,))
    replay.run(TICKS)
    replay.close()

    start = DATA_STARTS[surface]
    step = STEPS[surface]
    window = BacktestWindow(start.date(), (start + TICKS * step).date())
    run_backtest(BacktestSpec(surface, window, seed=replay.seed), tmp_path / "backtest",
                 schedule=fixed_steps(start + step, step, TICKS),
                 wall_start=min(DATA_STARTS.values()), wall_step=timedelta(seconds=1), resolve_first=False)

    streams = [Path(surface) / f"{s}.jsonl" for s in ("decisions", "signals", "trades")]
    streams.append(Path("sim") / surface / "orders.jsonl")
    for relative in streams:
        fleet = _records(tmp_path / "replay" / relative)
        backtest = _records(tmp_path / "backtest" / relative)
        assert fleet == backtest, relative
    trades = _records(tmp_path / "backtest" / surface / "trades.jsonl")
    assert any(t["status"] == "resolved" for t in trades), "the parity window should hold resolved trades"
