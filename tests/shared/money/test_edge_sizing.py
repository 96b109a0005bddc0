"""Edge after fees (both binary sides, ATR brackets) and sizing (fractional Kelly, risk per trade, caps)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money.edge import binary_edge, binary_side_edges, bracket_ev, side_price
from shared.money.fees import kalshi_fee_cents
from shared.money.sizing import (
    binary_cost_cents,
    kelly_count,
    position_cap_cents,
    position_cost_cents,
    risk_units,
)


def test_no_side_costs_one_minus_yes_bid() -> None:
    assert side_price("yes", Decimal("0.40"), Decimal("0.43")) == Decimal("0.43")
    assert side_price("no", Decimal("0.40"), Decimal("0.43")) == Decimal("0.60")


def test_both_sides_after_fees() -> None:
    edges = binary_side_edges(0.5, Decimal("0.40"), Decimal("0.43"), 10_000)
    yes, no = edges["yes"], edges["no"]
    # YES: 100 contracts at 0.43 pay ceil(0.07 × 100 × 0.43 × 0.57) = $1.72 -> 0.0172 a contract.
    assert kalshi_fee_cents(10_000, 43) == 172
    assert yes.price == Decimal("0.43")
    assert yes.fee_per_contract == Decimal("0.0172")
    # The edge is in probability points after fees (dollars per contract); the return on stake rides along.
    assert yes.edge == Decimal("0.5") - Decimal("0.43") - Decimal("0.0172") == Decimal("0.0528")
    assert yes.roi == yes.edge / (Decimal("0.43") + Decimal("0.0172"))
    # NO at 0.60 with p(no) = 0.5: negative edge.
    assert no.price == Decimal("0.60")
    assert no.edge < 0 and not no.positive


def test_empty_book_side_is_left_out() -> None:
    edges = binary_side_edges(0.5, Decimal("0"), Decimal("0.05"), 100)
    assert set(edges) == {"yes"}


def test_binary_edge_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError):
        binary_edge("yes", 0.5, Decimal("1"), 0, 100)
    with pytest.raises(ValueError):
        binary_edge("yes", 1.5, Decimal("0.5"), 0, 100)


def test_bracket_ev_long_and_short() -> None:
    # Long 10,000 at 1.1000, TP 1.1030 (+30 pips = $30), SL 1.0980 (-20 pips = $20), p = 0.5, costs $1.20.
    ev = bracket_ev("long", 0.5, Decimal("1.1000"), Decimal("1.1030"), Decimal("1.0980"), 10_000, 120)
    assert ev.reward_cents == 3000 and ev.risk_cents == 2000
    assert ev.ev_cents == Decimal("0.5") * 3000 - Decimal("0.5") * 2000 - 120
    # Points: EV over the bracket's full swing = p − p_breakeven, p_breakeven = (risk + costs) / (reward + risk).
    assert ev.edge == ev.ev_cents / (3000 + 2000) == Decimal("0.0760")
    assert ev.p_breakeven == Decimal(2120) / Decimal(5000)
    assert ev.edge == Decimal("0.5") - ev.p_breakeven
    assert ev.roi == ev.ev_cents / (2000 + 120)
    short = bracket_ev("short", 0.4, Decimal("100"), Decimal("98"), Decimal("101"), 10, 200)
    assert short.ev_cents == Decimal("0.4") * 2000 - Decimal("0.6") * 1000 - 200
    with pytest.raises(ValueError):
        bracket_ev("long", 0.5, Decimal("1.1"), Decimal("1.0"), Decimal("1.2"), 1, 0)


def test_kelly_count_formula_and_lots() -> None:
    # $10,000, f = 0.25, p = 0.60 at 0.50: 0.25 × 0.10 / 0.25 = 0.1 contracts per dollar -> 1,000 contracts,
    # but the $500 cap at 0.50 allows 1,000 contracts too: both bind at 100,000 centi-contracts.
    count = kelly_count(
        bankroll_cents=1_000_000,
        p_win=0.6,
        price=Decimal("0.5"),
        kelly_fraction=Decimal("0.25"),
        max_position_pct=Decimal("1"),
        max_position_cents=10**9,
    )
    assert count == 100_000
    capped = kelly_count(
        bankroll_cents=1_000_000,
        p_win=0.6,
        price=Decimal("0.5"),
        kelly_fraction=Decimal("0.25"),
        max_position_pct=Decimal("0.05"),
        max_position_cents=30_000,
    )
    assert capped == 60_000  # $300 / $0.50 = 600 contracts
    fee_eats_edge = kelly_count(
        bankroll_cents=1_000_000,
        p_win=0.51,
        price=Decimal("0.5"),
        fee_per_contract=Decimal("0.02"),
        kelly_fraction=Decimal("0.25"),
        max_position_pct=Decimal("1"),
        max_position_cents=10**9,
    )
    assert fee_eats_edge == 0


def test_kelly_sizes_on_the_fee_inclusive_price() -> None:
    """A 5¢ contract with a 1¢ fee and p = 0.10: Kelly on q = 0.06, 0.25 × 0.04 / (0.06 × 0.94) = 0.1773 contracts
    per bankroll dollar -> 1,773 contracts on $10,000. On the bare price (0.05 × 0.95) it would buy 2,105."""
    count = kelly_count(
        bankroll_cents=1_000_000,
        p_win=0.10,
        price=Decimal("0.05"),
        fee_per_contract=Decimal("0.01"),
        kelly_fraction=Decimal("0.25"),
        max_position_pct=Decimal("1"),
        max_position_cents=10**9,
    )
    assert count == 177_300
    # Full Kelly stakes (p − q) / (1 − q) of the bankroll at cost q a contract (fees included).
    full = kelly_count(
        bankroll_cents=1_000_000,
        p_win=0.10,
        price=Decimal("0.05"),
        fee_per_contract=Decimal("0.01"),
        kelly_fraction=Decimal(1),
        max_position_pct=Decimal("1"),
        max_position_cents=10**9,
        lot_centi=1,
    )
    stake_cents = Decimal(full) * Decimal("0.06")
    assert abs(stake_cents - Decimal(1_000_000) * Decimal("0.04") / Decimal("0.94")) < Decimal("0.06")


@given(
    p=st.floats(min_value=0, max_value=1),
    cents=st.integers(min_value=1, max_value=99),
    contracts=st.integers(min_value=1, max_value=5_000),
    fee_cents=st.integers(min_value=0, max_value=10_000),
)
def test_a_binary_is_the_bracket_from_price_to_one_or_zero(
    p: float, cents: int, contracts: int, fee_cents: int
) -> None:
    """Edge in points means the same on both kinds: a binary contract is a bracket entered at its price with TP 1,
    SL 0 and the fee as its costs, and both give p − price − fee per contract."""
    price = Decimal(cents) / 100
    binary = binary_edge("yes", p, price, fee_cents, contracts * 100)
    bracket = bracket_ev("long", p, price, Decimal(1), Decimal(0), contracts, fee_cents)
    rounding = Decimal("1e-24")  # the two divide in a different order at 28 significant digits
    assert abs(bracket.edge - binary.edge) < rounding
    assert abs(bracket.p_breakeven - (price + binary.fee_per_contract)) < rounding


def test_risk_units() -> None:
    # 1% of $10,000 = $100 risk; stop 20 pips (0.0020) -> 50,000 units; margin 2% of 55,000 = $1,100 > $500 cap.
    units = risk_units(
        bankroll_cents=1_000_000,
        risk_per_trade_pct=Decimal("0.01"),
        entry=Decimal("1.1000"),
        stop_loss=Decimal("1.0980"),
        max_position_pct=Decimal("1"),
        max_position_cents=10**9,
        margin_rate=Decimal("0.02"),
    )
    assert units == 50_000
    capped = risk_units(
        bankroll_cents=1_000_000,
        risk_per_trade_pct=Decimal("0.01"),
        entry=Decimal("1.1000"),
        stop_loss=Decimal("1.0980"),
        max_position_pct=Decimal("0.05"),
        max_position_cents=50_000,
        margin_rate=Decimal("0.02"),
    )
    assert capped == 22_727  # $500 / (1.10 × 0.02)
    assert position_cost_cents(capped, Decimal("1.1000"), margin_rate=Decimal("0.02")) <= 50_000
    shares = risk_units(
        bankroll_cents=1_000_000,
        risk_per_trade_pct=Decimal("0.01"),
        entry=Decimal("200"),
        stop_loss=Decimal("195"),
        max_position_pct=Decimal("0.05"),
        max_position_cents=50_000,
    )
    assert shares == 2  # by risk 20 shares, by the $500 cap 2


money = st.integers(min_value=-(10**9), max_value=10**11)
pct = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1), places=4)


@given(
    bankroll=money,
    p=st.floats(min_value=0, max_value=1),
    price=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.999"), places=3),
    fee=st.decimals(min_value=Decimal(0), max_value=Decimal("0.05"), places=4),
    f=pct,
    max_pct=pct,
    max_cents=st.integers(min_value=1, max_value=10**9),
    lot=st.sampled_from([1, 100]),
)
def test_kelly_never_exceeds_a_cap(
    bankroll: int, p: float, price: Decimal, fee: Decimal, f: Decimal, max_pct: Decimal, max_cents: int, lot: int
) -> None:
    count = kelly_count(
        bankroll_cents=bankroll,
        p_win=p,
        price=price,
        fee_per_contract=fee,
        kelly_fraction=f,
        max_position_pct=max_pct,
        max_position_cents=max_cents,
        lot_centi=lot,
    )
    assert count >= 0 and count % lot == 0
    cost = binary_cost_cents(count, price)
    assert cost <= max_cents
    assert cost <= max(0, bankroll) * max_pct
    assert cost <= position_cap_cents(bankroll, max_pct, max_cents)


@given(
    bankroll=money,
    risk=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.1"), places=4),
    entry=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("5000"), places=4),
    stop_offset=st.decimals(min_value=Decimal("-50"), max_value=Decimal("50"), places=4),
    max_pct=pct,
    max_cents=st.integers(min_value=1, max_value=10**9),
    margin=st.sampled_from([Decimal(1), Decimal("0.02"), Decimal("0.05")]),
)
def test_risk_units_never_exceed_a_cap(
    bankroll: int,
    risk: Decimal,
    entry: Decimal,
    stop_offset: Decimal,
    max_pct: Decimal,
    max_cents: int,
    margin: Decimal,
) -> None:
    units = risk_units(
        bankroll_cents=bankroll,
        risk_per_trade_pct=risk,
        entry=entry,
        stop_loss=entry + stop_offset,
        max_position_pct=max_pct,
        max_position_cents=max_cents,
        margin_rate=margin,
    )
    assert units >= 0
    cost = position_cost_cents(units, entry, margin_rate=margin)
    assert cost <= position_cap_cents(bankroll, max_pct, max_cents)
    if units:
        # The loss at the stop stays within the risk budget.
        assert units * abs(stop_offset) * 100 <= bankroll * risk
