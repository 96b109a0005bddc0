"""Properties of binary sim fills over many order shapes: never through the limit, fees exact, cash consistent."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.clock import SteppedClock
from shared.money.fees import kalshi_fee_cents
from shared.venues.base import OrderRequest
from shared.venues.sim import build_sim_venue

AT = datetime(2025, 12, 5, 15, 4, tzinfo=UTC)


@settings(max_examples=40, deadline=None)
@given(
    quantity=st.integers(min_value=1, max_value=3_000_000),
    limit_cents=st.integers(min_value=1, max_value=99),
    side=st.sampled_from(["yes", "no"]),
    tif=st.sampled_from(["ioc", "fok"]),
    minutes=st.integers(min_value=0, max_value=10),
)
def test_binary_fills(quantity: int, limit_cents: int, side: str, tif: str, minutes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = SteppedClock(AT + timedelta(minutes=minutes))
        venue = build_sim_venue("kalshi_st", clock, Path(tmp), 7, 100_000_000)
        symbol = next(m.symbol for m in venue.instruments() if m.attributes.get("series") == "KXBTC15M")
        book = venue.orderbook(symbol, 50)
        limit = Decimal(limit_cents) / 100
        result = venue.place_order(OrderRequest("p", symbol, side, "open", quantity, limit, tif))  # type: ignore[arg-type]
        fills = venue.fills()
        # What the book offers the side bought, at or better than the limit.
        offered = book.asks if side == "yes" else tuple(type(b)(1 - b.price, b.size) for b in book.bids)
        available = sum(level.size for level in offered if level.price <= limit)
        if (tif == "fok" and available < quantity) or available == 0:
            assert result.status == "cancelled" and fills == []
            return
        assert result.filled_quantity == min(quantity, available)
        assert all(f.price <= limit for f in fills)
        assert [f.price for f in fills] == sorted(f.price for f in fills)  # best price first
        assert result.fees_cents == sum(kalshi_fee_cents(f.quantity, f.price * 100) for f in fills)
        spent = sum(f.quantity * f.price for f in fills)
        assert venue.balance().cash_cents == 100_000_000 - int(spent.to_integral_value(rounding="ROUND_CEILING")) \
            - result.fees_cents
