"""OandaVenue against recorded v20 payloads: spec-valid order bodies, SL/TP, the @clientID path after a timeout."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from shared.http import MalformedResponseError
from shared.venues.base import AuthError, NotFoundError, OrderRejected, OrderRequest, Venue, VenueError
from shared.venues.oanda.config import OandaConfig
from shared.venues.oanda.execution import OandaVenue

Payload = Callable[[str], Any]
Validate = Callable[[str, Any], None]
BodyValidate = Callable[[str, str, Any], None]
COID = "01JTESTCOID0000000000000000"


def _long(**changes: Any) -> OrderRequest:
    fields: dict[str, Any] = {
        "client_order_id": COID,
        "symbol": "EUR_USD",
        "side": "long",
        "intent": "open",
        "quantity": 10000,
        "time_in_force": "fok",
        "stop_loss": Decimal("1.081"),
        "take_profit": Decimal("1.089"),
    }
    fields.update(changes)
    return OrderRequest(**fields)


@pytest.mark.parametrize(
    ("name", "path", "definition"),
    [
        ("pricing", ("prices", 0), "ClientPrice"),
        ("candles", ("candles", 0), "Candlestick"),
        ("order_filled", ("orderCreateTransaction",), "MarketOrderTransaction"),
        ("order_filled", ("orderFillTransaction",), "OrderFillTransaction"),
        ("order_cancelled", ("orderCancelTransaction",), "OrderCancelTransaction"),
        ("order_rejected", ("orderRejectTransaction",), "MarketOrderRejectTransaction"),
        ("order_lookup_filled", ("order",), "MarketOrder"),
        ("open_trades", ("trades", 0), "Trade"),
        ("open_trades", ("trades", 1), "Trade"),
        ("trade_closed", ("trade",), "Trade"),
        ("trade_close", ("orderFillTransaction",), "OrderFillTransaction"),
        ("summary", ("account",), "AccountSummary"),
    ],
)
def test_recorded_payloads_match_spec(
    name: str, path: tuple[Any, ...], definition: str, payload: Payload, spec_validate: Validate
) -> None:
    node = payload(name)
    for key in path:
        node = node[key]
    spec_validate(definition, node)


def test_is_a_venue_with_bearer_auth_in_header(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    assert isinstance(venue, Venue)
    route = mock.get("/pricing").mock(return_value=httpx.Response(200, json=payload("pricing")))
    quote = venue.quote("EUR_USD")
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer tok-SECRET-123"
    assert "tok-SECRET" not in str(request.url)
    assert request.url.params["instruments"] == "EUR_USD"
    assert (quote.bid, quote.ask, quote.bid_size) == (Decimal("1.08412"), Decimal("1.08425"), 1000000)
    book = venue.orderbook("EUR_USD", 1)
    assert [level.price for level in book.bids] == [Decimal("1.08412")]
    assert [level.price for level in book.asks] == [Decimal("1.08425")]


def test_candles_drop_incomplete(venue: OandaVenue, payload: Payload) -> None:
    with respx.mock(base_url="https://oanda.test/v3") as router:
        route = router.get("/instruments/EUR_USD/candles").mock(
            return_value=httpx.Response(200, json=payload("candles"))
        )
        candles = venue.candles("EUR_USD", 3600, 2)
    params = route.calls.last.request.url.params
    assert (params["granularity"], params["price"], params["count"]) == ("H1", "M", "3")
    assert [c.start for c in candles] == [datetime(2026, 3, 2, 11, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC)]
    assert all(c.complete for c in candles) and candles[-1].close == Decimal("1.08420")
    with pytest.raises(ValueError):
        venue.candles("EUR_USD", 7, 2)


def test_market_order_with_sl_tp_matches_spec(
    venue: OandaVenue, mock: respx.MockRouter, payload: Payload, spec_validate: Validate, body_validate: BodyValidate
) -> None:
    route = mock.post("/orders").mock(return_value=httpx.Response(201, json=payload("order_filled")))
    result = venue.place_order(_long())
    body = json.loads(route.calls.last.request.content)
    spec_validate("MarketOrderRequest", body["order"])
    body_validate("/accounts/{accountID}/orders", "post", body)
    order = body["order"]
    assert order["type"] == "MARKET" and order["units"] == "10000" and order["timeInForce"] == "FOK"
    assert order["stopLossOnFill"] == {"price": "1.08100", "timeInForce": "GTC"}
    assert order["takeProfitOnFill"] == {"price": "1.08900", "timeInForce": "GTC"}
    assert order["clientExtensions"]["id"] == COID and order["tradeClientExtensions"]["id"] == COID
    assert (result.status, result.filled_quantity, result.avg_fill_price) == ("filled", 10000, Decimal("1.08425"))
    assert result.venue_order_id == "6356"


def test_short_is_negative_units_and_jpy_precision(
    venue: OandaVenue, mock: respx.MockRouter, payload: Payload, spec_validate: Validate
) -> None:
    route = mock.post("/orders").mock(return_value=httpx.Response(201, json=payload("order_filled")))
    venue.place_order(_long(symbol="USD_JPY", side="short", stop_loss=Decimal("150.31234"), take_profit=None))
    order = json.loads(route.calls.last.request.content)["order"]
    spec_validate("MarketOrderRequest", order)
    assert order["units"] == "-10000"
    assert order["stopLossOnFill"]["price"] == "150.312"
    assert "takeProfitOnFill" not in order


def test_cancelled_fok_is_reported_with_reason(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.post("/orders").mock(return_value=httpx.Response(201, json=payload("order_cancelled")))
    result = venue.place_order(_long())
    assert (result.status, result.filled_quantity, result.reason) == ("cancelled", 0, "BOUNDS_VIOLATION")


def test_reject_is_typed_with_reason(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.post("/orders").mock(return_value=httpx.Response(400, json=payload("order_rejected")))
    with pytest.raises(OrderRejected, match="STOP_LOSS_ON_FILL_PRICE_PRECISION_EXCEEDED"):
        venue.place_order(_long())


def test_timeout_then_found_by_client_id_is_not_resent(
    venue: OandaVenue, mock: respx.MockRouter, payload: Payload
) -> None:
    create = mock.post("/orders").mock(side_effect=httpx.ReadTimeout("venue slow"))
    lookup = mock.get(f"/orders/@{COID}").mock(return_value=httpx.Response(200, json=payload("order_lookup_filled")))
    mock.get("/transactions/6357").mock(return_value=httpx.Response(200, json=payload("transaction_fill")))
    result = venue.place_order(_long())
    assert create.call_count == 1  # never resent: OANDA had it
    assert lookup.called and lookup.calls.last.request.url.raw_path.endswith(f"/orders/@{COID}".encode())
    assert (result.status, result.filled_quantity, result.avg_fill_price) == ("filled", 10000, Decimal("1.08425"))


def test_timeout_then_unknown_is_resent_once(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    create = mock.post("/orders").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(201, json=payload("order_filled"))]
    )
    lookup = mock.get(f"/orders/@{COID}").mock(
        return_value=httpx.Response(404, json={"errorMessage": "The order ID specified does not exist"})
    )
    result = venue.place_order(_long())
    assert create.call_count == 2 and lookup.call_count == 1
    assert result.status == "filled"


def test_timeouts_every_time_raise_retryable(venue: OandaVenue, mock: respx.MockRouter) -> None:
    mock.post("/orders").mock(side_effect=httpx.ReadTimeout("lost"))
    mock.get(f"/orders/@{COID}").mock(return_value=httpx.Response(404, json={"errorMessage": "no such order"}))
    with pytest.raises(VenueError, match="timed out") as info:
        venue.place_order(_long())
    assert info.value.retryable


def test_open_trades_as_positions(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.get("/openTrades").mock(return_value=httpx.Response(200, json=payload("open_trades")))
    long, short = venue.positions()
    assert (long.symbol, long.side, long.quantity, long.venue_position_id) == ("EUR_USD", "long", 10000, "6357")
    assert (long.stop_loss, long.take_profit, long.client_order_id) == (Decimal("1.081"), Decimal("1.089"), COID)
    assert (short.side, short.quantity, short.stop_loss) == ("short", 5000, None)


def test_close_trade_by_id(
    venue: OandaVenue, mock: respx.MockRouter, payload: Payload, body_validate: BodyValidate
) -> None:
    route = mock.put("/trades/6357/close").mock(return_value=httpx.Response(200, json=payload("trade_close")))
    result = venue.close_position("EUR_USD", "close-1", "6357")
    body = json.loads(route.calls.last.request.content)
    body_validate("/accounts/{accountID}/trades/{tradeSpecifier}/close", "put", body)
    assert body == {"units": "ALL"}
    assert (result.status, result.filled_quantity, result.avg_fill_price) == ("filled", 10000, Decimal("1.085"))


def test_close_timeout_confirms_before_resending(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    close = mock.put("/trades/6357/close").mock(side_effect=httpx.ReadTimeout("slow"))
    mock.get("/trades/6357").mock(return_value=httpx.Response(200, json=payload("trade_closed")))
    result = venue.close_position("EUR_USD", "close-1", "6357")
    assert close.call_count == 1
    assert (result.status, result.avg_fill_price) == ("filled", Decimal("1.085"))


def test_close_by_symbol_finds_trades(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.get("/openTrades").mock(return_value=httpx.Response(200, json=payload("open_trades")))
    route = mock.put("/trades/6357/close").mock(return_value=httpx.Response(200, json=payload("trade_close")))
    venue.close_position("EUR_USD", "close-1")
    assert route.called
    with pytest.raises(NotFoundError):
        venue.close_position("GBP_USD", "close-2")


def test_fills_follow_pages(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    pages = mock.get("/transactions").mock(return_value=httpx.Response(200, json=payload("transaction_pages")))
    page = mock.get("/transactions/idrange").mock(return_value=httpx.Response(200, json=payload("transactions_page")))
    fills = venue.fills(datetime(2026, 3, 1, tzinfo=UTC))
    assert pages.calls.last.request.url.params["type"] == "ORDER_FILL"
    assert page.calls.last.request.url.params["from"] == "6357"
    assert [(f.side, f.intent, f.quantity, f.price) for f in fills] == [
        ("long", "open", 10000, Decimal("1.08425")),
        ("long", "close", 10000, Decimal("1.08500")),  # the close of the long
    ]
    assert fills[0].client_order_id == COID


def test_balance_in_cents_and_no_settlements(venue: OandaVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.get("/summary").mock(return_value=httpx.Response(200, json=payload("summary")))
    balance = venue.balance()
    assert (balance.cash_cents, balance.portfolio_value_cents) == (10_000_012, 9_999_882)
    assert venue.settlements() == []


def test_error_paths(venue: OandaVenue, mock: respx.MockRouter, payload: Payload, sleeps: list[float]) -> None:
    mock.get("/summary").mock(
        side_effect=[
            httpx.Response(503, text="busy"),
            httpx.Response(429),
            httpx.Response(200, json=payload("summary")),
        ]
    )
    assert venue.balance().cash_cents == 10_000_012
    assert len(sleeps) == 2
    mock.get("/openTrades").mock(
        return_value=httpx.Response(401, json={"errorMessage": "Insufficient authorization to perform request."})
    )
    with pytest.raises(AuthError) as info:
        venue.positions()
    assert "tok-SECRET" not in str(info.value)
    mock.get("/pricing").mock(return_value=httpx.Response(200, json={"prices": [{"instrument": "EUR_USD"}]}))
    with pytest.raises(MalformedResponseError, match="time"):
        venue.quote("EUR_USD")
    with pytest.raises(NotFoundError):
        venue.instrument("XAU_USD")


def test_invalid_requests_never_reach_the_wire(venue: OandaVenue, mock: respx.MockRouter) -> None:
    route = mock.post("/orders")
    with pytest.raises(OrderRejected, match="side_yes"):
        venue.place_order(_long(side="yes"))
    with pytest.raises(OrderRejected, match="time_in_force_gtc"):
        venue.place_order(_long(time_in_force="gtc"))
    assert not route.called


def test_config_base_urls(settings: Any) -> None:
    practice = OandaConfig.from_settings(settings.model_copy(update={"oanda_base_url": None}))
    live = OandaConfig.from_settings(settings.model_copy(update={"oanda_base_url": None, "oanda_env": "live"}))
    assert practice.base_url == "https://api-fxpractice.oanda.com/v3"
    assert live.base_url == "https://api-fxtrade.oanda.com/v3"
    assert "tok-SECRET" not in repr(practice)


def test_gateway_5xx_on_order_reconciles_instead_of_resending(
    venue: OandaVenue, mock: respx.MockRouter, payload: Payload
) -> None:
    create = mock.post("/orders").mock(return_value=httpx.Response(502, text="Bad Gateway"))
    mock.get(f"/orders/@{COID}").mock(return_value=httpx.Response(200, json=payload("order_lookup_filled")))
    mock.get("/transactions/6357").mock(return_value=httpx.Response(200, json=payload("transaction_fill")))
    assert venue.place_order(_long()).status == "filled"
    assert create.call_count == 1


def test_body_validator_rejects_off_spec_bodies(body_validate: BodyValidate, spec_validate: Validate) -> None:
    import jsonschema

    # The operation's body is {"order": OrderRequest} with an open base type, so the order itself is checked
    # against MarketOrderRequest (as test_market_order_with_sl_tp_matches_spec does).
    with pytest.raises(jsonschema.ValidationError):
        body_validate("/accounts/{accountID}/orders", "post", {"order": "MARKET"})
    with pytest.raises(jsonschema.ValidationError):
        spec_validate("MarketOrderRequest", {"type": "MARKET", "units": 10000})
    with pytest.raises(jsonschema.ValidationError):
        body_validate("/accounts/{accountID}/trades/{tradeSpecifier}/close", "put", {"units": 5})


@pytest.mark.parametrize(
    ("side", "intent", "units", "position_fill", "bracketed"),
    [
        ("long", "open", "10000", "DEFAULT", True),
        ("short", "open", "-10000", "DEFAULT", True),  # a short entry sells: never a reducing buy
        ("long", "close", "-10000", "REDUCE_ONLY", False),
        ("short", "close", "10000", "REDUCE_ONLY", False),
    ],
)
def test_units_and_position_fill_follow_side_and_intent(
    venue: OandaVenue, spec_validate: Validate, side: str, intent: str, units: str, position_fill: str, bracketed: bool
) -> None:
    order = venue.build_order(_long(side=side, intent=intent, limit_price=Decimal("1.08400")))
    spec_validate("MarketOrderRequest", order)
    assert (order["units"], order["positionFill"]) == (units, position_fill)
    assert order["priceBound"] == "1.08400"
    # Brackets and the trade's client id belong to the trade an order opens; a reducing order has none.
    assert ("stopLossOnFill" in order, "takeProfitOnFill" in order, "tradeClientExtensions" in order) == (
        (bracketed,) * 3
    )
