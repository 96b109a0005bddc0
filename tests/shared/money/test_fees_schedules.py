"""Fees: the 15 Kalshi values of the reference table, exactly; FX and IBKR cost schedules; fee properties."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money.fees import (
    fx_commission_cents,
    fx_round_trip_cost_cents,
    fx_spread_cost_cents,
    ibkr_commission_cents,
    ibkr_round_trip_cents,
    kalshi_fee_cents,
)

# (coefficient, contracts, price in dollars, fee in dollars): kalshi.md §3, all fifteen rows.
KALSHI_TABLE = [
    ("0.07", 1, "0.50", "0.02"),
    ("0.07", 1, "0.01", "0.01"),
    ("0.07", 1, "0.99", "0.01"),
    ("0.07", 10, "0.50", "0.18"),
    ("0.07", 100, "0.05", "0.34"),
    ("0.07", 100, "0.10", "0.63"),
    ("0.07", 100, "0.25", "1.32"),
    ("0.07", 100, "0.35", "1.60"),
    ("0.07", 100, "0.50", "1.75"),
    ("0.07", 7, "0.43", "0.13"),
    ("0.0175", 10, "0.50", "0.05"),
    ("0.0175", 100, "0.05", "0.09"),
    ("0.0175", 100, "0.50", "0.44"),
    ("0.035", 100, "0.50", "0.88"),
    ("0.035", 100, "0.25", "0.66"),
]


@pytest.mark.parametrize(("coef", "contracts", "price", "fee"), KALSHI_TABLE)
def test_kalshi_reference_table(coef: str, contracts: int, price: str, fee: str) -> None:
    price_cents = Decimal(price) * 100
    if coef == "0.0175":
        got = kalshi_fee_cents(contracts * 100, price_cents, maker=True, fee_type="quadratic_with_maker_fees")
    elif coef == "0.035":
        # The index series' half coefficient is expressed through the series' fee_multiplier.
        got = kalshi_fee_cents(contracts * 100, price_cents, fee_multiplier=Decimal("0.5"))
    else:
        got = kalshi_fee_cents(contracts * 100, price_cents)
    assert got == int(Decimal(fee) * 100)


def test_kalshi_table_has_all_fifteen_rows() -> None:
    assert len(KALSHI_TABLE) == 15


def test_float_trap_is_avoided() -> None:
    # A binary float computes 0.07 × 100 × 0.10 × 0.90 = 0.6300000000000001 and charges 64 cents.
    assert math.ceil(0.07 * 100 * 0.10 * 0.90 * 100) == 64
    assert kalshi_fee_cents(10_000, 10) == 63


def test_makers_pay_nothing_outside_maker_fee_series() -> None:
    assert kalshi_fee_cents(10_000, 50, maker=True, fee_type="quadratic") == 0


@given(
    count=st.integers(min_value=0, max_value=10_000_000),
    price=st.integers(min_value=0, max_value=100),
    maker=st.booleans(),
    multiplier=st.sampled_from([Decimal("0.5"), Decimal(1), Decimal("1.5")]),
)
def test_kalshi_fee_never_negative_never_below_raw(count: int, price: int, maker: bool, multiplier: Decimal) -> None:
    fee = kalshi_fee_cents(count, price, maker=maker, fee_type="quadratic_with_maker_fees", fee_multiplier=multiplier)
    coef = Decimal("0.0175") if maker else Decimal("0.07")
    raw_cents = coef * multiplier * Decimal(count) * price * (100 - price) / Decimal(10_000)
    assert fee >= 0
    assert fee >= raw_cents
    assert fee - raw_cents < 1  # rounded up to the next cent, never more


@given(
    count=st.integers(min_value=0, max_value=1_000_000),
    extra=st.integers(min_value=0, max_value=1_000_000),
    price=st.integers(min_value=1, max_value=99),
    maker=st.booleans(),
)
def test_kalshi_fee_monotone_in_count(count: int, extra: int, price: int, maker: bool) -> None:
    kwargs = {"maker": maker, "fee_type": "quadratic_with_maker_fees"}
    assert kalshi_fee_cents(count + extra, price, **kwargs) >= kalshi_fee_cents(count, price, **kwargs)  # type: ignore[arg-type]


def test_fx_spread_cost_round_trip() -> None:
    # 10,000 EUR_USD at 1.10000 / 1.10012: 1.2 pips × 10,000 = $1.20 for the round trip.
    assert fx_spread_cost_cents(10_000, Decimal("1.10000"), Decimal("1.10012")) == 120
    # USD_JPY: a 1.5 pip (0.015 JPY) spread on 10,000 units = 150 JPY, at 1/150 USD per JPY = $1.00.
    jpy = fx_spread_cost_cents(10_000, Decimal("150.000"), Decimal("150.015"), quote_to_account=Decimal(1) / 150)
    assert jpy == 100


def test_fx_commission_per_million() -> None:
    # $50 per million on 100,000 EUR at 1.10 = $5.50 a side; round trip adds the spread.
    assert fx_commission_cents(100_000, base_to_account=Decimal("1.10"), per_million_cents=5_000) == 550
    total = fx_round_trip_cost_cents(
        100_000, Decimal("1.10000"), Decimal("1.10002"), base_to_account=Decimal("1.10"), per_million_cents=5_000
    )
    assert total == 200 + 2 * 550
    assert fx_commission_cents(100_000) == 0  # standard account: spread only


def test_fx_rejects_bad_quotes() -> None:
    with pytest.raises(ValueError):
        fx_spread_cost_cents(1, Decimal("1.2"), Decimal("1.1"))
    with pytest.raises(ValueError):
        fx_spread_cost_cents(-1, Decimal("1.1"), Decimal("1.2"))


def test_ibkr_fixed_rate() -> None:
    assert ibkr_commission_cents(100, Decimal("50")) == 100  # $0.50 per-share total, lifted to the $1 minimum
    assert ibkr_commission_cents(1_000, Decimal("50")) == 500  # $0.005 × 1,000
    assert ibkr_commission_cents(333, Decimal("50")) == 167  # $1.665 rounded up
    # 1% of a $20 trade is $0.20: the maximum is below the minimum, so the maximum applies.
    assert ibkr_commission_cents(10, Decimal("2")) == 20
    assert ibkr_commission_cents(0, Decimal("2")) == 0
    assert ibkr_round_trip_cents(100, Decimal("50"), Decimal("51")) == 200


def test_ibkr_configurable_schedule() -> None:
    fee = ibkr_commission_cents(1_000, Decimal("10"), per_share=Decimal("0.0035"), minimum_cents=35)
    assert fee == 350


@given(
    shares=st.integers(min_value=0, max_value=100_000),
    price=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("5000"), places=2),
)
def test_ibkr_bounds(shares: int, price: Decimal) -> None:
    fee = ibkr_commission_cents(shares, price)
    assert fee >= 0
    if shares:
        assert fee <= math.ceil(shares * price)  # never above 1% of the trade value (in cents: value × 100 / 100)
