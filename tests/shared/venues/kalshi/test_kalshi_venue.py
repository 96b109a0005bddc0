"""KalshiVenue against recorded payloads on respx: requests match the spec, responses parse, errors are typed."""

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
from shared.venues.base import (
    AuthError,
    NotFoundError,
    OrderRejected,
    OrderRequest,
    RateLimitedError,
    Venue,
    VenueError,
)
from shared.venues.kalshi.execution import KalshiVenue

Payload = Callable[[str], Any]
Validate = Callable[[str, Any], None]
BodyValidate = Callable[[str, str, Any], None]
TICKER = "KXHIGHNY-25DEC27-B31.5"


def _buy(side: str = "yes", price: str = "0.37", tif: str = "ioc", intent: str = "open") -> OrderRequest:
    return OrderRequest(
        client_order_id="01JTESTCOID0000000000000000",
        symbol=TICKER,
        side=side,  # type: ignore[arg-type]
        intent=intent,  # type: ignore[arg-type]
        quantity=1000,
        limit_price=Decimal(price),
        time_in_force=tif,  # type: ignore[arg-type]
    )


def _reference_data(mock: respx.MockRouter, payload: Payload) -> None:
    mock.get("/events/KXHIGHNY-25DEC27").mock(return_value=httpx.Response(200, json=payload("event")))
    mock.get("/series/KXHIGHNY").mock(return_value=httpx.Response(200, json=payload("series")))


def test_is_a_venue(venue: KalshiVenue) -> None:
    assert isinstance(venue, Venue)
    assert venue.name == "kalshi"


def test_instruments_follow_cursor_and_cache_series(
    venue: KalshiVenue, mock: respx.MockRouter, payload: Payload
) -> None:
    _reference_data(mock, payload)
    route = mock.get("/markets").mock(
        side_effect=[
            httpx.Response(200, json=payload("markets_page1")),
            httpx.Response(200, json=payload("markets_page2")),
        ]
    )
    instruments = venue.instruments("open")
    assert [i.symbol for i in instruments] == [TICKER, "KXHIGHNY-25DEC27-T36", "KXHIGHNY-25DEC27-B29.5"]
    first, second = route.calls[0].request, route.calls[1].request
    assert first.url.params["status"] == "open" and "cursor" not in first.url.params
    assert second.url.params["cursor"] == "CURSOR-PAGE-2"
    assert mock.routes[0].call_count == 1  # the event -> series lookup is cached
    settled = instruments[2]
    assert (settled.status, settled.result) == ("settled", "no")
    assert instruments[1].strike_type == "greater" and instruments[1].floor_strike == 36


def test_quote_and_orderbook(venue: KalshiVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.get(f"/markets/{TICKER}").mock(return_value=httpx.Response(200, json=payload("market")))
    mock.get(f"/markets/{TICKER}/orderbook").mock(return_value=httpx.Response(200, json=payload("orderbook")))
    quote = venue.quote(TICKER)
    assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (Decimal("0.34"), Decimal("0.37"), 12000, 4550)
    book = venue.orderbook(TICKER, depth=2)
    assert [(level.price, level.size) for level in book.bids] == [(Decimal("0.34"), 12000), (Decimal("0.33"), 1000)]
    # YES ask = 1 − best NO bid: NO bid 0.63 -> YES ask 0.37 first.
    assert [(level.price, level.size) for level in book.asks] == [(Decimal("0.37"), 4550), (Decimal("0.40"), 1500)]


def test_empty_book_sides_are_none(venue: KalshiVenue, mock: respx.MockRouter, payload: Payload) -> None:
    body = payload("market")
    body["market"].update(yes_bid_dollars="0.0000", yes_ask_dollars="1.0000")
    mock.get(f"/markets/{TICKER}").mock(return_value=httpx.Response(200, json=body))
    quote = venue.quote(TICKER)
    assert quote.bid is None and quote.ask is None and quote.mid is None


def test_candles_fall_back_to_mid_when_no_trades(venue: KalshiVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.get(f"/markets/{TICKER}").mock(return_value=httpx.Response(200, json=payload("market")))
    _reference_data(mock, payload)
    route = mock.get(f"/series/KXHIGHNY/markets/{TICKER}/candlesticks").mock(
        return_value=httpx.Response(200, json=payload("candlesticks"))
    )
    candles = venue.candles(TICKER, 3600, 2)
    assert route.calls.last.request.url.params["period_interval"] == "60"
    assert [c.start for c in candles] == [
        datetime(2025, 12, 27, 12, tzinfo=UTC),
        datetime(2025, 12, 27, 13, tzinfo=UTC),
    ]
    assert candles[0].close == Decimal("0.34")
    assert candles[1].close == (Decimal("0.34") + Decimal("0.37")) / 2
    with pytest.raises(ValueError):
        venue.candles(TICKER, 300, 2)


def test_place_order_v1_body_matches_spec_and_has_no_type(
    venue: KalshiVenue, mock: respx.MockRouter, payload: Payload, body_validate: BodyValidate
) -> None:
    route = mock.post("/portfolio/orders").mock(return_value=httpx.Response(201, json=payload("order_executed")))
    result = venue.place_order(_buy())
    body = json.loads(route.calls.last.request.content)
    body_validate("/portfolio/orders", "post", body)
    assert "type" not in body
    assert body == {
        "ticker": TICKER,
        "client_order_id": "01JTESTCOID0000000000000000",
        "side": "yes",
        "action": "buy",
        "count_fp": "10.00",
        "yes_price_dollars": "0.3700",
        "time_in_force": "immediate_or_cancel",
        "post_only": False,
    }
    assert (result.status, result.filled_quantity, result.avg_fill_price) == ("filled", 1000, Decimal("0.36"))
    assert result.fees_cents == 16
    assert result.venue_order_id == "ee4b0a1d-4c2e-4b2a-9f7e-1b5a2d3c4e5f"


def test_no_side_is_priced_on_no(
    venue: KalshiVenue, mock: respx.MockRouter, payload: Payload, spec_validate: Validate
) -> None:
    route = mock.post("/portfolio/orders").mock(return_value=httpx.Response(201, json=payload("order_partial_ioc")))
    result = venue.place_order(_buy(side="no", price="0.63", tif="gtc"))
    body = json.loads(route.calls.last.request.content)
    spec_validate("CreateOrderRequest", body)
    assert body["no_price_dollars"] == "0.6300" and "yes_price_dollars" not in body
    assert body["time_in_force"] == "good_till_canceled"
    assert (result.status, result.filled_quantity, result.fees_cents) == ("partially_filled", 400, 7)


def test_place_order_v2_uses_yes_book(
    make_venue: Callable[..., KalshiVenue], mock: respx.MockRouter, payload: Payload, body_validate: BodyValidate
) -> None:
    venue = make_venue(order_api="v2")
    route = mock.post("/portfolio/events/orders").mock(return_value=httpx.Response(201, json=payload("order_v2")))
    result = venue.place_order(_buy(side="no", price="0.37"))
    body = json.loads(route.calls.last.request.content)
    body_validate("/portfolio/events/orders", "post", body)
    # Buying NO at 0.37 is selling YES at 0.63 on the YES book.
    assert (body["side"], body["price"], body["count"]) == ("ask", "0.6300", "10.00")
    assert body["reduce_only"] is False
    assert result.status == "filled"
    assert result.avg_fill_price == Decimal("0.37")  # reported on the side we bought
    assert result.fees_cents == 17  # 0.0163 × 10 contracts = 0.163 -> 17 cents, rounded up


def test_v2_cancel_path(make_venue: Callable[..., KalshiVenue], mock: respx.MockRouter) -> None:
    venue = make_venue(order_api="v2")
    route = mock.delete("/portfolio/events/orders/abc").mock(return_value=httpx.Response(200, json={}))
    venue.cancel_order("abc")
    assert route.called


def test_invalid_orders_never_reach_the_wire(venue: KalshiVenue, mock: respx.MockRouter) -> None:
    route = mock.post("/portfolio/orders")
    with pytest.raises(OrderRejected, match="limit_price_required"):
        venue.place_order(OrderRequest("c", TICKER, "yes", "open", 100))
    with pytest.raises(OrderRejected, match="side_long"):
        venue.place_order(OrderRequest("c", TICKER, "long", "open", 100, Decimal("0.5")))
    with pytest.raises(OrderRejected, match="invalid_order"):
        venue.place_order(OrderRequest("c", TICKER, "yes", "open", 100, Decimal("1.2")))
    with pytest.raises(OrderRejected, match="time_in_force_day"):
        venue.place_order(OrderRequest("c", TICKER, "yes", "open", 100, Decimal("0.5"), "day"))
    assert not route.called


def test_duplicate_client_order_id_returns_existing_order(
    venue: KalshiVenue, mock: respx.MockRouter, payload: Payload
) -> None:
    mock.post("/portfolio/orders").mock(
        return_value=httpx.Response(409, json={"code": "order_already_exists", "message": "duplicate client_order_id"})
    )
    lookup = mock.get("/portfolio/orders").mock(return_value=httpx.Response(200, json=payload("orders")))
    result = venue.place_order(_buy())
    assert result.client_order_id == "01JTESTCOID0000000000000000" and result.status == "filled"
    assert int(lookup.calls.last.request.url.params["min_ts"]) == int(
        datetime(2025, 12, 20, 15, tzinfo=UTC).timestamp()
    )


def test_rejected_order_is_typed(venue: KalshiVenue, mock: respx.MockRouter) -> None:
    mock.post("/portfolio/orders").mock(
        return_value=httpx.Response(400, json={"code": "insufficient_balance", "message": "Insufficient balance"})
    )
    with pytest.raises(OrderRejected, match="insufficient_balance"):
        venue.place_order(_buy())


def test_order_by_client_id_unknown_is_none(venue: KalshiVenue, mock: respx.MockRouter) -> None:
    mock.get("/portfolio/orders").mock(return_value=httpx.Response(200, json={"orders": [], "cursor": ""}))
    assert venue.order_by_client_id("nope") is None


def test_positions_fills_settlements_balance(venue: KalshiVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.get("/portfolio/positions").mock(return_value=httpx.Response(200, json=payload("positions")))
    mock.get("/portfolio/fills").mock(return_value=httpx.Response(200, json=payload("fills")))
    settle = mock.get("/portfolio/settlements").mock(return_value=httpx.Response(200, json=payload("settlements")))
    mock.get("/portfolio/balance").mock(return_value=httpx.Response(200, json=payload("balance")))
    positions = venue.positions()
    assert [(p.symbol, p.side, p.quantity, p.avg_price) for p in positions] == [
        (TICKER, "yes", 1000, Decimal("0.36")),
        ("KXHIGHNY-25DEC27-T36", "no", 1000, Decimal("0.95")),
    ]
    fills = venue.fills()
    assert [f.symbol for f in fills] == [TICKER, "KXHIGHNY-25DEC27-T36"]  # oldest first
    assert (fills[0].quantity, fills[0].price, fills[0].fees_cents) == (250, Decimal("0.37"), 5)
    assert fills[1].price == Decimal("0.95")  # NO fill priced on NO
    since = datetime(2025, 12, 28, tzinfo=UTC)
    [settlement] = venue.settlements(since)
    assert settle.calls.last.request.url.params["min_ts"] == str(int(since.timestamp()))
    assert (settlement.result, settlement.revenue_cents, settlement.fees_cents) == ("yes", 1000, 16)
    balance = venue.balance()
    assert (balance.cash_cents, balance.portfolio_value_cents) == (123456, 7890)


def test_close_position_sells_at_most_aggressive_ioc(
    venue: KalshiVenue, mock: respx.MockRouter, payload: Payload, spec_validate: Validate
) -> None:
    mock.get("/portfolio/positions").mock(return_value=httpx.Response(200, json=payload("positions")))
    route = mock.post("/portfolio/orders").mock(return_value=httpx.Response(201, json=payload("order_executed")))
    venue.close_position("KXHIGHNY-25DEC27-T36", "close-1")
    body = json.loads(route.calls.last.request.content)
    spec_validate("CreateOrderRequest", body)
    assert (body["side"], body["action"], body["no_price_dollars"], body["count_fp"]) == (
        "no",
        "sell",
        "0.0100",
        "10.00",
    )
    with pytest.raises(NotFoundError):
        venue.close_position("KXNOTHELD", "close-2")


# ---- error paths ---------------------------------------------------------------------------------------------------


def test_429_then_success_is_retried_with_backoff(
    venue: KalshiVenue, mock: respx.MockRouter, payload: Payload, sleeps: list[float]
) -> None:
    route = mock.get("/portfolio/balance").mock(
        side_effect=[
            httpx.Response(429, json={"error": "too many requests"}),
            httpx.Response(503, text="upstream unavailable"),
            httpx.Response(200, json=payload("balance")),
        ]
    )
    assert venue.balance().cash_cents == 123456
    assert route.call_count == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] / 2  # backoff grows (with jitter)
    signatures = {call.request.headers["KALSHI-ACCESS-SIGNATURE"] for call in route.calls}
    assert len(signatures) == 3  # every attempt is signed afresh


def test_persistent_429_raises_rate_limited(venue: KalshiVenue, mock: respx.MockRouter) -> None:
    mock.get("/portfolio/balance").mock(return_value=httpx.Response(429, json={"error": "too many requests"}))
    with pytest.raises(RateLimitedError):
        venue.balance()


def test_persistent_5xx_raises_retryable_venue_error(venue: KalshiVenue, mock: respx.MockRouter) -> None:
    mock.get("/portfolio/balance").mock(return_value=httpx.Response(500, json={"code": "internal", "message": "boom"}))
    with pytest.raises(VenueError, match="boom") as info:
        venue.balance()
    assert info.value.retryable and info.value.status == 500


def test_401_is_auth_error_without_retry(venue: KalshiVenue, mock: respx.MockRouter) -> None:
    route = mock.get("/portfolio/balance").mock(
        return_value=httpx.Response(401, json={"code": "authentication_error", "message": "invalid signature"})
    )
    with pytest.raises(AuthError, match="invalid signature"):
        venue.balance()
    assert route.call_count == 1


def test_404_is_not_found(venue: KalshiVenue, mock: respx.MockRouter) -> None:
    mock.get("/markets/NOPE").mock(return_value=httpx.Response(404, json={"code": "not_found", "message": "market"}))
    with pytest.raises(NotFoundError):
        venue.instrument("NOPE")


def test_timeout_on_read_is_retried_then_typed(venue: KalshiVenue, mock: respx.MockRouter, payload: Payload) -> None:
    route = mock.get("/portfolio/balance").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=payload("balance"))]
    )
    assert venue.balance().cash_cents == 123456
    assert route.call_count == 2
    mock.get("/portfolio/positions").mock(side_effect=httpx.ConnectTimeout("down"))
    with pytest.raises(VenueError, match="timed out"):
        venue.positions()


def test_malformed_json_is_typed(venue: KalshiVenue, mock: respx.MockRouter) -> None:
    mock.get("/portfolio/balance").mock(return_value=httpx.Response(200, text="<html>gateway</html>"))
    with pytest.raises(MalformedResponseError, match="not JSON"):
        venue.balance()
    mock.get("/portfolio/fills").mock(return_value=httpx.Response(200, json={"cursor": ""}))
    with pytest.raises(MalformedResponseError, match="fills"):
        venue.fills()


def test_base_url_defaults_per_env(settings: Any) -> None:
    from shared.venues.kalshi.config import KalshiConfig

    demo = KalshiConfig.from_settings(settings.model_copy(update={"kalshi_base_url": None}))
    prod = KalshiConfig.from_settings(settings.model_copy(update={"kalshi_base_url": None, "kalshi_env": "prod"}))
    assert demo.base_url == "https://demo-api.kalshi.co/trade-api/v2"
    assert prod.base_url == "https://api.elections.kalshi.com/trade-api/v2"
    assert KalshiConfig.from_settings(settings).base_url == "https://kalshi.test/trade-api/v2"
    with pytest.raises(ValueError, match="KALSHI_API_KEY_ID"):
        KalshiConfig.from_settings(settings.model_copy(update={"kalshi_api_key_id": None}))


def test_rate_limit_tiers(settings: Any) -> None:
    from shared.venues.kalshi.config import KalshiConfig

    config = KalshiConfig.from_settings(settings)
    assert (config.read_rate, config.write_rate) == (20.0, 10.0)  # Basic: 200/100 tokens/s at 10 tokens a request
    advanced = KalshiConfig(config.base_url, config.api_key_id, config.private_key_path, tier="advanced")
    assert (advanced.read_rate, advanced.write_rate) == (30.0, 30.0)
    with pytest.raises(ValueError, match="tier"):
        KalshiConfig(config.base_url, config.api_key_id, config.private_key_path, tier="gold")


def test_orders_draw_on_the_write_bucket(venue: KalshiVenue, mock: respx.MockRouter, payload: Payload) -> None:
    taken: list[str] = []
    for name, bucket in venue.client.http._buckets.items():
        original = bucket.acquire
        bucket.acquire = lambda cost=1.0, _n=name, _o=original: (taken.append(_n), _o(cost))[1]  # type: ignore[method-assign]
    mock.post("/portfolio/orders").mock(return_value=httpx.Response(201, json=payload("order_executed")))
    mock.get("/portfolio/balance").mock(return_value=httpx.Response(200, json=payload("balance")))
    venue.place_order(_buy())
    venue.balance()
    assert taken == ["write", "read"]


def test_events_follow_cursor(
    venue: KalshiVenue, mock: respx.MockRouter, payload: Payload, spec_validate: Validate
) -> None:
    event = payload("event")["event"]
    later = event | {"event_ticker": "KXHIGHNY-25DEC28", "title": "Highest temperature in NYC on Dec 28, 2025?"}
    pages = [{"events": [event], "cursor": "E2", "milestones": []}, {"events": [later], "cursor": "", "milestones": []}]
    for page in pages:
        spec_validate("GetEventsResponse", page)
    route = mock.get("/events").mock(side_effect=[httpx.Response(200, json=page) for page in pages])
    events = venue.client.events(series_ticker="KXHIGHNY", status="open")
    assert [e.event_ticker for e in events] == ["KXHIGHNY-25DEC27", "KXHIGHNY-25DEC28"]
    assert route.calls[0].request.url.params["limit"] == "200"
    assert route.calls[1].request.url.params["cursor"] == "E2"


@pytest.mark.parametrize(
    ("side", "intent", "action", "book_side"),
    [
        ("yes", "open", "buy", "bid"),
        ("no", "open", "buy", "ask"),  # buying NO at p is selling YES at 1 − p on the YES-only book
        ("yes", "close", "sell", "ask"),
        ("no", "close", "sell", "bid"),
    ],
)
def test_action_and_reduce_only_follow_side_and_intent(
    venue: KalshiVenue, body_validate: BodyValidate, side: str, intent: str, action: str, book_side: str
) -> None:
    request = _buy(side=side, price="0.37", intent=intent)
    v1 = venue.build_v1_body(request)
    body_validate("/portfolio/orders", "post", v1)
    assert (v1["side"], v1["action"], v1[f"{side}_price_dollars"]) == (side, action, "0.3700")
    # A close never opens the other side when the holding is smaller than the order.
    assert v1.get("reduce_only", False) is (intent == "close")
    v2 = venue.build_v2_body(request)
    body_validate("/portfolio/events/orders", "post", v2)
    assert (v2["side"], v2["price"], v2["reduce_only"]) == (
        book_side, "0.3700" if side == "yes" else "0.6300", intent == "close"
    )


@pytest.mark.parametrize(("tif", "intent", "post_only"), [("gtc", "open", True), ("ioc", "open", False),
                                                           ("gtc", "close", False)])
def test_a_resting_opening_order_is_post_only(
    venue: KalshiVenue, body_validate: BodyValidate, tif: str, intent: str, post_only: bool
) -> None:
    request = _buy(tif=tif, intent=intent)
    v1 = venue.build_v1_body(request)
    body_validate("/portfolio/orders", "post", v1)
    v2 = venue.build_v2_body(request)
    body_validate("/portfolio/events/orders", "post", v2)
    assert v1["post_only"] is post_only and v2["post_only"] is post_only
