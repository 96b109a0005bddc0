"""The live-start gate: real-data evidence of edge and skill against the market, one test per refusal reason."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.audit.guard import OVERRIDE_FLAG, calibration_gate, evidence_verdict, live_start_check
from shared.records import Signal, Trade

KALSHI = {"venue": "kalshi", "resolution_source": "kalshi_resolution"}
SIM = {"venue": "sim", "resolution_source": "sim"}


def binaries(builder: Any, kit: Any, surface: str, n: int, wins: int, *, p_model: float, p_market: float = 0.5,
             fill: str = "0.50", fees: int = 2, mode: str = "paper", where: dict[str, str] = KALSHI,
             first: int = 0) -> None:
    """``n`` one-contract YES trades bought at ``fill`` (the market said ``p_market``), the first ``wins`` won."""
    for i in range(first, first + n):
        moment = kit.at("2026-10-01 00:00") + timedelta(minutes=i)
        price = Decimal(fill)
        builder.stream(surface, "signals", moment, Signal(
            id=f"S{i}", published_at=moment, expires_at=moment, surface=surface, sub_strategy="weather",
            venue=where["venue"], instrument=f"M{i}", side="yes", limit_price=Decimal(str(p_market)),
            size_fraction=Decimal("0.01"), p_model=p_model, p_market=p_market, edge=0.0, confidence=0.8,
            dry_run=mode == "paper"))
        won = i - first < wins
        cost = int(price * 100)
        builder.stream(surface, "trades", moment + timedelta(seconds=30), Trade(
            id=f"T{i}", signal_id=f"S{i}", client_order_id=f"C{i}", status="resolved", mode=mode, surface=surface,
            venue=where["venue"], instrument=f"M{i}", side="yes", count=100, fill_price=price, cost_cents=cost,
            fees=fees, pnl=(100 if won else 0) - cost - fees, resolution_source=where["resolution_source"]))
    builder.write()


def fx_brackets(builder: Any, kit: Any, n: int, wins: int, p_model: float) -> None:
    """EUR_USD longs: 10,000 units, stop 15 pips ($15) below, target 20 pips ($20) above (no-edge 15/35 = 42.9 %),
    10 cents of costs."""
    entry, stop, target = Decimal("1.10000"), Decimal("1.09850"), Decimal("1.10200")
    for i in range(n):
        moment = kit.at("2026-10-01 00:00") + timedelta(minutes=i)
        builder.stream("fx", "signals", moment, Signal(
            id=f"S{i}", published_at=moment, expires_at=moment, surface="fx", sub_strategy="fx_atr", venue="oanda",
            instrument="EUR_USD", side="long", limit_price=entry, size_fraction=Decimal("0.01"), p_model=p_model,
            p_market=15 / 35, edge=0.0, confidence=0.7, stop_loss=stop, take_profit=target))
        won = i < wins
        exit_price = target if won else stop
        builder.stream("fx", "trades", moment + timedelta(seconds=30), Trade(
            id=f"T{i}", signal_id=f"S{i}", client_order_id=f"C{i}", status="resolved", surface="fx", venue="oanda",
            instrument="EUR_USD", side="long", units=10_000, fill_price=entry, exit_price=exit_price,
            stop_loss=stop, take_profit=target, fees=10, pnl=(2000 if won else -1500) - 10,
            resolution_source="oanda_candles"))
    builder.write()


def test_real_evidence_of_edge_and_skill_passes(log_dir: Path, builder: Any, kit: Any) -> None:
    # Said 70 % on 50¢ contracts and won 70 %: realized edge 0.7 − 0.5 − 0.02 = +18¢, skill 1 − 0.21/0.25 = 0.16.
    binaries(builder, kit, "kalshi_st", 100, 70, p_model=0.7)
    verdict = evidence_verdict(log_dir, "kalshi_st", tolerance=0.05, min_samples=50)
    assert verdict.ok, verdict.message
    assert verdict.evidence is not None
    assert verdict.evidence.realized_edge == pytest.approx(0.18)
    assert verdict.evidence.claimed_edge == pytest.approx(0.18)
    assert verdict.evidence.skill == pytest.approx(0.16)
    assert "beats the market on real data over 100 resolved trades from real data" in verdict.message
    assert "realized edge +18.0¢" in verdict.message


def test_sim_only_record_is_refused_however_good(log_dir: Path, builder: Any, kit: Any) -> None:
    # The same great numbers on a sim venue: synthetic, never evidence.
    binaries(builder, kit, "kalshi_st", 200, 180, p_model=0.9, where=SIM)
    verdict = evidence_verdict(log_dir, "kalshi_st", tolerance=0.1, min_samples=50)
    assert verdict.reasons == ("too_few_real_samples",)
    assert "0 resolved trades from real data" in verdict.message
    assert "200 synthetic (sim) results are never counted" in verdict.message


def test_too_few_real_samples_is_refused(log_dir: Path, builder: Any, kit: Any) -> None:
    binaries(builder, kit, "kalshi_st", 49, 40, p_model=0.8)
    verdict = evidence_verdict(log_dir, "kalshi_st", tolerance=0.1, min_samples=50)
    assert verdict.reasons == ("too_few_real_samples",)
    assert "too few real-data samples: 49 resolved trades from real data" in verdict.message


def test_fx_case_from_the_issue_is_refused_on_skill_and_edge(log_dir: Path, builder: Any, kit: Any) -> None:
    # Issue 14: FX won 41.6 % against a no-edge 42.9 % and passed the ECE-only gate (ECE 0.058).
    fx_brackets(builder, kit, 500, 208, p_model=0.474)
    verdict = evidence_verdict(log_dir, "fx", tolerance=0.10, min_samples=50)
    assert verdict.reasons == ("realized_edge_not_positive", "skill_not_positive")
    assert verdict.ece == pytest.approx(0.058)
    evidence = verdict.evidence
    assert evidence is not None and evidence.win_rate == pytest.approx(0.416)
    # pnl per $35 of payoff range: (0.416 × 1990 − 0.584 × 1510) / 3500 = −1.6¢ per $1 of range.
    assert evidence.realized_edge == pytest.approx((0.416 * 1990 - 0.584 * 1510) / 3500)
    assert evidence.claimed_edge == pytest.approx(0.474 - 15 / 35 - 10 / 3500)
    assert evidence.skill is not None and evidence.skill < 0
    assert "won 41.6% vs market 42.9%" in verdict.message
    assert "ECE 0.058 within tolerance 0.100" in verdict.message


def test_realized_edge_lower_bound_at_or_below_zero_is_refused(log_dir: Path, builder: Any, kit: Any) -> None:
    # A forecaster better than the 50¢ price (skill 0.04, ECE 0) that pays 58¢ and 2¢ fees: nothing left.
    binaries(builder, kit, "kalshi_st", 100, 60, p_model=0.6, fill="0.58")
    verdict = evidence_verdict(log_dir, "kalshi_st", tolerance=0.05, min_samples=50)
    assert verdict.reasons == ("realized_edge_not_positive",)
    assert "realized edge +0.0¢ per $1 of payoff" in verdict.message and "claimed +8.0¢" in verdict.message


def test_no_skill_against_the_market_is_refused(log_dir: Path, builder: Any, kit: Any) -> None:
    # Profitable (won 70 % at 50¢), but saying 95 % forecasts worse than the price did: Brier 0.2725 vs 0.25.
    binaries(builder, kit, "kalshi_st", 200, 140, p_model=0.95)
    verdict = evidence_verdict(log_dir, "kalshi_st", tolerance=0.30, min_samples=50)
    assert verdict.reasons == ("skill_not_positive",)
    assert "skill against the market -0.090 (Brier 0.2725 vs the market's 0.2500" in verdict.message


def test_ece_over_tolerance_is_refused(log_dir: Path, builder: Any, kit: Any) -> None:
    # Edge and skill, but said 60 % and won 65 %: ECE 0.05 over a tolerance of 0.02.
    binaries(builder, kit, "kalshi_st", 200, 130, p_model=0.6)
    verdict = evidence_verdict(log_dir, "kalshi_st", tolerance=0.02, min_samples=50)
    assert verdict.reasons == ("ece_too_high",)
    assert "ECE 0.050 exceeds tolerance 0.020" in verdict.message


def test_sim_results_do_not_dilute_real_evidence(log_dir: Path, builder: Any, kit: Any) -> None:
    binaries(builder, kit, "kalshi_st", 100, 70, p_model=0.7, mode="live")
    binaries(builder, kit, "kalshi_st", 300, 0, p_model=0.99, where=SIM, first=100)
    ok, message = calibration_gate(log_dir, "kalshi_st", tolerance=0.05, min_samples=50)
    assert ok, message
    assert "300 synthetic (sim) results are never counted" in message


def test_other_surfaces_do_not_count(log_dir: Path, builder: Any, kit: Any) -> None:
    binaries(builder, kit, "stocks", 100, 70, p_model=0.7)
    ok, message = calibration_gate(log_dir, "kalshi_st", tolerance=0.1, min_samples=10)
    assert not ok and "0 resolved trades from real data" in message


def test_live_start_refuses_unless_overridden(log_dir: Path, builder: Any, kit: Any) -> None:
    binaries(builder, kit, "kalshi_lt", 60, 30, p_model=0.9)
    may, message = live_start_check(log_dir, "kalshi_lt", "live", False, tolerance=0.1, min_samples=10)
    assert not may and message.startswith("refusing to start in TRADING_MODE=live") and OVERRIDE_FLAG in message
    may, message = live_start_check(log_dir, "kalshi_lt", "live", True, tolerance=0.1, min_samples=10)
    assert may and "anyway" in message
    may, _ = live_start_check(log_dir, "kalshi_lt", "paper", False, tolerance=0.1, min_samples=10)
    assert may
