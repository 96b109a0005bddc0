"""The per-surface ledger: lifecycle, rebuild == incremental, modes and surfaces kept apart, days and weeks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bus import JsonlLog
from shared.money.ledger import Holding, Ledger
from shared.paths import open_stream
from shared.records import Trade

from .trades import trade

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # a Monday


def lifecycle(sig: str, pnl: int, resolved_at: datetime, **kw: Any) -> list[Trade]:
    return [
        trade(sig, "intent", **kw),
        trade(sig, "placed", **kw),
        trade(sig, "filled", fees=17, fill_price=Decimal("0.40"), opened_at=resolved_at - timedelta(hours=1), **kw),
        trade(sig, "resolved", fees=17, pnl=pnl, resolved_at=resolved_at, **kw),
    ]


def test_lifecycle_moves_money() -> None:
    ledger = Ledger("kalshi_st", bankroll_cents=100_000)
    states = lifecycle("A", -417, T0)
    ledger.apply(states[0])
    assert ledger.is_open("MKT-A") and ledger.open_positions == 1
    assert ledger.exposure_cents == 400 and ledger.cash_cents == 100_000 - 400
    ledger.apply(states[2])
    assert ledger.cash_cents == 100_000 - 417
    assert ledger.category_exposure("weather") == 400 and ledger.underlying_exposure("EVT-A") == 400
    assert ledger.holds_side("EVT-A", "yes") and not ledger.holds_side("EVT-A", "no")
    ledger.apply(states[3])
    assert not ledger.is_open("MKT-A") and ledger.open_positions == 0
    assert ledger.realized_cents == -417 and ledger.cash_cents == 100_000 - 417
    assert ledger.realized_today(T0) == -417 and ledger.realized_this_week(T0 + timedelta(days=4)) == -417
    assert ledger.realized_today(T0 + timedelta(days=1)) == 0
    assert ledger.last_exit("MKT-A") == T0
    assert ledger.peak_equity_cents == 100_000 and ledger.drawdown == Decimal(417) / Decimal(100_000)


def test_states_never_move_backwards_and_reapplying_counts_once() -> None:
    ledger = Ledger("kalshi_st", bankroll_cents=100_000)
    states = lifecycle("A", 250, T0)
    for state in states:
        ledger.apply(state)
    assert not ledger.apply(states[1])  # a late 'placed' after 'resolved' is ignored
    assert ledger.apply(states[3])  # re-applying the same state replaces, does not add
    assert ledger.realized_cents == 250 and ledger.open_positions == 0
    corrected = trade("A", "resolved", fees=17, pnl=200, resolved_at=T0)
    ledger.apply(corrected)
    assert ledger.realized_cents == 200 and ledger.realized_today(T0) == 200


def test_paper_and_live_are_separate() -> None:
    paper = Ledger("kalshi_st", "paper")
    live = Ledger("kalshi_st", "live")
    state = trade("A", "filled", mode="live")
    assert not paper.apply(state) and paper.ignored == 1
    assert live.apply(state) and live.open_positions == 1 and paper.open_positions == 0


def test_other_surface_trade_is_ignored() -> None:
    ledger = Ledger("kalshi_st")
    assert not ledger.apply(trade("A", "filled", surface="fx", side="long", units=1000, count=None))
    assert ledger.open_positions == 0


def test_day_boundary_zone() -> None:
    # 03:00 UTC on Tuesday is still Monday in New York.
    ledger = Ledger("kalshi_st", day_boundary_tz="America/New_York")
    at = datetime(2025, 3, 4, 3, 0, tzinfo=UTC)
    for state in lifecycle("A", -100, at):
        ledger.apply(state)
    assert ledger.realized_today(datetime(2025, 3, 3, 20, 0, tzinfo=UTC)) == -100
    assert ledger.realized_today(datetime(2025, 3, 4, 12, 0, tzinfo=UTC)) == 0
    utc = Ledger("kalshi_st")
    for state in lifecycle("A", -100, at):
        utc.apply(state)
    assert utc.realized_today(datetime(2025, 3, 4, 12, 0, tzinfo=UTC)) == -100


def test_reservations_hold_exposure_until_the_trade_arrives() -> None:
    ledger = Ledger("kalshi_st", bankroll_cents=100_000)
    ledger.reserve(Holding("A", "A", "MKT-A", "EVT-A", "weather", "yes", 400, 17))
    assert ledger.is_open("MKT-A") and ledger.has_signal("A") and ledger.cash_cents == 100_000 - 417
    assert ledger.state() == Ledger("kalshi_st", bankroll_cents=100_000).state()  # not part of the log's state
    ledger.apply(trade("A", "intent"))
    assert ledger.open_positions == 1 and ledger.exposure_cents == 400  # replaced, not doubled
    expiring = Ledger("kalshi_st", reservation_ttl=0.0)
    expiring.reserve(Holding("B", "B", "MKT-B", "", "", "yes", 100, 0))
    expiring.sync()
    assert not expiring.is_open("MKT-B")


def random_history(seed: int, n: int) -> list[Trade]:
    rng = random.Random(seed)
    out: list[Trade] = []
    for i in range(n):
        sig = f"S{i}"
        when = T0 + timedelta(hours=rng.randint(0, 24 * 14))
        kw: dict[str, Any] = {
            "instrument": f"M{rng.randint(0, 5)}",
            "underlying": f"U{rng.randint(0, 3)}",
            "category": rng.choice(["weather", "crypto", ""]),
            "side": rng.choice(["yes", "no"]),
            "cost_cents": rng.randint(1, 5_000),
            "mode": rng.choice(["paper", "paper", "live"]),
        }
        end = rng.choice(["intent", "placed", "filled", "resolved", "rejected", "cancelled"])
        pnl = rng.randint(-5_000, 5_000)
        for state in lifecycle(sig, pnl, when, **kw):
            if state.status == "resolved" and end != "resolved":
                if end in ("rejected", "cancelled"):
                    out.append(trade(sig, end, **kw))
                break
            out.append(state)
            if state.status == end:
                break
    # Interleave the states of different trades, keeping each trade's own order.
    rng.shuffle(out)
    out.sort(key=lambda t: ["intent", "placed", "filled", "resolved", "rejected", "cancelled"].index(t.status) // 3)
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**6), n=st.integers(min_value=0, max_value=40))
def test_rebuild_equals_incremental(tmp_path_factory: Any, seed: int, n: int) -> None:
    log_dir: Path = tmp_path_factory.mktemp("logs")
    history = random_history(seed, n)
    incremental = Ledger("kalshi_st", "paper", bankroll_cents=500_000)
    with open_stream(log_dir, "kalshi_st", "trades") as log:
        for state in history:
            log.append(state)
            incremental.apply(state)
    rebuilt = Ledger.rebuild(log_dir, "kalshi_st", "paper", bankroll_cents=500_000)
    assert rebuilt.state() == incremental.state()
    assert rebuilt.cash_cents == incremental.cash_cents
    assert rebuilt.peak_equity_cents == incremental.peak_equity_cents


def test_sync_picks_up_new_lines_once(log_dir: Path) -> None:
    ledger = Ledger.rebuild(log_dir, "kalshi_st")
    log: JsonlLog = open_stream(log_dir, "kalshi_st", "trades")
    states = lifecycle("A", 300, T0)
    log.append_many(states[:3])
    assert ledger.sync() == 3 and ledger.open_positions == 1
    ledger.apply(states[3])  # applied directly, then read back from the log: counted once
    log.append(states[3])
    ledger.sync()
    assert ledger.realized_cents == 300 and ledger.open_positions == 0
    log.close()


def test_rebuild_skips_corrupt_and_foreign_lines(log_dir: Path) -> None:
    log = open_stream(log_dir, "kalshi_st", "trades")
    log.append(trade("A", "filled"))
    log.append({"kind": "trade", "id": "broken"})  # invalid trade: skipped, counted
    log.append({"kind": "heartbeat"})
    log.close()
    ledger = Ledger.rebuild(log_dir, "kalshi_st")
    assert ledger.open_positions == 1 and ledger.ignored == 1


def test_day_period_bounds() -> None:
    from shared.money.periods import day_period

    start, end, day, week = day_period(datetime(2025, 3, 5, 3, 0, tzinfo=UTC), "America/New_York")
    assert (day.isoformat(), week.isoformat()) == ("2025-03-04", "2025-03-03")
    assert start == datetime(2025, 3, 4, 5, 0, tzinfo=UTC) and end == datetime(2025, 3, 5, 5, 0, tzinfo=UTC)
    # The spring-forward day in New York is 23 hours long.
    start, end, _, _ = day_period(datetime(2025, 3, 9, 12, 0, tzinfo=UTC), "America/New_York")
    assert end - start == timedelta(hours=23)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**6), n=st.integers(min_value=1, max_value=30))
def test_apply_order_does_not_change_the_ledger(seed: int, n: int) -> None:
    """Two processes may see states of different trades in different orders (each trade's own order kept)."""
    history = random_history(seed, n)
    rng = random.Random(seed + 1)
    by_trade: dict[str, list[Trade]] = {}
    for state in history:
        by_trade.setdefault(state.id, []).append(state)
    queues = list(by_trade.values())
    other_order: list[Trade] = []
    while queues:
        queue = rng.choice(queues)
        other_order.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    first, second = Ledger("kalshi_st", bankroll_cents=500_000), Ledger("kalshi_st", bankroll_cents=500_000)
    for state in history:
        first.apply(state)
    for state in other_order:
        second.apply(state)
    assert first.state() == second.state()


def test_peak_equity_follows_resolution_time() -> None:
    ledger = Ledger("kalshi_st", bankroll_cents=100_000)
    # Applied loss first, but the win resolved earlier: the peak is bankroll + win.
    for state in lifecycle("L", -500, T0 + timedelta(hours=2)):
        ledger.apply(state)
    assert ledger.peak_equity_cents == 100_000
    for state in lifecycle("W", 300, T0 + timedelta(hours=1)):
        ledger.apply(state)
    assert ledger.peak_equity_cents == 100_300 and ledger.equity_cents == 99_800
    assert ledger.drawdown == Decimal(500) / Decimal(100_300)
