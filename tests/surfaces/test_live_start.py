"""A surface without real-data evidence of edge and skill cannot start live unless the operator overrides it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.bus import JsonlLog
from shared.ids import derive_id, new_id
from shared.paths import stream_path
from shared.records import Signal, Trade
from surfaces.assemble import CalibrationRefused, refuse_uncalibrated_live
from surfaces.kalshi_st.config import StSettings

T0 = datetime(2025, 12, 1, tzinfo=UTC)


def history(log_dir: Path, p_model: float, wins: int, losses: int, venue: str = "kalshi") -> None:
    """Resolved one-contract YES trades at 50¢; ``venue="kalshi"`` is real-data paper, ``"sim"`` synthetic."""
    source = "sim" if venue == "sim" else "kalshi_resolution"
    signals = JsonlLog(stream_path(log_dir, "kalshi_st", "signals"))
    trades = JsonlLog(stream_path(log_dir, "kalshi_st", "trades"))
    for i in range(wins + losses):
        at = T0 + timedelta(hours=i)
        signal_id = new_id(at, i.to_bytes(10, "big"))
        signals.append(Signal(id=signal_id, published_at=at, expires_at=at + timedelta(minutes=10),
                              surface="kalshi_st", sub_strategy="weather_high", venue=venue, instrument=f"M{i}",
                              side="yes", limit_price=Decimal("0.50"), size_fraction=Decimal("0.01"),
                              p_model=p_model, p_market=0.5, edge=0.1, confidence=0.8))
        won = i < wins
        trades.append(Trade(id=derive_id("trade", signal_id), signal_id=signal_id,
                            client_order_id=derive_id("coid", signal_id), status="resolved", surface="kalshi_st",
                            venue=venue, instrument=f"M{i}", side="yes", count=100, fill_price=Decimal("0.50"),
                            cost_cents=50, fees=2, opened_at=at, resolved_at=at + timedelta(hours=1),
                            pnl=48 if won else -52, resolution_source=source))


def live(log_dir: Path, tmp_path: Path) -> StSettings:
    key = tmp_path / "kalshi.pem"
    key.write_text("not read by this check")
    return StSettings(trading_mode="live", venue="kalshi", kalshi_api_key_id="id", kalshi_private_key_path=key,
                      log_dir=log_dir, calibration_tolerance=0.10, calibration_min_samples=50)


def test_miscalibrated_surface_refuses_live_start_with_exit_3(log_dir: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    history(log_dir, p_model=0.9, wins=20, losses=40)  # said 90%, won 33%
    with pytest.raises(CalibrationRefused) as refused:
        refuse_uncalibrated_live(live(log_dir, tmp_path), "kalshi_st", allow_uncalibrated=False)
    assert refused.value.code == 3
    assert "--allow-uncalibrated" in capsys.readouterr().out
    refuse_uncalibrated_live(live(log_dir, tmp_path), "kalshi_st", allow_uncalibrated=True)  # the override


def test_real_evidence_of_edge_and_skill_or_paper_mode_starts(log_dir: Path, tmp_path: Path) -> None:
    history(log_dir, p_model=0.7, wins=70, losses=30)  # said 70% at 50¢, won 70%: edge +18¢, skill 0.16
    refuse_uncalibrated_live(live(log_dir, tmp_path), "kalshi_st", allow_uncalibrated=False)
    bad = tmp_path / "bad"
    history(bad, p_model=0.9, wins=20, losses=40)
    refuse_uncalibrated_live(StSettings(log_dir=bad), "kalshi_st", allow_uncalibrated=False)  # paper: no check


@pytest.mark.parametrize(("venue", "wins", "losses"), [("kalshi", 8, 2), ("sim", 90, 10)])
def test_thin_or_sim_only_evidence_refuses_live_start(log_dir: Path, tmp_path: Path, venue: str, wins: int,
                                                      losses: int, capsys: pytest.CaptureFixture[str]) -> None:
    # Ten real trades are under the minimum of 50; a hundred great sim trades are synthetic and never count.
    history(log_dir, p_model=0.8, wins=wins, losses=losses, venue=venue)
    with pytest.raises(CalibrationRefused) as refused:
        refuse_uncalibrated_live(live(log_dir, tmp_path), "kalshi_st", allow_uncalibrated=False)
    assert refused.value.code == 3
    assert "too few real-data samples" in capsys.readouterr().out
