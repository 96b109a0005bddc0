"""stocks sim: quotes only in the regular session, IBKR fixed commission, cash accounting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.venues.base import OrderRequest
from shared.venues.sim.stocks import ibkr_fixed_commission_cents

SimFactory = Any
OPEN_DAY = datetime(2025, 4, 2, 15, 0, tzinfo=UTC)  # Wednesday 11:00 EDT


def test_quotes_only_within_market_hours(make_sim: SimFactory) -> None:
    venue, clock = make_sim("stocks", OPEN_DAY)
    quote = venue.quote("AAPL")
    assert quote.bid is not None and quote.ask is not None and quote.ask > quote.bid
    for closed in (datetime(2025, 4, 2, 13, 0, tzinfo=UTC),  # 09:00 EDT, before the open
                   datetime(2025, 4, 2, 20, 30, tzinfo=UTC),  # 16:30 EDT, after the close
                   datetime(2025, 4, 5, 15, 0, tzinfo=UTC),  # Saturday
                   datetime(2025, 4, 18, 15, 0, tzinfo=UTC)):  # Good Friday: no bars
        clock.set(closed)
        q = venue.quote("AAPL")
        assert q.bid is None and q.ask is None, closed
        result = venue.place_order(OrderRequest(f"c-{closed:%d%H}", "AAPL", "long", "open", 10))
        assert result.status == "rejected" and result.reason.startswith("outside_market_hours"), closed
    clock.set(datetime(2025, 12, 2, 15, 0, tzinfo=UTC))  # winter: 10:00 EST is in the session
    assert venue.quote("MSFT").bid is not None


def test_fills_pay_spread_and_commission(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("stocks", OPEN_DAY, cash=10_000_000)
    quote = venue.quote("NVDA")
    assert quote.ask is not None and quote.bid is not None
    buy = venue.place_order(OrderRequest("b1", "NVDA", "long", "open", 300))
    assert buy.avg_fill_price == quote.ask
    assert buy.fees_cents == ibkr_fixed_commission_cents(300, quote.ask) == 150
    sell = venue.close_position("NVDA", "b1-x", buy.venue_order_id)
    assert sell.avg_fill_price == quote.bid and sell.fees_cents == 150
    expected = 10_000_000 - int(quote.ask * 300 * 100) + int(quote.bid * 300 * 100) - 300
    assert venue.balance().cash_cents == expected
    assert venue.positions() == []


def test_ibkr_fixed_commission_schedule() -> None:
    assert ibkr_fixed_commission_cents(10, Decimal("200")) == 100  # the $1 minimum
    assert ibkr_fixed_commission_cents(1000, Decimal("50")) == 500  # $0.005 a share
    assert ibkr_fixed_commission_cents(100, Decimal("0.50")) == 50  # capped at 1 % of $50


def test_the_year_of_bars_loops_keeping_weekdays(make_sim: SimFactory) -> None:
    venue, clock = make_sim("stocks", datetime(2026, 4, 7, 15, 0, tzinfo=UTC))  # Tuesday, 53 weeks after 2025-04-01
    looped = venue.candles("AAPL", 3600, 1)
    clock.set(datetime(2025, 4, 1, 15, 0, tzinfo=UTC))
    original = venue.candles("AAPL", 3600, 1)
    assert (looped[0].open, looped[0].close) == (original[0].open, original[0].close)
    assert looped[0].start - original[0].start == timedelta(weeks=53)


def test_hourly_candles_keep_the_session_bar_times(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("stocks", datetime(2025, 4, 2, 13, 45, tzinfo=UTC))  # 09:45 EDT next morning
    candles = venue.candles("MSFT", 3600, 7)
    assert [c.start.strftime("%H:%M") for c in candles] == ["13:30", "14:30", "15:30", "16:30", "17:30", "18:30",
                                                            "19:30"]
    assert all(c.start.day == 1 for c in candles)


def test_a_venue_exit_is_the_same_however_often_a_process_looked(make_sim: SimFactory) -> None:
    # The surface's process polls its venue every few minutes, the resolver's every tick, the audit once at the end:
    # each must find the same exit instant and price (an exit instant that moved with the polling once left a
    # rebuilt venue holding a position the resolver had already booked as closed).
    watcher, clock = make_sim("stocks", OPEN_DAY)
    quote = watcher.quote("AAPL")
    assert quote.bid is not None
    for n, (side, offset) in enumerate((("long", "0.40"), ("short", "0.40"), ("long", "1.10"), ("short", "1.30"))):
        stop, target = (quote.bid - Decimal(offset), quote.bid + Decimal(offset)) if side == "long" else (
            quote.bid + Decimal(offset), quote.bid - Decimal(offset))
        placed = watcher.place_order(OrderRequest(f"d{n}", "AAPL", side, "open", 10, None, "ioc", stop, target))
        assert placed.status == "filled"
    end = OPEN_DAY + timedelta(days=2)
    while clock.now() < end:
        clock.set(clock.now() + timedelta(minutes=7))
        watcher.positions()
    once, _ = make_sim("stocks", end)
    seen = [(f.venue_order_id, f.at, f.price) for f in watcher.fills() if f.intent == "close"]
    assert len(seen) == 4
    assert seen == [(f.venue_order_id, f.at, f.price) for f in once.fills() if f.intent == "close"]
