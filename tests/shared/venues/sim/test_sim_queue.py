"""The binary sim's queue model: a post-only order rests behind the displayed size at its price and fills only when
the market reaches it (the opposite side comes to its price, or volume at the touch eats the queue ahead of it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from shared.money.fees import kalshi_fee_cents
from shared.venues.base import OrderRequest
from shared.venues.sim import rng
from shared.venues.sim.binary import QUEUE_STEP, BinarySimVenue, side_book
from tests.shared.venues.sim.scripted import START, SYMBOL, Book, flat, level, scripted_venue


def rest(venue: BinarySimVenue, coid: str, price: str, quantity: int = 10_000, side: str = "yes") -> None:
    venue.place_order(OrderRequest(coid, SYMBOL, side, "open", quantity, Decimal(price), "gtc"))  # type: ignore[arg-type]


def test_an_order_the_market_never_reached_never_fills(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: flat(40, 45))
    rest(venue, "below", "0.38")  # two cents under the best bid: nothing ever trades there
    clock.advance(timedelta(hours=6))
    result = venue.order_by_client_id("below")
    assert result is not None and result.status == "resting" and result.filled_quantity == 0
    assert venue.fills() == [] and venue.positions() == []
    venue.cancel_order(result.venue_order_id)
    ended = venue.order_by_client_id("below")
    assert ended is not None and ended.status == "cancelled" and ended.filled_quantity == 0


def test_post_only_refuses_an_order_that_would_cross(log_dir: Path) -> None:
    venue, _clock = scripted_venue(log_dir, lambda now: flat(40, 45))
    rest(venue, "cross", "0.45")
    result = venue.order_by_client_id("cross")
    assert result is not None and result.status == "rejected" and result.reason == "post_only_would_cross"


def test_an_order_behind_a_big_queue_waits_until_the_queue_is_consumed(log_dir: Path) -> None:
    crossed_at = START + timedelta(hours=2)

    def script(now: datetime) -> Book:
        if now < crossed_at:  # 10_000 contracts bid ahead of us at 40; the touch trades a few hundred a step
            return flat(40, 45, bid_size=1_000_000, ask_size=10_000)
        return ([level(39, 50_000)], [level(40, 1_050_000), level(41, 50_000)])  # sellers come down to 40

    venue, clock = scripted_venue(log_dir, script)
    rest(venue, "queued", "0.40")
    clock.set(crossed_at - timedelta(seconds=1))
    waiting = venue.order_by_client_id("queued")
    assert waiting is not None and waiting.status == "resting" and waiting.filled_quantity == 0
    clock.set(crossed_at + QUEUE_STEP)
    filled = venue.order_by_client_id("queued")
    # 1_050_000 at 40 meets what is left of the 1_000_000 ahead (less what the tape ate), then us.
    assert filled is not None and filled.status == "filled" and filled.filled_quantity == 10_000
    assert filled.avg_fill_price == Decimal("0.40") and filled.fees_cents == 0  # quadratic series: makers free
    (fill,) = venue.fills()
    assert fill.at >= crossed_at


def test_partial_fill_from_the_tape_then_cancel_keeps_what_filled(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir, lambda now: flat(40, 45, ask_size=20_000),
                                  fee_type="quadratic_with_maker_fees")
    rest(venue, "inside", "0.41", quantity=100_000)  # one cent inside the bid: nobody ahead of us
    clock.advance(QUEUE_STEP * 10)
    partial = venue.order_by_client_id("inside")
    assert partial is not None and partial.status == "resting" and 0 < partial.filled_quantity < 100_000
    (position,) = venue.positions()
    assert position.quantity == partial.filled_quantity
    fills = venue.fills()
    assert sum(f.quantity for f in fills) == partial.filled_quantity
    assert all(f.price == Decimal("0.41") and START < f.at <= clock.now() for f in fills)
    assert partial.fees_cents == sum(kalshi_fee_cents(f.quantity, 41, maker=True,
                                                      fee_type="quadratic_with_maker_fees") for f in fills) > 0
    venue.cancel_order(partial.venue_order_id)
    clock.advance(QUEUE_STEP * 10)
    ended = venue.order_by_client_id("inside")
    assert ended is not None and ended.status == "partially_filled"
    assert ended.filled_quantity == partial.filled_quantity  # nothing fills after the cancel


def test_the_queue_model_is_deterministic_per_seed_and_across_processes(log_dir: Path) -> None:
    venue, clock = scripted_venue(log_dir / "a", lambda now: flat(40, 45, ask_size=20_000))
    rest(venue, "o", "0.41", quantity=100_000)
    clock.advance(QUEUE_STEP * 7)
    first = venue.order_by_client_id("o")
    # another process (the resolver) on the same ledger sees the same account
    other, _ = scripted_venue(log_dir / "a", lambda now: flat(40, 45, ask_size=20_000), clock=clock)
    assert other.order_by_client_id("o") == first
    again, clock2 = scripted_venue(log_dir / "b", lambda now: flat(40, 45, ask_size=20_000))
    rest(again, "o", "0.41", quantity=100_000)
    clock2.advance(QUEUE_STEP * 7)
    replayed = again.order_by_client_id("o")
    assert replayed is not None and first is not None
    assert replayed.filled_quantity == first.filled_quantity and replayed.fees_cents == first.fees_cents


def test_fills_only_where_the_market_reached_the_order_on_a_random_walk(log_dir: Path) -> None:
    """Property: every queue-model fill happens at a step where the book had the opposite side at or through the
    order's price or the order at (or inside) the best bid; never more than was offered."""

    def script(now: datetime) -> Book:
        k = int((now - START).total_seconds() // 30)
        mid = 50 + sum(1 if rng.unit(3, "walk", i) > 0.5 else -1 for i in range(k // 4))
        mid = max(10, min(90, mid))
        return flat(mid - 2, mid + 2, ask_size=30_000)

    venue, clock = scripted_venue(log_dir, script)
    for i, (price, side) in enumerate([("0.45", "yes"), ("0.40", "yes"), ("0.47", "no"), ("0.30", "yes")]):
        rest(venue, f"o{i}", price, quantity=200_000, side=side)
    clock.advance(timedelta(hours=3))
    fills = venue.fills()
    assert fills  # the walk does reach some of them
    for fill in fills:
        assert fill.client_order_id is not None
        order = venue.ledger.by_client_id(fill.client_order_id)
        assert order is not None and order.limit_price is not None
        bids, asks = side_book(fill.side, *script(fill.at))
        reached = (asks and asks[0].price <= order.limit_price) or (not bids or bids[0].price <= order.limit_price)
        assert reached, (fill, bids[:1], asks[:1])
        assert fill.price == order.limit_price
