"""bench/replay_pnl.py runs and its two columns agree: the trade log's P&L is the sim venue's cash movement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_replay_pnl_prints_agreeing_columns(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "replay_pnl.py"), "--days", "2", "--out",
                           str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=300, check=True)
    rows = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    assert set(rows) == {"kalshi_st", "kalshi_lt", "fx", "stocks"}
    assert rows["kalshi_st"]["venue_days"] >= 2
    for surface in ("kalshi_st", "fx"):  # no cash moves with an open FX position; binaries settle within the run
        row = rows[surface]
        if row["open"] == 0:
            assert row["trade_log_pnl_cents"] == row["venue_cash_moved_cents"], surface
