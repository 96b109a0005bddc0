"""The binary taker walk the sim and paper-on-live venues share: limit, displayed sizes, FOK, fees per level, cash."""

from __future__ import annotations

from decimal import Decimal

from shared.money.fees import kalshi_fee_cents
from shared.venues.base import OrderRequest
from shared.venues.sim.taker import take_levels

LEVELS = [(Decimal("0.40"), 300), (Decimal("0.41"), 0), (Decimal("0.42"), 500), (Decimal("0.45"), 1000)]


def order(quantity: int, limit: str, intent: str = "open", tif: str = "ioc") -> OrderRequest:
    return OrderRequest("C1", "KX-A", "yes", intent, quantity, Decimal(limit), tif)  # type: ignore[arg-type]


def fee(take: int, price: Decimal) -> int:
    return kalshi_fee_cents(take, price * 100)


def test_takes_levels_within_the_limit_never_beyond_their_size() -> None:
    fill = take_levels(order(1000, "0.42"), LEVELS, fee)
    assert fill is not None
    assert [(p.quantity, p.price) for p in fill.parts] == [(300, Decimal("0.40")), (500, Decimal("0.42"))]
    assert fill.taken == ((0, 300), (2, 500)) and fill.remaining == 200
    fees = fee(300, Decimal("0.40")) + fee(500, Decimal("0.42"))
    assert [p.fees_cents for p in fill.parts] == [fee(300, Decimal("0.40")), fee(500, Decimal("0.42"))]
    assert fill.cash_delta_cents == -(120 + 210) - fees  # 300 × $0.40 = 120¢, 500 × $0.42 = 210¢


def test_nothing_within_the_limit_or_an_fok_short_of_whole_takes_nothing() -> None:
    assert take_levels(order(100, "0.39"), LEVELS, fee) is None
    assert take_levels(order(1000, "0.42", tif="fok"), LEVELS, fee) is None
    assert take_levels(order(800, "0.42", tif="fok"), LEVELS, fee) is not None


def test_a_close_sells_at_or_above_its_limit_and_receives_cash_rounded_down() -> None:
    bids = [(Decimal("0.455"), 101), (Decimal("0.40"), 500)]
    fill = take_levels(order(300, "0.45", intent="close"), bids, fee)
    assert fill is not None and [(p.quantity, p.price) for p in fill.parts] == [(101, Decimal("0.455"))]
    assert fill.cash_delta_cents == 45 - fee(101, Decimal("0.455"))  # 101 × $0.455 = 45.955¢, rounded down
