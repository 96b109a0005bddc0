"""IbkrVenue against recorded gateway payloads: session checks, conid cache, snapshot pre-flight, order replies."""

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
from shared.venues.ibkr.config import IbkrConfig
from shared.venues.ibkr.execution import IbkrVenue

Payload = Callable[[str], Any]
Validate = Callable[[str, Any], None]
BodyValidate = Callable[[str, str, Any], None]
COID = "01JTESTCOID0000000000000000"


def _buy(**changes: Any) -> OrderRequest:
    fields: dict[str, Any] = {
        "client_order_id": COID,
        "symbol": "AAPL",
        "side": "long",
        "intent": "open",
        "quantity": 10,
        "time_in_force": "day",
    }
    fields.update(changes)
    return OrderRequest(**fields)


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("auth_status", "brokerageSessionStatus"),
        ("tickle", "successfulTickleResponse"),  # the oneOf has no discriminating required keys
        ("secdef_search", "secdefSearchResponse"),
        ("snapshot", "iserverSnapshot"),
        ("snapshot_preflight", "iserverSnapshot"),
        ("order_reply", "orderReplyMessage"),
        ("order_submitted", "orderSubmitSuccess"),
        ("order_error", "orderSubmitError"),
        ("order_status_filled", "orderStatus"),
        ("trades", "tradesResponse"),
        ("history", "iserverHistoryMidpointResponse"),
        ("summary", "portfolioSummary"),
    ],
)
def test_recorded_payloads_match_spec(name: str, schema: str, payload: Payload, spec_validate: Validate) -> None:
    spec_validate(schema, payload(name))


def test_positions_payload_items_match_spec(payload: Payload, spec_validate: Validate) -> None:
    for item in payload("positions_page0"):
        spec_validate("individualPosition", item)


def test_is_a_venue_and_config(venue: IbkrVenue, settings: Any) -> None:
    assert isinstance(venue, Venue)
    assert venue.config.base_url == "https://localhost:5000/v1/api"
    assert venue.config.verify_tls is False
    assert IbkrConfig.from_settings(settings.model_copy(update={"ibkr_verify_tls": True})).verify_tls is True
    with pytest.raises(ValueError, match="IBKR_ACCOUNT_ID"):
        IbkrConfig.from_settings(settings.model_copy(update={"ibkr_account_id": None}))


def test_conid_lookup_is_cached_and_prefers_us_listing(
    venue: IbkrVenue, mock: respx.MockRouter, session_ok: None
) -> None:
    assert venue.conid("AAPL") == 265598
    assert venue.conid("AAPL") == 265598
    calls = [c for c in mock.calls if c.request.url.path.endswith("/iserver/secdef/search")]
    assert len(calls) == 1
    params = calls[0].request.url.params
    assert (params["symbol"], params["secType"]) == ("AAPL", "STK")
    assert venue.instrument("AAPL").attributes["conid"] == "265598"
    with pytest.raises(NotFoundError):
        venue.instrument("TSLA")


def test_session_is_checked_and_tickled_once_per_interval(
    venue: IbkrVenue, mock: respx.MockRouter, session_ok: None
) -> None:
    mock.get("/portfolio/DU1234567/positions/0").mock(return_value=httpx.Response(200, json=[]))
    venue.conid("AAPL")
    assert venue.positions() == []  # a second call inside the interval does not re-check
    with pytest.raises(NotFoundError, match="MSFT"):
        venue.conid("MSFT")  # the search returned no MSFT stock contract
    tickles = [c for c in mock.calls if c.request.url.path.endswith("/tickle")]
    statuses = [c for c in mock.calls if c.request.url.path.endswith("/iserver/auth/status")]
    assert len(tickles) == 1 and len(statuses) == 1
    assert tickles[0].request.method == "POST"


def test_competing_session_is_auth_error(venue: IbkrVenue, mock: respx.MockRouter, payload: Payload) -> None:
    mock.post("/tickle").mock(return_value=httpx.Response(200, json=payload("tickle")))
    mock.post("/iserver/auth/status").mock(return_value=httpx.Response(200, json=payload("auth_status_competing")))
    with pytest.raises(AuthError, match="competing"):
        venue.conid("AAPL")


def test_unauthenticated_gateway_is_auth_error(venue: IbkrVenue, mock: respx.MockRouter) -> None:
    mock.post("/tickle").mock(return_value=httpx.Response(401, text="Unauthorized"))
    with pytest.raises(AuthError):
        venue.conid("AAPL")


def test_snapshot_preflight_is_polled_again(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None, sleeps: list[float]
) -> None:
    route = mock.get("/iserver/marketdata/snapshot").mock(
        side_effect=[
            httpx.Response(200, json=payload("snapshot_preflight")),
            httpx.Response(200, json=payload("snapshot")),
        ]
    )
    quote = venue.quote("AAPL")
    assert route.call_count == 2 and sleeps == [0.5]
    assert route.calls[0].request.url.params["conids"] == "265598"
    assert set(route.calls[0].request.url.params["fields"].split(",")) >= {"31", "84", "86"}
    assert (quote.bid, quote.ask, quote.last) == (Decimal("189.50"), Decimal("189.53"), Decimal("189.52"))
    assert (quote.bid_size, quote.ask_size) == (1200, 3400)


def test_snapshot_never_filled_is_retryable_error(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None
) -> None:
    mock.get("/iserver/marketdata/snapshot").mock(return_value=httpx.Response(200, json=payload("snapshot_preflight")))
    with pytest.raises(VenueError, match="no market data") as info:
        venue.quote("AAPL")
    assert info.value.retryable


def test_garbled_snapshot_is_malformed(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None
) -> None:
    body = payload("snapshot")
    body[0]["84"] = "n/a"
    mock.get("/iserver/marketdata/snapshot").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError):
        venue.quote("AAPL")


def test_order_reply_flow_is_confirmed(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None, body_validate: BodyValidate
) -> None:
    submit = mock.post("/iserver/account/DU1234567/orders").mock(
        return_value=httpx.Response(200, json=payload("order_reply"))
    )
    first_reply = mock.post("/iserver/reply/07a13a5a-4a48-44a5-bb25-5ab37b79186c").mock(
        return_value=httpx.Response(200, json=payload("order_reply_2"))
    )
    second_reply = mock.post("/iserver/reply/99b6a1c0-7b2e-4f3a-8e51-0c4d2b7a1f00").mock(
        return_value=httpx.Response(200, json=payload("order_submitted"))
    )
    mock.get("/iserver/account/order/status/1234567890").mock(
        return_value=httpx.Response(200, json=payload("order_status_filled"))
    )
    result = venue.place_order(_buy())
    body = json.loads(submit.calls.last.request.content)
    body_validate("/iserver/account/{accountId}/orders", "post", body)
    assert body == {
        "orders": [
            {
                "acctId": "DU1234567",
                "conid": 265598,
                "quantity": 10,
                "cOID": COID,
                "orderType": "MKT",
                "side": "BUY",
                "tif": "DAY",
                "outsideRTH": False,
            }
        ]
    }
    reply = json.loads(first_reply.calls.last.request.content)
    body_validate("/iserver/reply/{replyId}", "post", reply)
    assert reply == {"confirmed": True}
    assert second_reply.called
    assert (result.status, result.filled_quantity, result.avg_fill_price) == ("filled", 10, Decimal("189.53"))
    assert result.venue_order_id == "1234567890"


def test_bracket_order_for_short_with_sl_tp(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None, spec_validate: Validate
) -> None:
    submit = mock.post("/iserver/account/DU1234567/orders").mock(
        return_value=httpx.Response(200, json=payload("order_submitted"))
    )
    mock.get("/iserver/account/order/status/1234567890").mock(
        return_value=httpx.Response(200, json=payload("order_status_filled"))
    )
    venue.place_order(
        _buy(
            side="short",
            limit_price=Decimal("189.50"),
            stop_loss=Decimal("192.25"),
            take_profit=Decimal("185.10"),
        )
    )
    body = json.loads(submit.calls.last.request.content)
    spec_validate("ordersSubmissionRequest", body)
    parent, stop, target = body["orders"]
    assert (parent["side"], parent["orderType"], parent["price"]) == ("SELL", "LMT", 189.5)
    assert (stop["side"], stop["orderType"], stop["price"], stop["parentId"]) == ("BUY", "STP", 192.25, COID)
    assert (target["side"], target["orderType"], target["price"], target["cOID"]) == ("BUY", "LMT", 185.1, f"{COID}-tp")


def test_order_error_is_rejected(venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None) -> None:
    mock.post("/iserver/account/DU1234567/orders").mock(return_value=httpx.Response(200, json=payload("order_error")))
    with pytest.raises(OrderRejected, match="limit price"):
        venue.place_order(_buy())


def test_too_many_replies_is_rejected(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None
) -> None:
    mock.post("/iserver/account/DU1234567/orders").mock(return_value=httpx.Response(200, json=payload("order_reply")))
    mock.post("/iserver/reply/07a13a5a-4a48-44a5-bb25-5ab37b79186c").mock(
        return_value=httpx.Response(200, json=payload("order_reply"))
    )
    with pytest.raises(OrderRejected, match="order-reply"):
        venue.place_order(_buy())


def test_timeout_then_found_by_order_ref(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None
) -> None:
    submit = mock.post("/iserver/account/DU1234567/orders").mock(side_effect=httpx.ReadTimeout("slow gateway"))
    mock.get("/iserver/account/trades").mock(return_value=httpx.Response(200, json=payload("trades")))
    result = venue.place_order(_buy())
    assert submit.call_count == 1
    assert (result.status, result.filled_quantity, result.fees_cents) == ("filled", 10, 135)
    assert result.avg_fill_price == (Decimal("189.53") * 6 + Decimal("189.54") * 4) / 10
    assert result.venue_order_id == "1234567890"


def test_timeout_then_unknown_is_resent(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None
) -> None:
    submit = mock.post("/iserver/account/DU1234567/orders").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=payload("order_submitted"))]
    )
    mock.get("/iserver/account/trades").mock(return_value=httpx.Response(200, json=[]))
    mock.get("/iserver/account/order/status/1234567890").mock(
        return_value=httpx.Response(200, json=payload("order_status_filled"))
    )
    assert venue.place_order(_buy()).status == "filled"
    assert submit.call_count == 2


def test_invalid_orders_never_reach_the_wire(venue: IbkrVenue, mock: respx.MockRouter, session_ok: None) -> None:
    route = mock.post("/iserver/account/DU1234567/orders")
    with pytest.raises(OrderRejected, match="side_yes"):
        venue.place_order(_buy(side="yes"))
    with pytest.raises(OrderRejected, match="time_in_force_fok"):
        venue.place_order(_buy(time_in_force="fok"))
    assert not route.called


def test_positions_fills_balance_candles(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None
) -> None:
    mock.get("/portfolio/DU1234567/positions/0").mock(return_value=httpx.Response(200, json=payload("positions_page0")))
    mock.get("/iserver/account/trades").mock(return_value=httpx.Response(200, json=payload("trades")))
    mock.get("/portfolio/DU1234567/summary").mock(return_value=httpx.Response(200, json=payload("summary")))
    history = mock.get("/iserver/marketdata/history").mock(return_value=httpx.Response(200, json=payload("history")))
    positions = venue.positions()
    assert [(p.symbol, p.side, p.quantity, p.avg_price, p.venue_position_id) for p in positions] == [
        ("AAPL", "long", 10, Decimal("189.53"), "265598"),
        ("MSFT", "short", 5, Decimal("411.2"), "272093"),
    ]
    fills = venue.fills(datetime(2026, 3, 2, tzinfo=UTC))
    assert [(f.symbol, f.intent, f.quantity, f.price, f.fees_cents) for f in fills] == [
        ("AAPL", "open", 6, Decimal("189.53"), 100),
        ("AAPL", "open", 4, Decimal("189.54"), 35),
    ]
    assert fills[0].client_order_id == COID
    balance = venue.balance()
    assert (balance.cash_cents, balance.portfolio_value_cents) == (9_876_543, 10_015_493)
    candles = venue.candles("AAPL", 3600, 2)
    assert history.calls.last.request.url.params["bar"] == "1h"
    assert [c.start for c in candles] == [datetime(2026, 3, 2, 13, tzinfo=UTC), datetime(2026, 3, 2, 14, tzinfo=UTC)]
    assert candles[-1].close == Decimal("189.52")  # exact: JSON numbers decode as Decimal
    venue.clock.set(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    assert [c.start.hour for c in venue.candles("AAPL", 3600, 2)] == [12, 13]  # the 14:00 bar is still forming
    assert venue.settlements() == []


def test_close_position_sends_opposite_market_order(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None
) -> None:
    mock.get("/portfolio/DU1234567/positions/0").mock(return_value=httpx.Response(200, json=payload("positions_page0")))
    submit = mock.post("/iserver/account/DU1234567/orders").mock(
        return_value=httpx.Response(200, json=payload("order_submitted"))
    )
    mock.get("/iserver/account/order/status/1234567890").mock(
        return_value=httpx.Response(200, json=payload("order_status_filled"))
    )
    venue.close_position("MSFT", "close-1")
    [order] = json.loads(submit.calls.last.request.content)["orders"]
    assert (order["side"], order["quantity"], order["orderType"], order["conid"]) == ("BUY", 5, "MKT", 272093)
    with pytest.raises(NotFoundError):
        venue.close_position("NVDA", "close-2")


def test_gateway_5xx_and_429_are_retried(
    venue: IbkrVenue, mock: respx.MockRouter, payload: Payload, session_ok: None, sleeps: list[float]
) -> None:
    mock.get("/portfolio/DU1234567/summary").mock(
        side_effect=[
            httpx.Response(503, text="Service Unavailable"),
            httpx.Response(429),
            httpx.Response(200, json=payload("summary")),
        ]
    )
    assert venue.balance().cash_cents == 9_876_543
    assert len(sleeps) == 2


def test_body_validator_rejects_off_spec_bodies(body_validate: BodyValidate) -> None:
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        body_validate(
            "/iserver/account/{accountId}/orders",
            "post",
            {"orders": [{"conid": 1, "orderType": "MKT", "side": "BOTH", "quantity": 1, "tif": "DAY"}]},
        )
    with pytest.raises(jsonschema.ValidationError):
        body_validate("/iserver/reply/{replyId}", "post", {"confirmed": "yes"})


@pytest.mark.parametrize(
    ("side", "intent", "ticket", "exits"),
    [
        ("long", "open", "BUY", "SELL"),
        ("short", "open", "SELL", "BUY"),
        ("long", "close", "SELL", None),
        ("short", "close", "BUY", None),
    ],
)
def test_ticket_side_follows_side_and_intent(
    venue: IbkrVenue, spec_validate: Validate, side: str, intent: str, ticket: str, exits: str | None
) -> None:
    levels = (Decimal("192.25"), Decimal("185.10")) if side == "short" else (Decimal("185.10"), Decimal("192.25"))
    body = venue.build_orders(_buy(side=side, intent=intent, stop_loss=levels[0], take_profit=levels[1]), 265598)
    spec_validate("ordersSubmissionRequest", body)
    parent, *children = body["orders"]
    assert parent["side"] == ticket
    # A bracket protects what an order opens: a close carries no children.
    assert [c["side"] for c in children] == ([] if exits is None else [exits, exits])


def test_limit_prices_go_on_the_tick_never_worse() -> None:
    from shared.venues.ibkr.execution import limit_on_tick

    assert limit_on_tick(Decimal("189.89904"), "BUY") == Decimal("189.89")  # a buy never pays more than asked
    assert limit_on_tick(Decimal("410.37760"), "SELL") == Decimal("410.38")  # a sell never takes less
    assert limit_on_tick(Decimal("189.5"), "BUY") == Decimal("189.50")
    assert limit_on_tick(Decimal("0.123456"), "SELL") == Decimal("0.1235")  # sub-dollar: 1/100 cent
