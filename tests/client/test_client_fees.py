"""The client's fees are ``shared.money.fees``, for every venue, size and price: no second formula anywhere.

The expected side of each property calls the shared schedule directly with arguments written out here (the FX
notional per unit, IBKR's defaults), so a client that drifted from the shared numbers fails.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.brokers import PaperBroker
from client.config import BrokerSection
from client.engine import settle
from client.pricing import DEFAULT_SERIES_FEE, FeeTerms, SeriesFee, fee_cents
from shared.bus import Durability, JsonlLog
from shared.money.fees import fx_commission_cents, ibkr_commission_cents, kalshi_fee_cents
from shared.records import Signal
from shared.venues.base import Instrument, OrderRequest, Quote

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
FIXTURES = [HealthCheck.function_scoped_fixture]

centi_contracts = st.integers(min_value=0, max_value=10_000_000)
binary_prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.99"), places=2)
fee_types = st.sampled_from(["quadratic", "quadratic_with_maker_fees"])
multipliers = st.decimals(min_value=Decimal(0), max_value=Decimal(2), places=2)
shares = st.integers(min_value=0, max_value=1_000_000)
stock_prices = st.one_of(st.decimals(min_value=Decimal("1.00"), max_value=Decimal(5_000), places=2),
                         st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.9999"), places=4))
stock_terms = st.builds(FeeTerms,
                        stock_per_share=st.decimals(min_value=Decimal(0), max_value=Decimal("0.05"), places=4),
                        stock_min_cents=st.integers(min_value=0, max_value=500),
                        stock_max_pct=st.decimals(min_value=Decimal(0), max_value=Decimal("0.05"), places=4))
units = st.integers(min_value=0, max_value=50_000_000)
fx_prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(200), places=5)
per_million = st.integers(min_value=0, max_value=10_000)


@given(count=centi_contracts, price=binary_prices, fee_type=fee_types, multiplier=multipliers,
       surface=st.sampled_from(["kalshi_st", "kalshi_lt"]))
def test_kalshi_fee_is_the_series_schedule(count: int, price: Decimal, fee_type: Any, multiplier: Decimal,
                                           surface: str) -> None:
    series = SeriesFee(fee_type, multiplier)
    assert fee_cents(surface, "KX", price, count, FeeTerms(), series=series) == kalshi_fee_cents(
        count, price * 100, fee_type=fee_type, fee_multiplier=multiplier)


@given(count=centi_contracts, price=binary_prices)
def test_kalshi_without_a_series_uses_the_shared_default_schedule(count: int, price: Decimal) -> None:
    assert SeriesFee("quadratic", Decimal(1)) == DEFAULT_SERIES_FEE
    assert fee_cents("kalshi_st", "KX", price, count, FeeTerms()) == kalshi_fee_cents(count, price * 100)


@given(quantity=shares, price=stock_prices, terms=stock_terms)
def test_stock_commission_is_ibkr_fixed(quantity: int, price: Decimal, terms: FeeTerms) -> None:
    assert fee_cents("stocks", "AAPL", price, quantity, terms) == ibkr_commission_cents(
        quantity, price, per_share=terms.stock_per_share, minimum_cents=terms.stock_min_cents,
        max_pct_of_value=terms.stock_max_pct)
    # With the client's default config, IBKR's own published rate.
    assert fee_cents("stocks", "AAPL", price, quantity, FeeTerms.of(BrokerSection())) == ibkr_commission_cents(
        quantity, price)


@given(quantity=units, price=fx_prices, pm=per_million,
       pair=st.sampled_from(["EUR_USD", "GBP_USD", "AUD_USD", "NZD_USD", "USD_JPY", "USD_CHF", "USD_CAD"]))
def test_fx_commission_is_per_million_of_usd_notional(quantity: int, price: Decimal, pm: int, pair: str) -> None:
    usd_per_base_unit = price if pair.endswith("_USD") else Decimal(1)
    assert fee_cents("fx", pair, price, quantity, FeeTerms(fx_per_million_cents=pm)) == fx_commission_cents(
        quantity, base_to_account=usd_per_base_unit, per_million_cents=pm)


def test_ibkr_ten_shares_at_five_dollars_pay_one_percent_not_the_minimum() -> None:
    # The copy the client used to keep charged the $1.00 minimum here; IBKR caps it at 1% of the value.
    assert fee_cents("stocks", "AAPL", Decimal("5.00"), 10, FeeTerms.of(BrokerSection())) == 50


def test_the_client_s_default_terms_are_the_shared_schedules() -> None:
    assert FeeTerms.of(BrokerSection()) == FeeTerms()


def _paper(folder: Path, quote: Quote, instrument: Instrument | None) -> PaperBroker:
    return PaperBroker(JsonlLog(folder / "paper.jsonl", Durability.FSYNC), BrokerSection(),
                       quotes=lambda _signal: quote, instruments=lambda _signal: instrument, now=lambda: AT)


def _market(symbol: str, fee_type: str, multiplier: Decimal) -> Instrument:
    return Instrument("sim", symbol, "binary", symbol, "weather", symbol, fee_type=fee_type,
                      fee_multiplier=multiplier)


@settings(max_examples=40, suppress_health_check=FIXTURES, deadline=None)
@given(contracts=st.integers(min_value=1, max_value=5_000), ask=binary_prices, fee_type=fee_types,
       multiplier=multipliers)
def test_paper_broker_charges_the_market_s_series_fee(make_signal: Any, contracts: int, ask: Decimal,
                                                     fee_type: str, multiplier: Decimal) -> None:
    bid = max(Decimal("0.01"), ask - Decimal("0.01"))
    signal: Signal = make_signal(instrument="KXA", side="yes", limit_price=ask)
    with tempfile.TemporaryDirectory() as folder:
        broker = _paper(Path(folder), Quote("KXA", AT, bid=bid, ask=ask), _market("KXA", fee_type, multiplier))
        result = broker.place(OrderRequest("c", "KXA", "yes", "open", contracts * 100, ask), signal)
    assert (result.status, result.avg_fill_price) == ("filled", ask)
    assert result.fees_cents == kalshi_fee_cents(contracts * 100, ask * 100, fee_type=fee_type,
                                                 fee_multiplier=multiplier)


def test_paper_broker_ignores_another_market_s_schedule_and_refuses_an_unpriceable_one(
    make_signal: Any, tmp_path: Path
) -> None:
    signal: Signal = make_signal(instrument="KXA", side="yes", limit_price=Decimal("0.41"))
    quote = Quote("KXA", AT, bid=Decimal("0.40"), ask=Decimal("0.41"))
    # A source answering for another market: Kalshi's standard schedule, stated explicitly.
    (tmp_path / "other").mkdir()
    other = _paper(tmp_path / "other", quote, _market("KXB", "quadratic", Decimal("0.5")))
    result = other.place(OrderRequest("c1", "KXA", "yes", "open", 1_000, Decimal("0.41")), signal)
    assert result.fees_cents == kalshi_fee_cents(1_000, 41) == 17  # 0.07 × 10 × 0.41 × 0.59 = 0.169
    # A flat-fee series needs its own table (shared.money.fees refuses it): no paper fill at an invented fee.
    (tmp_path / "flat").mkdir()
    flat = _paper(tmp_path / "flat", quote, _market("KXA", "flat", Decimal(1)))
    refused = flat.place(OrderRequest("c2", "KXA", "yes", "open", 1_000, Decimal("0.41")), signal)
    assert refused.status == "rejected" and "flat" in refused.reason


def test_paper_stock_fill_and_exit_use_the_shared_commission(make_signal: Any, make_config: Any,
                                                             tmp_path: Path) -> None:
    signal: Signal = make_signal(surface="stocks", instrument="F", side="long", limit_price=Decimal("5.00"),
                                 stop_loss=Decimal("4.50"), take_profit=Decimal("5.50"))
    broker = _paper(tmp_path, Quote("F", AT, bid=Decimal("4.99"), ask=Decimal("5.00")), None)
    entry = broker.place(OrderRequest("c", "F", "long", "open", 10, Decimal("5.01")), signal)
    assert entry.fees_cents == ibkr_commission_cents(10, Decimal("5.00")) == 50
    gross, exit_fees, exit_price = settle(signal, 10, Decimal("5.00"), "win", {}, make_config())
    assert (gross, exit_price) == (500, Decimal("5.50"))
    assert exit_fees == ibkr_commission_cents(10, Decimal("5.50")) == 55
