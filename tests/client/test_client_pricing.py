"""Sizing and instrument arithmetic: stakes to quantities, costs, fees and P&L, exact in integer cents."""

from __future__ import annotations

from decimal import Decimal

import pytest

from client.config import SizingSection
from client.pricing import (
    FeeTerms,
    UnsupportedInstrument,
    binary_payout_pnl,
    bracket_pnl,
    cost_cents,
    fee_cents,
    quantity_for_stake,
)
from client.sizing import size, stake_for

FEES = FeeTerms(stock_per_share=Decimal("0.005"), stock_min_cents=100, stock_max_pct=Decimal("0.01"),
                fx_per_million_cents=0)


def test_binary_whole_contracts_and_cost() -> None:
    # $10.00 at $0.42 buys 23 contracts ($9.66); quantities are centi-contracts.
    assert quantity_for_stake("kalshi_st", "KX", Decimal("0.42"), 1_000) == 2_300
    assert cost_cents("kalshi_st", "KX", Decimal("0.42"), 2_300) == 966
    assert quantity_for_stake("kalshi_lt", "KX", Decimal("0.42"), 41) == 0


def test_kalshi_fee_is_the_shared_fee_function() -> None:
    # 100 contracts at $0.10: 0.07 × 100 × 0.1 × 0.9 = $0.63 exactly (a float version says $0.64).
    assert fee_cents("kalshi_st", "KX", Decimal("0.10"), 10_000, FEES) == 63


def test_stock_commission_minimum_per_share_and_cap() -> None:
    assert fee_cents("stocks", "AAPL", Decimal("190.00"), 10, FEES) == 100  # minimum $1
    assert fee_cents("stocks", "AAPL", Decimal("10.00"), 1_000, FEES) == 500  # $0.005/sh
    assert fee_cents("stocks", "AAPL", Decimal("0.50"), 10_000, FEES) == 5_000  # 1% cap
    # Where 1% of the value is below the minimum, IBKR charges the 1%: 10 shares at $5 pay 50 cents, not $1.
    assert fee_cents("stocks", "AAPL", Decimal("5.00"), 10, FEES) == 50


def test_fx_quantities_need_usd_on_one_side() -> None:
    assert quantity_for_stake("fx", "EUR_USD", Decimal("1.10000"), 110_000) == 1_000
    assert quantity_for_stake("fx", "USD_JPY", Decimal("150.000"), 100_000) == 1_000
    with pytest.raises(UnsupportedInstrument):
        quantity_for_stake("fx", "EUR_GBP", Decimal("0.85"), 100_000)


def test_binary_payouts() -> None:
    assert binary_payout_pnl(2_300, Decimal("0.42"), "win") == 2_300 - 966
    assert binary_payout_pnl(2_300, Decimal("0.42"), "loss") == -966
    assert binary_payout_pnl(2_300, Decimal("0.42"), "void") == 0


def test_bracket_pnl_converts_quote_currency_to_usd() -> None:
    # Long 10,000 EUR_USD from 1.10000 to 1.10250: +$25.00.
    assert bracket_pnl("EUR_USD", "fx", "long", 10_000, Decimal("1.10000"), Decimal("1.10250")) == 2_500
    # Short 10,000 USD_JPY from 150.000 to 149.000: +10,000 JPY = $67.11 at 149.
    assert bracket_pnl("USD_JPY", "fx", "short", 10_000, Decimal("150.000"), Decimal("149.000")) == 6_711
    # Long 10 shares 100.00 -> 95.00: −$50.00.
    assert bracket_pnl("AAPL", "stocks", "long", 10, Decimal("100.00"), Decimal("95.00")) == -5_000


def test_size_rules_and_caps(make_signal) -> None:
    signal = make_signal(size_fraction=Decimal("0.02"), limit_price=Decimal("0.40"))
    fixed = SizingSection(rule="fixed", fixed_cents=1_000)
    assert stake_for(fixed, signal, 100_000, 0) == (1_000, "")
    fraction = SizingSection(rule="bankroll_fraction", bankroll_fraction=Decimal("0.03"))
    assert stake_for(fraction, signal, 100_000, 0) == (3_000, "")
    multiple = SizingSection(rule="operator_multiple", operator_multiple=Decimal("2"), max_cents_per_signal=3_000)
    assert stake_for(multiple, signal, 100_000, 0) == (3_000, "capped per signal")  # 2 × 0.02 × $1,000 = $40
    daily = SizingSection(rule="fixed", fixed_cents=1_000, max_cents_per_day=2_500)
    assert stake_for(daily, signal, 100_000, 2_000) == (500, "capped per day")
    assert stake_for(daily, signal, 100_000, 2_500) == (0, "capped per day")


def test_size_uses_the_worst_acceptable_price_so_cost_stays_within_the_stake(make_signal) -> None:
    signal = make_signal(limit_price=Decimal("0.40"))
    rule = SizingSection(rule="fixed", fixed_cents=1_000, max_slippage_binary=Decimal("0.02"))
    decision = size(rule, signal, equity_cents=100_000, staked_today_cents=0, cash_cents=100_000)
    assert decision.worst_price == Decimal("0.42")
    assert decision.quantity == 2_300
    assert cost_cents(signal.surface, signal.instrument, decision.worst_price, decision.quantity) <= 1_000
    poor = size(rule, signal, equity_cents=100_000, staked_today_cents=0, cash_cents=300)
    assert poor.quantity == 700 and poor.reason == "limited by cash"
