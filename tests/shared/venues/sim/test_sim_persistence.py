"""The sim venue's memory: orders persist, survive a restart, and one client order id never fills twice."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.clock import SteppedClock
from shared.venues.base import OrderRequest
from shared.venues.sim import build_sim_venue

SimFactory = Any
START = datetime(2025, 12, 5, 15, 0, tzinfo=UTC)


def _btc(venue: Any) -> str:
    return next(m.symbol for m in venue.instruments() if m.attributes.get("series") == "KXBTC15M")


def test_orders_survive_a_new_venue_instance(log_dir: Path) -> None:
    clock = SteppedClock(START + timedelta(minutes=2))
    first = build_sim_venue("kalshi_st", clock, log_dir, 7, 1_000_000)
    symbol = _btc(first)
    placed = first.place_order(OrderRequest("coid-1", symbol, "yes", "open", 300, Decimal("0.99")))
    assert placed.status == "filled"
    assert (log_dir / "sim" / "kalshi_st" / "orders.jsonl").exists()

    # A restarted process (or the resolver) builds a fresh venue on the same logs.
    second = build_sim_venue("kalshi_st", SteppedClock(clock.now() + timedelta(seconds=30)), log_dir, 7, 1_000_000)
    assert second.order_by_client_id("coid-1") == placed
    assert second.positions() == first.positions() and second.positions()[0].quantity == 300
    again = second.place_order(OrderRequest("coid-1", symbol, "yes", "open", 300, Decimal("0.99")))
    assert again == placed  # the first order, not a second fill
    assert len([f for f in second.fills() if f.client_order_id == "coid-1"]) == len(
        [f for f in first.fills() if f.client_order_id == "coid-1"])
    assert second.balance().cash_cents == first.balance().cash_cents
    assert second.order_by_client_id("never-sent") is None


def _race(log_dir: Path, barrier: Any, results: Any) -> None:
    clock = SteppedClock(START + timedelta(minutes=2))
    venue = build_sim_venue("kalshi_st", clock, log_dir, 7, 1_000_000)
    symbol = _btc(venue)
    barrier.wait()
    result = venue.place_order(OrderRequest("raced", symbol, "yes", "open", 100, Decimal("0.99")))
    results.put(result.venue_order_id)


def test_two_processes_sending_one_client_order_id_fill_once(log_dir: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(log_dir, barrier, results)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    ids = {results.get(timeout=5), results.get(timeout=5)}
    assert len(ids) == 1
    lines = (log_dir / "sim" / "kalshi_st" / "orders.jsonl").read_text().splitlines()
    assert len(lines) == 1


def test_fx_positions_and_exits_are_shared_across_instances(log_dir: Path) -> None:
    clock = SteppedClock(datetime(2025, 7, 28, 5, 0, tzinfo=UTC))
    surface = build_sim_venue("fx", clock, log_dir, 7, 1_000_000)
    surface.place_order(OrderRequest("fx-1", "AUD_USD", "long", "open", 5_000))
    resolver = build_sim_venue("fx", clock, log_dir, 7, 1_000_000)
    [position] = resolver.positions()
    assert position.client_order_id == "fx-1"
    closed = resolver.close_position("AUD_USD", "fx-1-exit", position.venue_position_id)
    assert closed.status == "filled"
    assert surface.positions() == []
    assert resolver.close_position("AUD_USD", "fx-1-exit") == closed  # idempotent exit
    assert surface.balance() == resolver.balance()
