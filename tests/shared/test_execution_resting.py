"""Resting (maker) orders in the durable lifecycle, against the binary sim's queue model: crash while resting, a
crash between the send and its record, partial fill then restart, cancel on STOP, expiry, rest_then_take, a move,
and a move racing a fill. Every state is a record; nothing is sent twice; the caps count a resting order whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.bus import Durability, JsonlLog
from shared.execution import REST_MARK, OrderLifecycle, OrderPlan, latest_states, read_trades, rest_client_order_id
from shared.money.fees import kalshi_fee_cents
from shared.money.portfolio import Portfolio
from shared.money.sizing import binary_cost_cents
from shared.paths import stream_path
from shared.records import Signal, Trade
from shared.signing import sign_signal, verify_signal
from shared.venues.base import OrderRequest
from shared.venues.sim.binary import QUEUE_STEP, BinarySimVenue
from surfaces.resting import RestingOrders, maker_price
from tests.shared.venues.sim.scripted import START, SYMBOL, Book, flat, level, scripted_venue

SIGNAL_ID = "01SIGNAL0000000000000000RS"
QUIET = flat(40, 45, ask_size=400)  # the touch trades nothing a step: a resting order at 41 never fills
BUSY = flat(40, 45, ask_size=20_000)  # the touch trades up to 40 contracts a step


def trades_log(log_dir: Path) -> JsonlLog:
    return JsonlLog(stream_path(log_dir, "kalshi_st", "trades"), Durability.FSYNC)


def lifecycle(log_dir: Path, venue: BinarySimVenue) -> OrderLifecycle:
    return OrderLifecycle(venue, trades_log(log_dir), "paper", binary=True)


def plan(style: str = "rest", quantity: int = 100_000, rest_price: str = "0.41") -> OrderPlan:
    return OrderPlan(
        signal_id=SIGNAL_ID, surface="kalshi_st", sub_strategy="weather_high", instrument=SYMBOL, side="yes",
        quantity=quantity, limit_price=Decimal("0.45"), cost_cents=binary_cost_cents(quantity, Decimal("0.45")),
        category="weather", underlying="KXTEST-25JUL30", order_style=style,  # type: ignore[arg-type]
        rest_price=Decimal(rest_price),
    )


def statuses(log_dir: Path) -> list[str]:
    return [t.status for t in read_trades(trades_log(log_dir))]


def latest(log_dir: Path) -> Trade:
    (trade,) = latest_states(read_trades(trades_log(log_dir))).values()
    return trade


def signal() -> Signal:
    return Signal(published_at=START, expires_at=START + timedelta(minutes=10), surface="kalshi_st",
                  sub_strategy="weather_high", venue="sim", instrument=SYMBOL, side="yes",
                  limit_price=Decimal("0.45"), size_fraction=Decimal("0.02"), p_model=0.60, p_market=0.45,
                  edge=0.12, confidence=0.7)


def manager(cycle: OrderLifecycle, published: list[Signal], halt: list[str] | None = None,
            rest_seconds: float = 600) -> RestingOrders:
    return RestingOrders(cycle, style="rest", rest_seconds=rest_seconds, min_edge=lambda: Decimal("0.03"),
                         halted=lambda: halt[0] if halt else None, on_fill=published.append)


def test_a_resting_order_is_intent_then_resting_and_counts_whole_against_the_caps(log_dir: Path) -> None:
    venue, _ = scripted_venue(log_dir, lambda now: QUIET)
    trade = lifecycle(log_dir, venue).execute(plan())
    assert statuses(log_dir) == ["intent", "resting"]
    assert trade.status == "resting" and trade.limit_price == Decimal("0.41") and trade.count == 100_000
    assert trade.client_order_id == rest_client_order_id(SIGNAL_ID, 0) and trade.venue_order_id is not None
    order = venue.order_by_client_id(trade.client_order_id)
    assert order is not None and order.status == "resting"
    fold = Portfolio(None, None, bankroll_cents=1_000_000)
    for record in read_trades(trades_log(log_dir)):
        fold.apply(record)
    # worst case: all of it fills at the decision's price
    assert fold.exposure_cents == binary_cost_cents(100_000, Decimal("0.45")) == fold.committed_cents
    assert [t.status for t in fold.open_trades()] == ["resting"]


def test_take_stays_the_default_and_is_unchanged(log_dir: Path) -> None:
    venue, _ = scripted_venue(log_dir, lambda now: QUIET)
    trade = lifecycle(log_dir, venue).execute(plan(style="take", quantity=300))
    assert statuses(log_dir) == ["intent", "placed", "filled"] and trade.fill_price == Decimal("0.45")


def test_crash_while_resting_restart_adopts_or_cancels_by_client_order_id(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: QUIET)
    lifecycle(log_dir, venue).execute(plan())
    clock.advance(timedelta(minutes=5))
    # restart, adopt: the order is still resting at the venue; nothing is re-sent, nothing new to record
    restarted = lifecycle(log_dir, venue)
    assert restarted.reconcile(resting="adopt") == []
    assert [t.status for t in restarted.adopted] == ["resting"]
    assert len(venue.ledger.orders) == 1
    # restart again, cancel: cancelled at the venue and recorded
    again = lifecycle(log_dir, venue)
    (written,) = again.reconcile(resting="cancel")
    assert written.status == "cancelled" and written.reason == "reconciled: cancelled at restart"
    order = venue.order_by_client_id(written.client_order_id)
    assert order is not None and order.status == "cancelled"
    assert statuses(log_dir) == ["intent", "resting", "cancelled"]


def test_crash_after_the_send_before_the_resting_record_is_found_resting(log_dir: Path) -> None:
    venue, _ = scripted_venue(log_dir, lambda now: QUIET)
    cycle = lifecycle(log_dir, venue)
    intent = cycle.intent(plan()).model_copy(update={"limit_price": Decimal("0.41"), "reason": REST_MARK})
    trades_log(log_dir).append(intent)
    venue.place_order(OrderRequest(intent.client_order_id, SYMBOL, "yes", "open", 100_000, Decimal("0.41"), "gtc"))
    restarted = lifecycle(log_dir, venue)
    written = restarted.reconcile(resting="adopt")
    assert [t.status for t in written] == ["resting"] and restarted.adopted == written
    assert len(venue.ledger.orders) == 1  # never sent twice


def test_partial_fill_then_restart_records_what_filled_at_maker_fees(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: BUSY, fee_type="quadratic_with_maker_fees")
    lifecycle(log_dir, venue).execute(plan())
    clock.advance(QUEUE_STEP * 10)
    order = venue.order_by_client_id(rest_client_order_id(SIGNAL_ID, 0))
    assert order is not None and 0 < order.filled_quantity < 100_000
    restarted = lifecycle(log_dir, venue)
    (written,) = restarted.reconcile(resting="cancel")
    assert written.status == "filled" and written.count == order.filled_quantity
    assert written.fill_price == Decimal("0.41")
    assert written.cost_cents == binary_cost_cents(order.filled_quantity, Decimal("0.41"))
    assert written.fees == order.fees_cents > 0
    assert written.fees == sum(kalshi_fee_cents(f.quantity, 41, maker=True, fee_type="quadratic_with_maker_fees")
                               for f in venue.fills())
    clock.advance(QUEUE_STEP * 10)
    ended = venue.order_by_client_id(written.client_order_id)
    assert ended is not None and ended.filled_quantity == order.filled_quantity  # the rest was cancelled
    fold = Portfolio(None, None, bankroll_cents=1_000_000)
    for record in read_trades(trades_log(log_dir)):
        fold.apply(record)
    assert fold.exposure_cents == written.cost_cents


def test_stop_cancels_every_resting_order_within_one_tick(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: QUIET)
    cycle = lifecycle(log_dir, venue)
    published: list[Signal] = []
    halt: list[str] = []
    resting = manager(cycle, published, halt)
    trades = []
    for n in range(3):
        p = plan()
        p = OrderPlan(**{**{f: getattr(p, f) for f in p.__dataclass_fields__}, "signal_id": f"{SIGNAL_ID[:-1]}{n}"})
        trades.append(cycle.execute(p))
        resting.track(trades[-1], p, signal(), 0.60, clock.now())
    clock.advance(timedelta(seconds=30))
    assert [t.status for t in resting.tick(clock.now())] == ["resting"] * 3
    halt.append("STOP")
    ended = resting.tick(clock.now())
    assert [(t.status, t.reason) for t in ended] == [("cancelled", "halted: STOP")] * 3
    assert resting.working == {} and published == []
    assert all((o := venue.order_by_client_id(t.client_order_id)) is not None and o.status == "cancelled"
               for t in trades)


def test_expiry_cancels_and_rest_then_take_takes_the_remainder_if_the_price_holds(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: QUIET)
    cycle = lifecycle(log_dir, venue)
    published: list[Signal] = []
    resting = manager(cycle, published, rest_seconds=300)
    p = plan(style="rest_then_take", quantity=300)
    resting.track(cycle.execute(p), p, signal(), 0.60, clock.now())
    clock.advance(timedelta(seconds=301))
    (ended,) = resting.tick(clock.now())
    assert ended.status == "cancelled" and ended.reason == "expired"
    trades = latest_states(read_trades(trades_log(log_dir)))
    taken = [t for t in trades.values() if t.signal_id == f"{SIGNAL_ID}#take"]
    assert [(t.status, t.count, t.fill_price) for t in taken] == [("filled", 300, Decimal("0.45"))]
    assert len(published) == 1  # the operator's signal, once


def test_expiry_of_plain_rest_does_not_take(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: QUIET)
    cycle = lifecycle(log_dir, venue)
    published: list[Signal] = []
    resting = manager(cycle, published, rest_seconds=300)
    p = plan(quantity=300)
    resting.track(cycle.execute(p), p, signal(), 0.60, clock.now())
    clock.advance(timedelta(seconds=301))
    (ended,) = resting.tick(clock.now())
    assert ended.status == "cancelled" and ended.reason == "expired"
    assert statuses(log_dir) == ["intent", "resting", "cancelled"] and published == []


def test_edge_gone_cancels(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: QUIET)
    cycle = lifecycle(log_dir, venue)
    resting = manager(cycle, [])
    p = plan()
    resting.track(cycle.execute(p), p, signal(), 0.43, clock.now())  # 0.43 − 0.41 < 0.03
    (ended,) = resting.tick(clock.now())
    assert (ended.status, ended.reason) == ("cancelled", "edge gone")


def test_outbid_unfilled_order_moves_under_the_next_client_order_id(log_dir: Path) -> None:
    moved_at = START + timedelta(minutes=2)

    def script(now: datetime) -> Book:
        return QUIET if now < moved_at else flat(42, 45, ask_size=400)

    venue, clock = scripted_venue(log_dir, script)
    cycle = lifecycle(log_dir, venue)
    resting = manager(cycle, [])
    p = plan()
    resting.track(cycle.execute(p), p, signal(), 0.60, clock.now())
    clock.set(moved_at)
    (moved,) = resting.tick(clock.now())
    assert moved.status == "resting" and moved.limit_price == Decimal("0.43")
    assert moved.client_order_id == rest_client_order_id(SIGNAL_ID, 1)
    old = venue.order_by_client_id(rest_client_order_id(SIGNAL_ID, 0))
    new = venue.order_by_client_id(moved.client_order_id)
    assert old is not None and old.status == "cancelled" and new is not None and new.status == "resting"
    assert statuses(log_dir) == ["intent", "resting", "resting", "resting"]
    # a crash now and a restart find the new order by its client order id
    restarted = lifecycle(log_dir, venue)
    restarted.reconcile(resting="adopt")
    assert [t.client_order_id for t in restarted.adopted] == [moved.client_order_id]


def test_a_move_recorded_but_never_sent_is_cancelled_at_restart(log_dir: Path) -> None:
    venue, _ = scripted_venue(log_dir, lambda now: QUIET)
    cycle = lifecycle(log_dir, venue)
    trade = cycle.execute(plan())
    venue.cancel_order(trade.venue_order_id or "")
    pending = trade.model_copy(update={"client_order_id": rest_client_order_id(SIGNAL_ID, 1), "venue_order_id": None,
                                       "limit_price": Decimal("0.43")})
    trades_log(log_dir).append(pending)  # the crash: recorded, not sent
    (written,) = lifecycle(log_dir, venue).reconcile(resting="adopt")
    assert (written.status, written.reason) == ("cancelled", "reconciled: never sent")
    assert venue.order_by_client_id(pending.client_order_id) is None


def test_a_move_racing_a_fill_keeps_the_fill_and_sends_nothing_new(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: BUSY)
    cycle = lifecycle(log_dir, venue)
    trade = cycle.execute(plan())
    clock.advance(QUEUE_STEP * 3)  # fills arrive between our last look and the cancel
    ended = cycle.replace(trade, Decimal("0.42"), 1)
    order = venue.order_by_client_id(trade.client_order_id)
    assert order is not None and order.filled_quantity > 0
    assert ended.status == "filled" and ended.count == order.filled_quantity
    assert venue.order_by_client_id(rest_client_order_id(SIGNAL_ID, 1)) is None
    assert latest(log_dir).status == "filled"


def test_maker_price_is_inside_or_at_the_best_bid_and_never_crosses() -> None:
    from shared.venues.base import OrderBook

    at = datetime(2025, 7, 30, tzinfo=UTC)
    wide = OrderBook(SYMBOL, at, (level(40, 1),), (level(45, 1),))
    tight = OrderBook(SYMBOL, at, (level(40, 1),), (level(41, 1),))
    assert maker_price(wide, "yes", Decimal("0.45")) == Decimal("0.41")
    assert maker_price(tight, "yes", Decimal("0.41")) == Decimal("0.40")
    assert maker_price(wide, "no", Decimal("0.60")) == Decimal("0.56")  # NO bid 0.55, NO ask 0.60


def test_signal_order_fields_are_signed_only_when_set() -> None:
    key = Ed25519PrivateKey.generate()
    plain = signal()
    assert b"order_style" not in plain.canonical_bytes() and b"capacity" not in plain.canonical_bytes()
    rest = sign_signal(plain.model_copy(update={"order_style": "rest_then_take", "capacity": 12_300,
                                                "rest_expires_at": START + timedelta(minutes=10)}), key)
    assert verify_signal(rest, key.public_key())
    assert not verify_signal(rest.model_copy(update={"capacity": 99_999}), key.public_key())
