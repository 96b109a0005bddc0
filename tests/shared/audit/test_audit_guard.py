"""The live-start calibration gate a surface loop calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.audit.guard import OVERRIDE_FLAG, calibration_gate, live_start_check


def fill(builder: Any, kit: Any, surface: str, outcomes: list[tuple[float, bool]], source: str = "sim") -> None:
    """One signal and one resolved trade per (p_model, won), a minute apart."""
    for i, (p, won) in enumerate(outcomes):
        minute = kit.at("2026-10-01 00:00").replace(hour=i // 60, minute=i % 60)
        builder.stream(surface, "signals", minute, kit.signal(f"S{i}", surface, p=p))
        trade = kit.trade(f"{i}", surface, pnl=150 if won else -100, source=source)
        builder.stream(surface, "trades", minute.replace(second=30), trade)
    builder.write()


def test_calibrated_surface_passes(log_dir: Path, builder: Any, kit: Any) -> None:
    # 10 forecasts of 0.7, 7 won: the 0.7-0.8 bucket predicts 0.7 and realizes 0.7 -> ECE 0.
    fill(builder, kit, "kalshi_st", [(0.7, i < 7) for i in range(10)])
    ok, message = calibration_gate(log_dir, "kalshi_st", tolerance=0.05, min_samples=10)
    assert ok, message
    assert "calibrated: ECE 0.000 over 10 resolved trades" in message


def test_miscalibrated_surface_fails_over_the_minimum(log_dir: Path, builder: Any, kit: Any) -> None:
    # 10 forecasts of 0.9, 5 won: ECE |0.9 - 0.5| = 0.4 > 0.1. Brier (5 * 0.01 + 5 * 0.81) / 10 = 0.41.
    fill(builder, kit, "kalshi_lt", [(0.9, i % 2 == 0) for i in range(10)])
    ok, message = calibration_gate(log_dir, "kalshi_lt", tolerance=0.1, min_samples=10)
    assert not ok
    assert "miscalibrated: ECE 0.400 over 10 resolved trades (Brier 0.410) exceeds tolerance 0.100" in message


def test_too_few_samples_is_not_judged(log_dir: Path, builder: Any, kit: Any) -> None:
    fill(builder, kit, "fx", [(0.9, False)] * 9)
    ok, message = calibration_gate(log_dir, "fx", tolerance=0.1, min_samples=10)
    assert ok and "not judged: 9 scored resolved trades, fewer than the minimum 10" in message


def test_other_surfaces_do_not_count(log_dir: Path, builder: Any, kit: Any) -> None:
    fill(builder, kit, "stocks", [(0.9, False)] * 20)
    ok, message = calibration_gate(log_dir, "kalshi_st", tolerance=0.1, min_samples=10)
    assert ok and "0 scored resolved trades" in message


def test_live_start_refuses_unless_overridden(log_dir: Path, builder: Any, kit: Any) -> None:
    fill(builder, kit, "kalshi_lt", [(0.9, i % 2 == 0) for i in range(10)])
    may, message = live_start_check(log_dir, "kalshi_lt", "live", False, tolerance=0.1, min_samples=10)
    assert not may and message.startswith("refusing to start in TRADING_MODE=live") and OVERRIDE_FLAG in message
    may, message = live_start_check(log_dir, "kalshi_lt", "live", True, tolerance=0.1, min_samples=10)
    assert may and "anyway" in message
    may, _ = live_start_check(log_dir, "kalshi_lt", "paper", False, tolerance=0.1, min_samples=10)
    assert may
