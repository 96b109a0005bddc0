"""FX pair parsing and conversion to USD: one home (shared/money/fx.py), Decimal only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money.fx import (
    MissingRate,
    NotAPair,
    base_unit_usd,
    is_pair,
    quote_to_usd,
    quote_unit_usd,
    split_pair,
    usd_rate_pair,
)


def test_split_pair_accepts_oanda_and_slash_spellings_only() -> None:
    assert split_pair("EUR_USD") == ("EUR", "USD")
    assert split_pair("usd/jpy") == ("USD", "JPY")
    for bad in ("AAPL", "EURUSD", "EUR_US", "EUR_USD_X", "KXHIGHNY-25DEC27-B31.5", "12_345", ""):
        with pytest.raises(NotAPair):
            split_pair(bad)
        assert not is_pair(bad)
    assert is_pair("GBP_USD")


def test_which_rate_a_conversion_needs() -> None:
    assert usd_rate_pair("EUR_USD") is None
    assert usd_rate_pair("USD_JPY") is None
    assert usd_rate_pair("EUR_JPY") == "USD_JPY"
    assert usd_rate_pair("EUR_GBP") == "USD_GBP"


def test_quote_currency_amounts_in_usd() -> None:
    # EUR_USD: P&L is in USD already.
    assert quote_to_usd(Decimal("25.00"), "EUR_USD", Decimal("1.10250")) == Decimal("25.00")
    # USD_JPY short 10,000 from 150 to 149: +10,000 JPY at 149 = $67.114...
    usd = quote_to_usd(Decimal(10_000), "USD_JPY", Decimal("149.000"))
    assert usd == Decimal(10_000) / Decimal(149)
    # EUR_JPY: 1,500 JPY through USD_JPY at 150 = $10.
    assert quote_to_usd(Decimal(1_500), "EUR_JPY", Decimal("162.5"), usd_quote_rate=Decimal(150)) == Decimal(10)
    with pytest.raises(MissingRate):
        quote_to_usd(Decimal(1_500), "EUR_JPY", Decimal("162.5"))
    with pytest.raises(MissingRate):
        quote_to_usd(Decimal(1_500), "EUR_JPY", Decimal("162.5"), usd_quote_rate=Decimal(0))
    with pytest.raises(ValueError):
        quote_to_usd(Decimal(1), "USD_JPY", Decimal(0))


def test_one_base_unit_in_usd_is_the_notional_per_unit() -> None:
    assert base_unit_usd("USD_JPY", Decimal("150.123")) == 1
    assert base_unit_usd("EUR_USD", Decimal("1.08425")) == Decimal("1.08425")
    # EUR_JPY at 162 with USD_JPY at 150: one euro is 162 / 150 = $1.08.
    assert base_unit_usd("EUR_JPY", Decimal(162), usd_quote_rate=Decimal(150)) == Decimal("1.08")
    assert quote_unit_usd("EUR_USD", Decimal("1.1")) == 1


prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("200"), places=5)


@given(price=prices, amount=st.decimals(min_value=-10**6, max_value=10**6, places=2))
def test_a_usd_based_pair_converts_at_its_own_price(price: Decimal, amount: Decimal) -> None:
    # Converting back with the same rate returns the amount: no float, no rounding beyond Decimal's precision.
    usd = quote_to_usd(amount, "USD_CAD", price)
    assert abs(usd * price - amount) < Decimal("1e-15")
