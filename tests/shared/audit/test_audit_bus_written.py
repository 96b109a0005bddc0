"""Logs written by the real bus (its own stamps, its own serialization) read back by the audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.audit.guard import calibration_gate
from shared.audit.report import ReportOptions, build_report
from shared.audit.window import Window
from shared.paths import open_stream
from shared.timeutil import utcnow


def test_bus_written_logs(log_dir: Path, kit: Any) -> None:
    signals = open_stream(log_dir, "kalshi_lt", "signals")
    trades = open_stream(log_dir, "kalshi_lt", "trades")
    for i in range(12):
        signals.append(kit.signal(f"S{i}", "kalshi_lt", p=0.9, sub="macro"))
        trades.append(kit.trade(f"{i}", "kalshi_lt", status="filled", sub="macro"))
        # 12 forecasts of 0.9, 3 won: ECE |0.9 - 0.25| = 0.65.
        trades.append(kit.trade(f"{i}", "kalshi_lt", pnl=90 if i < 3 else -100, fees=2, sub="macro",
                                source="kalshi_resolution"))
    signals.close()
    trades.close()
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    # A window around today, so a run that straddles midnight UTC still sees every record.
    window = Window(today - timedelta(days=1), today + timedelta(days=2))
    report = build_report(ReportOptions(log_dir=log_dir, window=window))
    [row] = report.pnl.rows
    # 3 x 90 - 9 x 100 = -630 net; fees 12 x 2 = 24; gross -606.
    assert (row.source, row.trades, row.wins, row.net_cents, row.fees_cents, row.gross_cents) == \
        ("kalshi_resolution", 12, 3, -630, 24, -606)
    assert report.calibration.surfaces[0].ece == pytest.approx(0.65)
    ok, message = calibration_gate(log_dir, "kalshi_lt", tolerance=0.1, min_samples=10)
    # Real-data paper results (venue kalshi), so they count: refused on skill and calibration.
    assert not ok and "over 12 resolved trades from real data" in message
    assert "ECE 0.650 exceeds tolerance 0.100" in message and "skill <= 0" in message
