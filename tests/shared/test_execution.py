"""Incident replays of the durable order lifecycle against a sim venue that remembers its orders like a real one:
a crash after the intent, after the send, after the fill, and a restart in the middle of a settlement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.bus import Durability, JsonlLog
from shared.clock import SteppedClock
from shared.execution import OrderLifecycle, OrderPlan, OrphanPositionError, latest_states, read_trades
from shared.ids import derive_id
from shared.paths import stream_path
from shared.venues.base import OrderRequest, Venue
from shared.venues.sim import build_sim_venue
from surfaces.resolver.service import Resolver, SurfaceBook

START = datetime(2025, 7, 30, 9, 0, tzinfo=UTC)  # a Wednesday: FX is open


def venue_at(log_dir: Path, moment: datetime = START) -> Venue:
    return build_sim_venue("fx", SteppedClock(moment), log_dir, 7, 1_000_000)


def plan_for(venue: Venue, signal_id: str = "01SIGNAL0000000000000000AA") -> OrderPlan:
    ask = venue.quote("EUR_USD").ask
    assert ask is not None
    return OrderPlan(signal_id=signal_id, surface="fx", sub_strategy="fx_atr_trend", instrument="EUR_USD",
                     side="long", quantity=10_000, limit_price=ask, cost_cents=23_000, category="fx",
                     underlying="EUR_USD", stop_loss=ask - Decimal("0.0030"), take_profit=ask + Decimal("0.0040"),
                     eta_hours=1.5)


def trades_log(log_dir: Path) -> JsonlLog:
    return JsonlLog(stream_path(log_dir, "fx", "trades"), Durability.FSYNC)


def lifecycle(log_dir: Path, venue: Venue) -> OrderLifecycle:
    return OrderLifecycle(venue, trades_log(log_dir), "paper", binary=False)


def venue_orders(venue: Venue, coid: str) -> int:
    return 0 if venue.order_by_client_id(coid) is None else 1


def test_execute_writes_intent_then_placed_and_filled(log_dir: Path) -> None:
    venue = venue_at(log_dir)
    trade = lifecycle(log_dir, venue).execute(plan_for(venue))
    states = [t.status for t in read_trades(trades_log(log_dir))]
    assert states == ["intent", "placed", "filled"]
    assert trade.client_order_id == derive_id("coid", "01SIGNAL0000000000000000AA")
    assert trade.units == 10_000 and trade.fill_price is not None and trade.cost_cents == 23_000


def test_crash_after_intent_before_send_is_cancelled_and_never_sent(log_dir: Path) -> None:
    venue = venue_at(log_dir)
    plan = plan_for(venue)
    first = lifecycle(log_dir, venue)
    first.trades.append(first._base(plan))  # the intent is on disk; the process dies before place_order
    restarted = lifecycle(log_dir, venue_at(log_dir))
    [record] = restarted.reconcile()
    assert record.status == "cancelled" and "never sent" in record.reason
    assert venue_orders(restarted.venue, plan.client_order_id) == 0
    assert restarted.reconcile() == []  # a second restart has nothing left to do


def test_crash_after_send_before_ack_is_recorded_from_the_venue_without_a_second_order(log_dir: Path) -> None:
    venue = venue_at(log_dir)
    plan = plan_for(venue)
    first = lifecycle(log_dir, venue)
    first.trades.append(first._base(plan))
    venue.place_order(OrderRequest(plan.client_order_id, "EUR_USD", "long", "open", plan.quantity, plan.limit_price,
                                   stop_loss=plan.stop_loss, take_profit=plan.take_profit))
    # ... and dies before recording what the venue said.
    restarted = lifecycle(log_dir, venue_at(log_dir))
    [record] = restarted.reconcile()
    assert record.status == "filled" and record.units == plan.quantity
    statuses = [t.status for t in read_trades(trades_log(log_dir))]
    assert statuses == ["intent", "placed", "filled"]
    # Sending the same client order id again returns the first order: no second fill at the venue.
    again = restarted.venue.place_order(OrderRequest(plan.client_order_id, "EUR_USD", "long", "open", plan.quantity,
                                                     plan.limit_price))
    assert again.venue_order_id == record.venue_order_id
    assert len([p for p in restarted.venue.positions() if p.client_order_id == plan.client_order_id]) == 1


def test_crash_after_fill_before_its_record_completes_the_record(log_dir: Path) -> None:
    venue = venue_at(log_dir)
    plan = plan_for(venue)
    first = lifecycle(log_dir, venue)
    intent = first._base(plan)
    first.trades.append(intent)
    result = venue.place_order(OrderRequest(plan.client_order_id, "EUR_USD", "long", "open", plan.quantity,
                                            plan.limit_price))
    first.trades.append(intent.model_copy(update={"status": "placed", "venue_order_id": result.venue_order_id}))
    restarted = lifecycle(log_dir, venue_at(log_dir))
    [record] = restarted.reconcile()
    assert record.status == "filled" and record.fill_price == result.avg_fill_price
    latest = latest_states(read_trades(trades_log(log_dir)))
    assert [t.status for t in latest.values()] == ["filled"]


def test_a_venue_position_the_log_does_not_know_stops_the_restart(log_dir: Path) -> None:
    venue = venue_at(log_dir)
    venue.place_order(OrderRequest("coid-unknown-to-the-log", "EUR_USD", "long", "open", 1000,
                                   venue.quote("EUR_USD").ask))
    with pytest.raises(OrphanPositionError, match="coid-unknown-to-the-log"):
        lifecycle(log_dir, venue_at(log_dir)).reconcile()


def test_restart_in_the_middle_of_a_settlement_resolves_exactly_once(log_dir: Path) -> None:
    venue = venue_at(log_dir)
    trade = lifecycle(log_dir, venue).execute(plan_for(venue))
    later = START + timedelta(days=6)  # far enough for the bracket to have been hit

    def resolver() -> Resolver:
        log = trades_log(log_dir)
        return Resolver([SurfaceBook("fx", venue_at(log_dir, later), log, log.reader())])

    first = resolver()
    first.books[0].follow()
    # The first resolver finds the venue's exit and dies before writing the resolution.
    assert [t.id for t in first._resolve_book(first.books[0])] == [trade.id]
    second = resolver()
    written = second.tick()
    assert [t.id for t in written] == [trade.id]
    assert written[0].status == "resolved" and written[0].resolution_source == "sim"
    assert resolver().tick() == []  # a third start finds it resolved: nothing is recorded twice
    resolved = [t for t in read_trades(trades_log(log_dir)) if t.status == "resolved"]
    assert len(resolved) == 1
