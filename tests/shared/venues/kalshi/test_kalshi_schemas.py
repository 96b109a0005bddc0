"""Exact parsing of Kalshi's fixed-point strings, and every recorded payload matches the 3.15.0 spec."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from shared.http import MalformedResponseError
from shared.venues.kalshi import schemas as w

RESPONSES = {
    "markets_page1": "GetMarketsResponse",
    "markets_page2": "GetMarketsResponse",
    "market": "GetMarketResponse",
    "series": "GetSeriesResponse",
    "event": "GetEventResponse",
    "orderbook": "GetMarketOrderbookResponse",
    "order_executed": "CreateOrderResponse",
    "order_partial_ioc": "GetOrderResponse",
    "orders": "GetOrdersResponse",
    "order_v2": "CreateOrderV2Response",
    "positions": "GetPositionsResponse",
    "fills": "GetFillsResponse",
    "settlements": "GetSettlementsResponse",
    "balance": "GetBalanceResponse",
    "candlesticks": "GetMarketCandlesticksResponse",
}


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_recorded_payloads_match_spec(
    name: str, payload: Callable[[str], Any], spec_validate: Callable[[str, Any], None]
) -> None:
    spec_validate(RESPONSES[name], payload(name))


def test_dollars_parse_exactly() -> None:
    assert w.parse_dollars("0.5600") == Decimal("0.56")
    assert w.parse_dollars("0.123456") == Decimal("0.123456")
    assert w.dollars_to_cents_up(w.parse_dollars("0.5600")) == 56
    assert w.dollars_to_cents_up(Decimal("0.0410")) == 5  # fees round up, never down
    for bad in ("0.1234567", "1e-2", "", "0,56", " 0.56", "NaN"):
        with pytest.raises(ValueError):
            w.parse_dollars(bad)
    with pytest.raises(ValueError):
        w.parse_dollars(0.56)  # a float on the wire is malformed, not rounded


def test_counts_parse_into_centi_contracts() -> None:
    assert w.parse_fp("10.00") == 1000
    assert w.parse_fp("2.5") == 250
    assert w.parse_fp("-10.00") == -1000
    assert w.format_fp(1050) == "10.50"
    for bad in ("1.005", "ten", "10.", 10):
        with pytest.raises(ValueError):
            w.parse_fp(bad)
    with pytest.raises(ValueError):
        w.format_fp(0)


def test_format_dollars_rejects_out_of_range_and_excess_precision() -> None:
    assert w.format_dollars(Decimal("0.56")) == "0.5600"
    for bad in (Decimal(0), Decimal(1), Decimal("0.12345")):
        with pytest.raises(ValueError):
            w.format_dollars(bad)


def test_malformed_field_is_a_typed_error(payload: Callable[[str], Any]) -> None:
    body = payload("market")["market"]
    body["yes_bid_dollars"] = 0.34
    with pytest.raises(MalformedResponseError, match="yes_bid_dollars"):
        w.parse(w.WireMarket, body, "GET /markets/{ticker}")


def test_instrument_carries_series_fees_and_strikes(payload: Callable[[str], Any]) -> None:
    market = w.parse(w.WireMarket, payload("market")["market"], "m")
    series = w.parse(w.WireSeries, payload("series")["series"], "s").model_copy(
        update={"fee_type": "quadratic_with_maker_fees", "fee_multiplier": Decimal("0.5")}
    )
    instrument = w.to_instrument(market, series)
    assert instrument.symbol == "KXHIGHNY-25DEC27-B31.5"
    assert instrument.category == "weather"
    assert instrument.underlying == "KXHIGHNY-25DEC27"
    assert (instrument.fee_type, instrument.fee_multiplier) == ("quadratic_with_maker_fees", Decimal("0.5"))
    assert (instrument.strike_type, instrument.floor_strike, instrument.cap_strike) == ("between", 31, 32)
    assert instrument.status == "open" and instrument.result is None
    assert instrument.attributes["series"] == "KXHIGHNY"


def test_order_status_mapping() -> None:
    assert w.order_status(1000, 0, "executed") == "filled"
    assert w.order_status(400, 0, "canceled") == "partially_filled"
    assert w.order_status(0, 0, "canceled") == "cancelled"
    assert w.order_status(0, 1000, "resting") == "resting"
    assert w.order_status(300, 700, "resting") == "partially_filled"


def test_body_validator_rejects_off_spec_bodies(body_validate: Callable[[str, str, Any], None]) -> None:
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        body_validate("/portfolio/orders", "post", {"ticker": "X", "side": "maybe", "action": "buy"})
    with pytest.raises(jsonschema.ValidationError):
        body_validate("/portfolio/events/orders", "post", {"ticker": "X", "side": "yes", "count": "1.00"})
