"""The client on each live broker opens a long and a short (YES and NO on Kalshi) and the adapter closes both.

Each venue is a small stateful fake built from the adapters' recorded payloads (tests/shared/venues/*/payloads):
every request body is validated against the vendored spec and every answer is a recorded payload adjusted to the
order (and validated too). The fakes apply the venue rules an order can fail on: OANDA cancels a market order
whose fill would breach its ``priceBound`` and a ``REDUCE_ONLY`` order with nothing to reduce; Kalshi caps a
``reduce_only`` order at the holding. A short entry sent as a reducing buy (the bug this guards) is cancelled.

The client itself never closes: OANDA and IBKR carry the signal's bracket at the venue, Kalshi settles. The closes
here go through the adapter's ``close_position``, what the operator's resolver uses and what a subscriber's own
flatten would call, on the same adapter instance the client trades through.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from client.brokers import VenueBroker, open_live_venue
from client.engine import Follower
from shared.ids import derive_id
from shared.money.fees import kalshi_fee_cents
from shared.money.fx import quote_to_usd
from shared.signing import load_public_key
from shared.venues.base import Venue

VENUES = Path(__file__).resolve().parents[1] / "shared" / "venues"
SIZING = {"fixed_cents": 5_000, "max_cents_per_signal": 5_000, "max_cents_per_day": 50_000}


def _load_specs() -> ModuleType:
    name = "tbot_test_venue_specs"  # the same module the venue suites' conftest loads
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, VENUES / "specs.py")
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


specs = _load_specs()


def _recorded(venue: str, name: str) -> Any:
    return copy.deepcopy(json.loads((VENUES / venue / "payloads" / f"{name}.json").read_text()))


def _venue(config: Any, env: str) -> Venue:
    """The subscriber's adapter, built by the client from their own 0600 file."""
    path = config.base_dir / "broker.env"
    path.write_text(env)
    os.chmod(path, 0o600)
    return open_live_venue(config)


def _follower(config: Any, env: str) -> tuple[Follower, Venue]:
    venue = _venue(config, env)
    follower = Follower(config, VenueBroker(venue), load_public_key(config.public_key_path.read_text()))
    follower.money.append({"kind": "money", "id": "d1", "type": "deposit", "amount_cents": 1_000_000,
                           "at": "2026-03-02T14:00:00.000000Z"})
    follower.refresh()
    return follower, venue


def _filled(follower: Follower) -> dict[str, dict[str, Any]]:
    return {r["signal_id"]: r for r in (e.data for e in follower.orders.read_all()) if r["status"] == "filled"}


# ------------------------------------------------------------------------------------------------------------ OANDA
OANDA_ACCOUNT = "101-001-1234567-001"
OANDA_ENV = f"OANDA_API_TOKEN=tok-sub\nOANDA_ACCOUNT_ID={OANDA_ACCOUNT}\nOANDA_BASE_URL=https://oanda.test\n"


class FakeOanda:
    """OANDA v20's order, open-trade and trade-close endpoints over one account's trades."""

    def __init__(self, prices: dict[str, tuple[Decimal, Decimal]]) -> None:
        self.v20 = specs.swagger2(specs.OANDA_SPEC)
        self.prices = prices
        self.trades: dict[str, dict[str, Any]] = {}  # trade id -> instrument, units (signed), price, coid
        self.orders: list[dict[str, Any]] = []
        self.closed: list[str] = []
        self._ids = iter(range(7000, 8000, 2))

    def install(self, router: respx.MockRouter) -> None:
        router.post("/orders").mock(side_effect=self.order)
        router.get("/openTrades").mock(side_effect=self.open_trades)
        router.put(path__regex=r"/trades/(?P<trade_id>[^/]+)/close$").mock(side_effect=self.close)

    def _fill_price(self, instrument: str, units: int) -> Decimal:
        bid, ask = self.prices[instrument]
        return ask if units > 0 else bid

    def order(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.v20.body("/accounts/{accountID}/orders", "post", body)
        order = body["order"]
        self.orders.append(order)
        units = int(order["units"])
        price = self._fill_price(order["instrument"], units)
        bound = Decimal(order["priceBound"]) if "priceBound" in order else None
        breached = bound is not None and (price > bound if units > 0 else price < bound)
        reducing = order["positionFill"] == "REDUCE_ONLY"
        # What a reducing order may close: trades in the instrument on the other side, oldest first (FIFO).
        opposite = [i for i, t in self.trades.items() if t["instrument"] == order["instrument"]
                    and (t["units"] > 0) != (units > 0)]
        create_id, fill_id = next(self._ids), next(self._ids)
        if breached or (reducing and sum(abs(self.trades[i]["units"]) for i in opposite) < abs(units)):
            answer = _recorded("oanda", "order_cancelled")
            answer["orderCancelTransaction"].update(
                id=str(fill_id), orderID=str(create_id), clientOrderID=order["clientExtensions"]["id"],
                # The v20 spec names no reason for a REDUCE_ONLY order with nothing to reduce: a spec-valid stand-in.
                reason="BOUNDS_VIOLATION" if breached else "POSITION_CLOSEOUT_FAILED")
            self.v20.schema("OrderCancelTransaction", answer["orderCancelTransaction"])
            return httpx.Response(201, json=answer)
        answer = _recorded("oanda", "order_filled")
        created = answer["orderCreateTransaction"]
        for key in ("stopLossOnFill", "takeProfitOnFill", "tradeClientExtensions", "clientExtensions"):
            created.pop(key, None)
            if key in order:
                created[key] = order[key]
        created.update(id=str(create_id), instrument=order["instrument"], units=order["units"],
                       timeInForce=order["timeInForce"], positionFill=order["positionFill"])
        fill = answer["orderFillTransaction"]
        fill.update(id=str(fill_id), orderID=str(create_id), clientOrderID=order["clientExtensions"]["id"],
                    instrument=order["instrument"], units=order["units"], price=str(price), fullVWAP=str(price))
        if reducing:
            fill.pop("tradeOpened")
            fill["tradesClosed"] = self._reduce(opposite, units, price)
        else:
            fill["tradeOpened"].update(tradeID=str(fill_id), units=order["units"], price=str(price))
            self.trades[str(fill_id)] = {"instrument": order["instrument"], "units": units, "price": price,
                                         "coid": order["clientExtensions"]["id"]}
        self.v20.schema("MarketOrderTransaction", created)
        self.v20.schema("OrderFillTransaction", fill)
        return httpx.Response(201, json=answer)

    def _reduce(self, trade_ids: list[str], units: int, price: Decimal) -> list[dict[str, str]]:
        """Close ``units`` (signed against the trades) out of ``trade_ids``, whole trades only in these tests."""
        closed = []
        left = abs(units)
        for trade_id in trade_ids:
            if left == 0:
                break
            trade = self.trades.pop(trade_id)
            assert abs(trade["units"]) <= left, "the fake closes whole trades only"
            left -= abs(trade["units"])
            self.closed.append(trade_id)
            closed.append({"tradeID": trade_id, "units": str(-trade["units"]), "price": str(price),
                           "realizedPL": "0.0000", "financing": "0.0000"})
        return closed

    def open_trades(self, request: httpx.Request) -> httpx.Response:
        template = _recorded("oanda", "open_trades")["trades"][0]
        trades = []
        for trade_id, t in self.trades.items():
            trade = {k: v for k, v in template.items() if k not in ("takeProfitOrder", "stopLossOrder")}
            trade.update(id=trade_id, instrument=t["instrument"], price=str(t["price"]),
                         initialUnits=str(t["units"]), currentUnits=str(t["units"]),
                         clientExtensions={"id": t["coid"], "tag": "tbot"})
            self.v20.schema("Trade", trade)
            trades.append(trade)
        return httpx.Response(200, json={"trades": trades, "lastTransactionID": "7999"})

    def close(self, request: httpx.Request, trade_id: str) -> httpx.Response:
        body = json.loads(request.content)
        self.v20.body("/accounts/{accountID}/trades/{tradeSpecifier}/close", "put", body)
        assert body == {"units": "ALL"}
        trade = self.trades.pop(trade_id)
        self.closed.append(trade_id)
        units = -trade["units"]  # closing a long sells, closing a short buys
        price = self._fill_price(trade["instrument"], units)
        pl = quote_to_usd((price - trade["price"]) * trade["units"], trade["instrument"], price)
        answer = _recorded("oanda", "trade_close")
        answer["orderCreateTransaction"].update(instrument=trade["instrument"], units=str(units),
                                                tradeClose={"tradeID": trade_id, "units": "ALL"})
        fill = answer["orderFillTransaction"]
        fill.update(instrument=trade["instrument"], units=str(units), price=str(price), fullVWAP=str(price),
                    pl=str(pl.quantize(Decimal("0.0001"))))
        fill["tradesClosed"] = [{"tradeID": trade_id, "units": str(units), "price": str(price),
                                 "realizedPL": fill["pl"], "financing": "0.0000"}]
        self.v20.schema("MarketOrderTransaction", answer["orderCreateTransaction"])
        self.v20.schema("OrderFillTransaction", fill)
        return httpx.Response(200, json=answer)


def test_oanda_opens_a_long_and_a_short_and_closes_both(make_config, make_signal) -> None:
    config = make_config(broker={"kind": "oanda", "secrets_file": "broker.env"}, sizing=SIZING)
    follower, venue = _follower(config, OANDA_ENV)
    fake = FakeOanda({"EUR_USD": (Decimal("1.08412"), Decimal("1.08425")),
                      "USD_JPY": (Decimal("149.812"), Decimal("149.826"))})
    long = make_signal(surface="fx", instrument="EUR_USD", side="long", limit_price=Decimal("1.08400"),
                       stop_loss=Decimal("1.08100"), take_profit=Decimal("1.08900"), dry_run=False)
    short = make_signal(surface="fx", instrument="USD_JPY", side="short", limit_price=Decimal("149.820"),
                        stop_loss=Decimal("150.300"), take_profit=Decimal("149.300"), dry_run=False)
    with respx.mock(base_url=f"https://oanda.test/v3/accounts/{OANDA_ACCOUNT}", assert_all_called=True) as router:
        fake.install(router)
        opened = [follower.handle(s.to_json_dict()) for s in (long, short)]
        assert [o.verdict for o in opened] == ["traded", "traded"], opened
        buy, sell = fake.orders
        # The long buys: positive units, a bound at or above the ask it fills at ($50 at ≤ 1.08617 = 46 euros).
        assert (buy["units"], buy["positionFill"], buy["priceBound"]) == ("46", "DEFAULT", "1.08617")
        # The short sells: negative units, opening (never REDUCE_ONLY), its bound at or below the bid it fills at
        # ($50 of a USD-based pair = 50 units; 149.820 less the 0.2% slippage allowed = 149.520 ≤ bid 149.812).
        assert (sell["units"], sell["positionFill"], sell["priceBound"]) == ("-50", "DEFAULT", "149.520")
        assert Decimal(sell["stopLossOnFill"]["price"]) > Decimal("149.812") > Decimal(
            sell["takeProfitOnFill"]["price"])
        assert sell["clientExtensions"]["id"] == derive_id("coid", short.id)
        filled = _filled(follower)
        assert (filled[long.id]["fill_price"], filled[long.id]["units"]) == ("1.08425", 46)
        assert (filled[short.id]["fill_price"], filled[short.id]["units"]) == ("149.812", 50)

        positions = {p.symbol: p for p in venue.positions()}
        assert {(p.side, p.quantity) for p in positions.values()} == {("long", 46), ("short", 50)}
        closed_long = venue.close_position("EUR_USD", "close-long")
        closed_short = venue.close_position("USD_JPY", "close-short", positions["USD_JPY"].venue_position_id)
    assert fake.closed == [positions["EUR_USD"].venue_position_id, positions["USD_JPY"].venue_position_id]
    assert not fake.trades, "both positions are flat"
    # The long closes selling at the bid, the short buying at the ask.
    assert (closed_long.status, closed_long.filled_quantity, closed_long.avg_fill_price) == (
        "filled", 46, Decimal("1.08412"))
    assert (closed_short.status, closed_short.filled_quantity, closed_short.avg_fill_price) == (
        "filled", 50, Decimal("149.826"))


def test_oanda_reducing_orders_close_each_side_and_never_open_one(make_config) -> None:
    """Closing by order (``intent="close"``): REDUCE_ONLY with the opposite sign; with nothing held it is cancelled."""
    from shared.venues.base import OrderRequest

    config = make_config(broker={"kind": "oanda", "secrets_file": "broker.env"})
    venue = _venue(config, OANDA_ENV)
    fake = FakeOanda({"EUR_USD": (Decimal("1.08412"), Decimal("1.08425"))})
    with respx.mock(base_url=f"https://oanda.test/v3/accounts/{OANDA_ACCOUNT}", assert_all_called=False) as router:
        fake.install(router)
        nothing = venue.place_order(OrderRequest("c0", "EUR_USD", "short", "close", 100))
        venue.place_order(OrderRequest("o1", "EUR_USD", "short", "open", 100))
        close_short = venue.place_order(OrderRequest("c1", "EUR_USD", "short", "close", 100))
        venue.place_order(OrderRequest("o2", "EUR_USD", "long", "open", 100))
        close_long = venue.place_order(OrderRequest("c2", "EUR_USD", "long", "close", 100))
    assert nothing.status == "cancelled" and nothing.filled_quantity == 0
    assert [(o["units"], o["positionFill"]) for o in fake.orders] == [
        ("100", "REDUCE_ONLY"), ("-100", "DEFAULT"), ("100", "REDUCE_ONLY"), ("100", "DEFAULT"),
        ("-100", "REDUCE_ONLY")]
    # A short closes buying at the ask, a long selling at the bid; nothing is left open.
    assert (close_short.status, close_short.avg_fill_price) == ("filled", Decimal("1.08425"))
    assert (close_long.status, close_long.avg_fill_price) == ("filled", Decimal("1.08412"))
    assert not fake.trades


# ------------------------------------------------------------------------------------------------------------ IBKR
IBKR_ACCOUNT = "DU1234567"
IBKR_ENV = f"IBKR_GATEWAY_URL=https://localhost:5000\nIBKR_ACCOUNT_ID={IBKR_ACCOUNT}\n"
IBKR_CONIDS = {"AAPL": 265598, "MSFT": 272093}


class FakeIbkr:
    """The Client Portal gateway's session, contract search, order and position endpoints over one account."""

    def __init__(self, prices: dict[str, tuple[Decimal, Decimal]]) -> None:
        self.api = specs.openapi3(specs.IBKR_SPEC)
        self.prices = prices
        self.positions: dict[str, tuple[int, Decimal]] = {}  # symbol -> signed shares, average price
        self.tickets: list[list[dict[str, Any]]] = []
        self.statuses: dict[str, dict[str, Any]] = {}
        self._ids = iter(range(1_500_000_000, 1_600_000_000))

    def install(self, router: respx.MockRouter) -> None:
        for method, path, name in (("post", "/tickle", "tickle"), ("post", "/iserver/auth/status", "auth_status"),
                                   ("get", "/iserver/accounts", "accounts"),
                                   ("get", "/portfolio/accounts", "portfolio_accounts")):
            router.route(method=method.upper(), path=path).mock(
                return_value=httpx.Response(200, json=_recorded("ibkr", name)))
        router.get("/iserver/secdef/search").mock(side_effect=self.search)
        router.post(f"/iserver/account/{IBKR_ACCOUNT}/orders").mock(side_effect=self.submit)
        router.get(path__regex=r"/iserver/account/order/status/(?P<order_id>\d+)$").mock(side_effect=self.status)
        router.get(f"/portfolio/{IBKR_ACCOUNT}/positions/0").mock(side_effect=self.portfolio)

    def search(self, request: httpx.Request) -> httpx.Response:
        symbol = request.url.params["symbol"]
        answer = [item for item in _recorded("ibkr", "secdef_search") if item["description"] == "NASDAQ"]
        for item in answer:
            item.update(symbol=symbol, conid=str(IBKR_CONIDS[symbol]), companyName=symbol,
                        companyHeader=f"{symbol} - NASDAQ")
        self.api.schema("secdefSearchResponse", answer)
        return httpx.Response(200, json=answer)

    def submit(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.api.body("/iserver/account/{accountId}/orders", "post", body)
        parent, *_exits = body["orders"]
        self.tickets.append(body["orders"])
        symbol = {v: k for k, v in IBKR_CONIDS.items()}[parent["conid"]]
        bid, ask = self.prices[symbol]
        price = ask if parent["side"] == "BUY" else bid
        shares = parent["quantity"] if parent["side"] == "BUY" else -parent["quantity"]
        held, avg = self.positions.get(symbol, (0, Decimal(0)))
        self.positions[symbol] = (held + shares, avg if held and (held > 0) == (shares > 0) else price)
        order_id = str(next(self._ids))
        status = _recorded("ibkr", "order_status_filled")
        status.update(order_id=int(order_id), conid=parent["conid"], conidex=str(parent["conid"]), symbol=symbol,
                      side=parent["side"], total_size=f"{parent['quantity']}.0", cum_fill=f"{parent['quantity']}.0",
                      average_price=str(price), order_type="LIMIT" if parent["orderType"] == "LMT" else "MARKET",
                      tif=parent["tif"])
        self.api.schema("orderStatus", status)
        self.statuses[order_id] = status
        submitted = _recorded("ibkr", "order_submitted")
        submitted[0]["order_id"] = order_id
        self.api.schema("orderSubmitSuccess", submitted)
        return httpx.Response(200, json=submitted)

    def status(self, request: httpx.Request, order_id: str) -> httpx.Response:
        return httpx.Response(200, json=self.statuses[order_id])

    def portfolio(self, request: httpx.Request) -> httpx.Response:
        template = _recorded("ibkr", "positions_page0")[0]
        items = []
        for symbol, (shares, avg) in self.positions.items():
            item = dict(template, conid=IBKR_CONIDS[symbol], contractDesc=symbol, ticker=symbol, name=symbol,
                        position=float(shares), avgCost=float(avg), avgPrice=float(avg))
            self.api.schema("individualPosition", item)
            items.append(item)
        return httpx.Response(200, json=items)


def test_ibkr_opens_a_long_and_a_short_and_closes_both(make_config, make_signal) -> None:
    config = make_config(broker={"kind": "ibkr", "secrets_file": "broker.env"},
                         sizing=SIZING | {"fixed_cents": 100_000, "max_cents_per_signal": 100_000,
                                                 "max_cents_per_day": 1_000_000})
    follower, venue = _follower(config, IBKR_ENV)
    fake = FakeIbkr({"AAPL": (Decimal("189.50"), Decimal("189.53")), "MSFT": (Decimal("411.20"), Decimal("411.25"))})
    long = make_signal(surface="stocks", instrument="AAPL", side="long", limit_price=Decimal("189.52"),
                       stop_loss=Decimal("185.10"), take_profit=Decimal("195.00"), dry_run=False)
    short = make_signal(surface="stocks", instrument="MSFT", side="short", limit_price=Decimal("411.20"),
                        stop_loss=Decimal("420.00"), take_profit=Decimal("400.00"), dry_run=False)
    with respx.mock(base_url="https://localhost:5000/v1/api", assert_all_called=True) as router:
        fake.install(router)
        opened = [follower.handle(s.to_json_dict()) for s in (long, short)]
        assert [o.verdict for o in opened] == ["traded", "traded"], opened
        (buy, buy_stop, buy_target), (sell, sell_stop, sell_target) = fake.tickets
        # $1,000 at the worst acceptable 189.52 × 1.002 = 189.89904 buys 5 AAPL, limit on the cent tick rounded
        # down (never worse); a short sizes at the signal's 411.20 and sells 2 MSFT, its lower bound
        # 411.20 × 0.998 = 410.37760 rounded up to 410.38.
        assert (buy["side"], buy["quantity"], buy["orderType"], buy["price"]) == ("BUY", 5, "LMT", 189.89)
        assert (sell["side"], sell["quantity"], sell["orderType"], sell["price"]) == ("SELL", 2, "LMT", 410.38)
        # Each bracket exits the other way: a long's stop below and target above, a short's the mirror.
        assert [(o["side"], o["orderType"], o["price"]) for o in (buy_stop, buy_target)] == [
            ("SELL", "STP", 185.1), ("SELL", "LMT", 195.0)]
        assert [(o["side"], o["orderType"], o["price"]) for o in (sell_stop, sell_target)] == [
            ("BUY", "STP", 420.0), ("BUY", "LMT", 400.0)]
        assert sell["cOID"] == derive_id("coid", short.id) and sell_stop["parentId"] == sell["cOID"]
        filled = _filled(follower)
        assert (filled[long.id]["fill_price"], filled[long.id]["units"]) == ("189.53", 5)
        assert (filled[short.id]["fill_price"], filled[short.id]["units"]) == ("411.20", 2)
        assert {(p.symbol, p.side, p.quantity) for p in venue.positions()} == {("AAPL", "long", 5),
                                                                                ("MSFT", "short", 2)}

        venue.close_position("AAPL", "close-long")
        venue.close_position("MSFT", "close-short")
        assert venue.positions() == []
    [close_long], [close_short] = fake.tickets[2:]
    # Closes are plain market tickets the other way, with no bracket of their own.
    assert (close_long["side"], close_long["quantity"], close_long["orderType"]) == ("SELL", 5, "MKT")
    assert (close_short["side"], close_short["quantity"], close_short["orderType"]) == ("BUY", 2, "MKT")


# ------------------------------------------------------------------------------------------------------------ Kalshi
KALSHI_BASE = "https://kalshi.test/trade-api/v2"


class FakeKalshi:
    """Kalshi's V1 create-order and positions endpoints over one member's positions (YES > 0, NO < 0)."""

    def __init__(self, books: dict[str, tuple[Decimal, Decimal]]) -> None:
        self.api = specs.openapi3(specs.KALSHI_SPEC)
        self.books = books  # ticker -> best YES bid, best YES ask
        self.held: dict[str, Decimal] = {}  # ticker -> contracts, positive YES, negative NO
        self.cost: dict[str, Decimal] = {}
        self.orders: list[dict[str, Any]] = []
        self._ids = iter(range(1000, 2000))

    def install(self, router: respx.MockRouter) -> None:
        router.post("/portfolio/orders").mock(side_effect=self.create)
        router.get("/portfolio/positions").mock(side_effect=self.positions)

    def create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.api.body("/portfolio/orders", "post", body)
        self.api.schema("CreateOrderRequest", body)
        self.orders.append(body)
        ticker, side, action = body["ticker"], body["side"], body["action"]
        bid, ask = self.books[ticker]
        # The price of the side traded: buying YES lifts the YES ask, buying NO the NO ask (1 − YES bid);
        # selling YES hits the YES bid, selling NO the NO bid (1 − YES ask).
        yes_price = {("yes", "buy"): ask, ("no", "buy"): bid, ("yes", "sell"): bid, ("no", "sell"): ask}[
            (side, action)]
        price = yes_price if side == "yes" else 1 - yes_price
        limit = Decimal(body[f"{side}_price_dollars"])
        count = Decimal(body["count_fp"])
        signed = 1 if side == "yes" else -1
        held = self.held.get(ticker, Decimal(0)) * signed  # contracts held on this side
        if body.get("reduce_only"):
            count = min(count, max(held, Decimal(0)))  # Kalshi caps a reduce-only order at the holding
        crosses = price <= limit if action == "buy" else price >= limit
        filled = count if crosses else Decimal(0)
        fee_cents = kalshi_fee_cents(int(filled * 100), price * 100)
        self.held[ticker] = self.held.get(ticker, Decimal(0)) + signed * (filled if action == "buy" else -filled)
        if action == "buy":
            self.cost[ticker] = self.cost.get(ticker, Decimal(0)) + filled * price
        answer = _recorded("kalshi", "order_executed")
        answer["order"].update(
            order_id=f"order-{next(self._ids)}", client_order_id=body["client_order_id"], ticker=ticker, side=side,
            action=action, status="executed" if filled else "canceled",
            yes_price_dollars=f"{yes_price:.4f}", no_price_dollars=f"{1 - yes_price:.4f}",
            fill_count_fp=f"{filled:.2f}", initial_count_fp=body["count_fp"],
            remaining_count_fp=f"{Decimal(body['count_fp']) - filled:.2f}",
            taker_fees_dollars=f"{Decimal(fee_cents) / 100:.4f}", taker_fill_cost_dollars=f"{filled * price:.4f}")
        self.api.schema("CreateOrderResponse", answer)
        return httpx.Response(201, json=answer)

    def positions(self, request: httpx.Request) -> httpx.Response:
        template = _recorded("kalshi", "positions")
        row = template["market_positions"][0]
        rows = [dict(row, ticker=ticker, position_fp=f"{count:.2f}",
                     market_exposure_dollars=f"{self.cost[ticker] if count else 0:.4f}")
                for ticker, count in self.held.items() if count]
        answer = {"market_positions": rows, "event_positions": [], "cursor": ""}
        self.api.schema("GetPositionsResponse", answer)
        return httpx.Response(200, json=answer)


def test_kalshi_opens_yes_and_no_and_closes_both(make_config, make_signal, tmp_path: Path) -> None:
    key = tmp_path / "kalshi.key"
    key.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    key.chmod(0o600)
    config = make_config(broker={"kind": "kalshi", "secrets_file": "broker.env"}, sizing=SIZING)
    follower, venue = _follower(config, f"KALSHI_API_KEY_ID=a952bcbe-ec3b-4b5b-b8f9-11dae589608c\n"
                                        f"KALSHI_PRIVATE_KEY_PATH={key}\nKALSHI_BASE_URL={KALSHI_BASE}\n")
    yes_ticker, no_ticker = "KXHIGHNY-25DEC27-B31.5", "KXHIGHNY-25DEC27-T36"
    fake = FakeKalshi({yes_ticker: (Decimal("0.36"), Decimal("0.38")), no_ticker: (Decimal("0.40"), Decimal("0.43"))})
    yes = make_signal(instrument=yes_ticker, side="yes", limit_price=Decimal("0.38"), dry_run=False)
    no = make_signal(instrument=no_ticker, side="no", limit_price=Decimal("0.60"), dry_run=False)
    with respx.mock(base_url=KALSHI_BASE, assert_all_called=True) as router:
        fake.install(router)
        opened = [follower.handle(s.to_json_dict()) for s in (yes, no)]
        assert [o.verdict for o in opened] == ["traded", "traded"], opened
        buy_yes, buy_no = fake.orders
        # Both open by buying their side, priced on that side, never reduce-only. $50 at the worst acceptable
        # $0.40 buys 125 YES; at $0.62 it buys 80 NO.
        assert (buy_yes["side"], buy_yes["action"], buy_yes["yes_price_dollars"], buy_yes["count_fp"]) == (
            "yes", "buy", "0.4000", "125.00")
        assert (buy_no["side"], buy_no["action"], buy_no["no_price_dollars"], buy_no["count_fp"]) == (
            "no", "buy", "0.6200", "80.00")
        assert "reduce_only" not in buy_yes and "reduce_only" not in buy_no
        filled = _filled(follower)
        assert (filled[yes.id]["fill_price"], filled[yes.id]["count"]) == ("0.3800", 12_500)
        assert (filled[no.id]["fill_price"], filled[no.id]["count"]) == ("0.6000", 8_000)  # NO ask = 1 − 0.40
        # The venue's own fee for the fill, ⌈0.07 × 125 × 0.38 × 0.62⌉ = $2.07, is what the client books.
        assert filled[yes.id]["fees"] == kalshi_fee_cents(12_500, 38) == 207
        assert {(p.symbol, p.side, p.quantity) for p in venue.positions()} == {(yes_ticker, "yes", 12_500),
                                                                                (no_ticker, "no", 8_000)}

        venue.close_position(yes_ticker, "close-yes")
        venue.close_position(no_ticker, "close-no")
        assert venue.positions() == []
    sell_yes, sell_no = fake.orders[2:]
    # Closes sell the side held, reduce-only, at the most aggressive limit (Kalshi has no market orders).
    assert (sell_yes["side"], sell_yes["action"], sell_yes["yes_price_dollars"], sell_yes["count_fp"],
            sell_yes["reduce_only"]) == ("yes", "sell", "0.0100", "125.00", True)
    assert (sell_no["side"], sell_no["action"], sell_no["no_price_dollars"], sell_no["count_fp"],
            sell_no["reduce_only"]) == ("no", "sell", "0.0100", "80.00", True)
