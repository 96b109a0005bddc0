"""Circuit breakers trip and reset on the day boundary as BreakerEvent records; rapid exits quarantine a surface
until the operator resumes it (``tbot resume SURFACE``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.killswitch import run_resume
from shared.paths import open_stream
from shared.records import BreakerEvent, parse_record
from shared.risk.breakers import BreakerBoard, RapidExitMonitor
from shared.risk.candidate import Candidate, ExitRequest

from .conftest import VENUE_T0

MakeCandidate = Callable[..., Candidate]


def events(log_dir: Path, surface: str = "kalshi_st") -> list[BreakerEvent]:
    return [parse_record(BreakerEvent, e.data, e.ts) for e in open_stream(log_dir, surface, "events").read_all()]


def test_daily_loss_trips_and_resets_at_the_day_boundary(
    rig: Any, make_candidate: MakeCandidate, make_trade: Any
) -> None:
    now = rig.clock.now()
    rig.ledger.apply(make_trade("L", "resolved", pnl=-50_000, resolved_at=now))
    trips = rig.chain.begin_tick()
    assert [(e.breaker, e.action) for e in trips] == [("daily_loss", "trip")]
    assert rig.chain.begin_tick() == []  # tripped once, not on every tick
    assert rig.chain.evaluate(make_candidate()).reason_code == "daily_loss_breaker"
    rig.clock.advance(timedelta(hours=8))  # 23:00 UTC: still the same trading day
    assert rig.chain.begin_tick() == []
    rig.clock.advance(timedelta(hours=1, minutes=1))  # past midnight UTC
    resets = rig.chain.begin_tick()
    assert [(e.breaker, e.action) for e in resets] == [("daily_loss", "reset")]
    assert rig.chain.evaluate(make_candidate()).accepted
    logged = events(rig.log_dir)
    assert [(e.breaker, e.action) for e in logged] == [("daily_loss", "trip"), ("daily_loss", "reset")]
    assert logged[0].at == now and "limit" in logged[0].reason


def test_day_boundary_follows_the_surface_zone(rig_factory: Any, make_trade: Any) -> None:
    rig = rig_factory(day_boundary_tz="America/New_York")
    now = rig.clock.now()  # 15:00 UTC = 10:00 New York
    rig.ledger.apply(make_trade("L", "resolved", pnl=-50_000, resolved_at=now))
    assert rig.chain.begin_tick()[0].action == "trip"
    rig.clock.set(datetime(2025, 3, 4, 1, 0, tzinfo=UTC))  # past UTC midnight, still Monday in New York
    assert rig.chain.begin_tick() == []
    rig.clock.set(datetime(2025, 3, 4, 5, 1, tzinfo=UTC))  # past New York midnight
    assert [e.action for e in rig.chain.begin_tick()] == ["reset"]


def test_weekly_loss_resets_only_at_the_week_boundary(rig_factory: Any, make_trade: Any) -> None:
    rig = rig_factory(weekly_loss_limit_cents=60_000, daily_loss_limit_cents=10**9)
    now = rig.clock.now()  # Monday
    rig.ledger.apply(make_trade("L", "resolved", pnl=-60_000, resolved_at=now))
    assert [(e.breaker, e.action) for e in rig.chain.begin_tick()] == [("weekly_loss", "trip")]
    rig.clock.advance(timedelta(days=3))
    assert rig.chain.begin_tick() == []
    rig.clock.set(datetime(2025, 3, 10, 0, 1, tzinfo=UTC))  # next Monday
    assert [(e.breaker, e.action) for e in rig.chain.begin_tick()] == [("weekly_loss", "reset")]


def test_drawdown_resets_at_a_day_boundary_only_after_recovery(rig_factory: Any, make_trade: Any) -> None:
    rig = rig_factory(max_drawdown_pct="0.05", daily_loss_limit_cents=10**9, weekly_loss_limit_cents=10**9)
    now = rig.clock.now()
    rig.ledger.apply(make_trade("L", "resolved", pnl=-60_000, resolved_at=now))
    assert [(e.breaker, e.action) for e in rig.chain.begin_tick()] == [("drawdown", "trip")]
    rig.clock.advance(timedelta(days=1))
    assert rig.chain.begin_tick() == []  # a new day, but still 6% below the peak
    rig.ledger.apply(make_trade("W", "resolved", pnl=20_000, resolved_at=rig.clock.now()))
    assert [(e.breaker, e.action) for e in rig.chain.begin_tick()] == [("drawdown", "reset")]  # recovered


def test_drawdown_recovered_the_same_day_waits_for_the_boundary(rig_factory: Any, make_trade: Any) -> None:
    rig = rig_factory(max_drawdown_pct="0.05", daily_loss_limit_cents=10**9, weekly_loss_limit_cents=10**9)
    now = rig.clock.now()
    rig.ledger.apply(make_trade("L", "resolved", pnl=-60_000, resolved_at=now))
    assert [(e.breaker, e.action) for e in rig.chain.begin_tick()] == [("drawdown", "trip")]
    rig.ledger.apply(make_trade("W", "resolved", pnl=20_000, resolved_at=now))
    assert rig.chain.begin_tick() == []  # back under the limit, but the reset waits for the day boundary
    rig.clock.advance(timedelta(days=1))
    assert [(e.breaker, e.action) for e in rig.chain.begin_tick()] == [("drawdown", "reset")]


def test_breaker_state_survives_a_restart(log_dir: Path) -> None:
    board = BreakerBoard(log_dir, "kalshi_st")
    at = datetime(2025, 3, 3, tzinfo=UTC)
    assert board.trip_quarantine(at, "test") is not None
    assert board.trip_quarantine(at, "again") is None
    board.close()
    restarted = BreakerBoard(log_dir, "kalshi_st")
    assert restarted.tripped_names == frozenset({"quarantine"})
    restarted.close()


def test_rapid_exit_monitor_window() -> None:
    monitor = RapidExitMonitor(count=3, window_seconds=10)
    assert not monitor.record(0.0)
    assert not monitor.record(5.0)
    assert not monitor.record(20.0)  # the first two fell out of the window
    assert not monitor.record(25.0)
    assert monitor.record(29.0)


def test_rapid_exits_quarantine_until_tbot_resume(rig_factory: Any, make_candidate: MakeCandidate, capsys: Any) -> None:
    rig = rig_factory(rapid_exit_count=3, rapid_exit_window_seconds=60)
    for i in range(3):
        decision = rig.chain.allow_exit(ExitRequest("kalshi_st", f"M{i}", "yes", trade_id=f"T{i}"))
        assert decision.accepted  # the exit that trips the quarantine still goes through
    assert decision.context["quarantine_tripped"] is True
    assert rig.chain.quarantined
    assert rig.chain.evaluate(make_candidate()).reason_code == "quarantined"
    rig.clock.advance(timedelta(days=2))
    rig.chain.begin_tick()
    assert rig.chain.evaluate(make_candidate(candidate_id="B")).reason_code == "quarantined"  # no auto-reset
    assert rig.chain.allow_exit(ExitRequest("kalshi_st", "M9", "yes")).accepted  # exits still allowed

    code = run_resume(argparse.Namespace(log_dir=rig.log_dir, surface="kalshi_st"))
    assert code == 0 and "quarantine" in capsys.readouterr().out
    rig.chain.begin_tick()
    assert not rig.chain.quarantined
    assert rig.chain.evaluate(make_candidate(candidate_id="C")).accepted
    # After the resume the exits before it no longer count: one more exit does not re-quarantine.
    rig.chain.allow_exit(ExitRequest("kalshi_st", "M10", "yes"))
    assert not rig.chain.quarantined
    assert [(e.breaker, e.action) for e in events(rig.log_dir)] == [("quarantine", "trip"), ("quarantine", "reset")]


def test_resume_without_quarantine_writes_nothing(log_dir: Path) -> None:
    assert run_resume(argparse.Namespace(log_dir=log_dir, surface="fx")) == 0
    assert events(log_dir, "fx") == []
    assert run_resume(argparse.Namespace(log_dir=log_dir, surface=None)) == 0


def test_in_process_resume(rig_factory: Any) -> None:
    rig = rig_factory(rapid_exit_count=1)
    rig.chain.allow_exit(ExitRequest("kalshi_st", "M", "yes"))
    assert rig.chain.quarantined
    assert rig.chain.resume_quarantine() is not None and not rig.chain.quarantined
    assert rig.chain.resume_quarantine() is None


def test_a_trip_holds_even_if_it_cannot_be_written(
    rig: Any, make_candidate: MakeCandidate, make_trade: Any, monkeypatch: Any
) -> None:
    def disk_full(*_: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rig.chain.breakers._log, "append", disk_full)
    rig.ledger.apply(make_trade("L", "resolved", pnl=-50_000, resolved_at=rig.clock.now()))
    assert rig.chain.evaluate(make_candidate()).reason_code == "daily_loss_breaker"
    assert "daily_loss" in rig.chain.breakers.tripped_names
    rig.clock.advance(timedelta(days=1))
    rig.chain.begin_tick()  # the reset cannot be written either: the breaker stays tripped
    assert "daily_loss" in rig.chain.breakers.tripped_names
    monkeypatch.undo()
    rig.chain.begin_tick()
    assert "daily_loss" not in rig.chain.breakers.tripped_names


def _fx_trade(sig: str, status: str, **kw: Any) -> Any:
    from ..money.trades import trade

    return trade(sig, status, surface="fx", instrument="EUR_USD", underlying="EUR_USD", category="fx", side="long",
                 count=None, units=1_000, **kw)


def test_resolver_exits_on_the_log_quarantine_the_owning_surface(rig_factory: Any, capsys: Any) -> None:
    """The resolver closes positions in another process; its resolved records are what the surface counts."""
    rig = rig_factory("fx", rapid_exit_count=3, rapid_exit_window_seconds=60)
    trades = open_stream(rig.log_dir, "fx", "trades")
    try:
        for i in range(3):
            trades.append(_fx_trade(f"S{i}", "filled", opened_at=VENUE_T0))
        rig.chain.begin_tick()
        assert not rig.chain.quarantined  # fills are not exits
        for i in range(3):  # three stop-outs within 40 s of venue time
            trades.append(_fx_trade(f"S{i}", "resolved", opened_at=VENUE_T0,
                                    resolved_at=VENUE_T0 - timedelta(seconds=20 * i), pnl=-100, reason="stop_loss"))
        appended = rig.chain.begin_tick()
        assert rig.chain.quarantined
        assert [(e.breaker, e.action) for e in appended] == [("quarantine", "trip")]
        assert "3 exits within 60" in appended[0].reason

        code = run_resume(argparse.Namespace(log_dir=rig.log_dir, surface="fx"))
        assert code == 0 and "quarantine" in capsys.readouterr().out
        rig.chain.begin_tick()
        assert not rig.chain.quarantined
        # A surface restarted right after the resume reads the same exits as history: they do not count again.
        restarted = rig_factory("fx", rapid_exit_count=3, rapid_exit_window_seconds=60)
        assert not restarted.chain.quarantined
    finally:
        trades.close()


def test_exits_spread_wider_than_the_window_do_not_quarantine(rig_factory: Any) -> None:
    rig = rig_factory("fx", rapid_exit_count=3, rapid_exit_window_seconds=60)
    trades = open_stream(rig.log_dir, "fx", "trades")
    try:
        for i in range(3):  # a minute and a half apart in venue time, however fast the log was written
            trades.append(_fx_trade(f"S{i}", "resolved", opened_at=VENUE_T0,
                                    resolved_at=VENUE_T0 - timedelta(seconds=90 * i), pnl=-1, reason="stop_loss"))
        rig.chain.begin_tick()
        assert not rig.chain.quarantined
    finally:
        trades.close()


def test_binary_settlements_are_not_exits(rig_factory: Any, make_trade: Any, log_dir: Path) -> None:
    from shared.paths import open_stream

    rig = rig_factory(rapid_exit_count=2, rapid_exit_window_seconds=60)
    trades = open_stream(log_dir, "kalshi_st", "trades")
    try:
        for i in range(3):
            trades.append(make_trade(f"K{i}", "resolved", opened_at=VENUE_T0, resolved_at=VENUE_T0, pnl=-10))
    finally:
        trades.close()
    rig.chain.begin_tick()
    assert not rig.chain.quarantined
