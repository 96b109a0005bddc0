"""The IBKR implementation of the ``Venue`` protocol through the Client Portal gateway (ibeam).

Order placement follows the gateway's confirmation flow: a submission may come back as order-reply questions
(``[{id, message[]}]``) that must be confirmed with ``POST /iserver/reply/{id}`` until an ``order_id`` arrives.
Each order carries ``cOID`` = our client order id; it comes back as ``order_ref`` on executions, which is how an
order is found again after a timeout (the gateway has no idempotency key either).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Literal

import httpx

from shared.clock import Clock, WallClock
from shared.config import SurfaceSettings
from shared.http import MalformedResponseError, RequestRejected, RetryPolicy, VenueTimeoutError, error_text
from shared.venues.base import (
    AuthError,
    Balance,
    BookLevel,
    Candle,
    Fill,
    Instrument,
    MarketStatus,
    NotFoundError,
    OrderBook,
    OrderRejected,
    OrderRequest,
    OrderResult,
    Position,
    Quote,
    Settlement,
    VenueError,
    direction,
)
from shared.venues.ibkr import schemas as w
from shared.venues.ibkr.auth import GatewaySession
from shared.venues.ibkr.client import IbkrClient
from shared.venues.ibkr.config import IbkrConfig

_TIF = {"ioc": "IOC", "gtc": "GTC", "day": "DAY"}


def wire_side(request: OrderRequest) -> Literal["BUY", "SELL"]:
    """The ticket's ``side`` from the order's side and intent: open long / close short buy, the others sell."""
    return "BUY" if direction(request.side, request.intent) == "buy" else "SELL"
US_EXCHANGES = ("NASDAQ", "NYSE", "ARCA", "AMEX", "BATS", "NYSE ARCA")
MAX_POSITION_PAGES = 50


def limit_on_tick(price: Decimal, side: Literal["BUY", "SELL"]) -> Decimal:
    """A limit on the US-stock tick (a cent, 1/100 cent below $1: Reg NMS rule 612), rounded to the safe side.

    A limit is the worst price accepted: a buy's rounds down and a sell's up, so rounding never accepts worse.
    """
    tick = Decimal("0.01") if price >= 1 else Decimal("0.0001")
    return price.quantize(tick, rounding=ROUND_FLOOR if side == "BUY" else ROUND_CEILING)


def json_number(value: Decimal, what: str) -> float:
    """A Decimal for a JSON-number field; refuses a value a float would not carry exactly."""
    number = float(value)
    if Decimal(repr(number)) != value.normalize():
        raise OrderRejected("ibkr", f"{what}_precision: {value}")
    return number


class IbkrVenue:
    """IBKR (Client Portal Web API via ibeam) as a ``Venue``."""

    name = "ibkr"

    def __init__(
        self,
        client: IbkrClient,
        clock: Clock | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.config = client.config
        self.clock: Clock = clock or WallClock()
        self.session = GatewaySession(client.http, tickle_interval_s=self.config.tickle_interval_s, monotonic=monotonic)
        self._sleep = sleep
        self._conids: dict[str, int] = {}
        self._iserver_primed = False
        self._portfolio_primed = False

    @classmethod
    def from_settings(
        cls,
        settings: SurfaceSettings,
        clock: Clock | None = None,
        *,
        symbols: tuple[str, ...] | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> IbkrVenue:
        """Build the venue from a surface's settings (``IBKR_*`` keys; the surface's ``STOCK_SYMBOLS`` unless given)."""
        if symbols is None and getattr(settings, "stock_symbols", None):
            symbols = tuple(settings.stock_symbols)  # type: ignore[attr-defined]
        config = (
            IbkrConfig.from_settings(settings)
            if symbols is None
            else IbkrConfig.from_settings(settings, symbols=symbols)
        )
        return cls(IbkrClient(config, transport=transport, retry=retry, sleep=sleep), clock, sleep=sleep)

    # ---- session -----------------------------------------------------------------------------------------------

    def _iserver(self) -> None:
        """Session check + keep-alive, and the /iserver/accounts call IBKR requires before orders and data."""
        self.session.ensure()
        if not self._iserver_primed:
            self.client.accounts()
            self._iserver_primed = True

    def _portfolio(self) -> None:
        self.session.ensure()
        if not self._portfolio_primed:
            self.client.portfolio_accounts()
            self._portfolio_primed = True

    # ---- reference and market data -----------------------------------------------------------------------------

    def conid(self, symbol: str) -> int:
        """The contract id of a US stock, cached for the life of the venue."""
        cached = self._conids.get(symbol)
        if cached is not None:
            return cached
        self._iserver()
        matches = [
            item
            for item in self.client.secdef_search(symbol)
            if (item.symbol or "").upper() == symbol.upper() and any(s.secType == "STK" for s in item.sections)
        ]
        us = [item for item in matches if (item.description or "").upper() in US_EXCHANGES]
        candidates = us or matches
        if not candidates:
            raise NotFoundError(self.name, f"no stock contract for {symbol}")
        chosen = candidates[0]
        self._conids[symbol] = chosen.conid
        return chosen.conid

    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]:
        """The configured symbols (market hours are the strategy's concern; quotes show when nothing trades)."""
        if status not in (None, "open"):
            return []
        return [self.instrument(symbol) for symbol in self.config.symbols]

    def instrument(self, symbol: str) -> Instrument:
        """A configured stock with its conid; NotFoundError for anything else."""
        if symbol not in self.config.symbols:
            raise NotFoundError(self.name, f"{symbol} is not a configured symbol")
        return Instrument(
            venue=self.name,
            symbol=symbol,
            kind="equity",
            title=symbol,
            category="equity",
            underlying=symbol,
            fee_type="ibkr_fixed",
            fee_multiplier=Decimal(0),
            attributes={"conid": str(self.conid(symbol))},
        )

    def quote(self, symbol: str) -> Quote:
        """Snapshot bid/ask/last; the first call is a pre-flight that may return no fields, so poll again."""
        conid = self.conid(symbol)
        self._iserver()
        availability = ""
        for attempt in range(self.config.snapshot_polls):
            if attempt:
                self._sleep(self.config.snapshot_poll_interval_s)
            rows = [
                row for row in self.client.snapshot([conid], w.SNAPSHOT_FIELDS) if str(row.get("conid")) == str(conid)
            ]
            if not rows:
                continue
            row = rows[0]
            availability = str(row.get(w.FIELD_AVAILABILITY, ""))
            try:
                bid = w.parse_md_price(row.get(w.FIELD_BID))
                ask = w.parse_md_price(row.get(w.FIELD_ASK))
                last = w.parse_md_price(row.get(w.FIELD_LAST))
                bid_size = w.parse_md_size(row.get(w.FIELD_BID_SIZE))
                ask_size = w.parse_md_size(row.get(w.FIELD_ASK_SIZE))
            except ValueError as exc:
                raise MalformedResponseError(self.name, f"snapshot {symbol}: {exc}") from None
            if bid is None and ask is None and last is None:
                continue
            return Quote(symbol, self.clock.now(), bid, ask, bid_size, ask_size, last)
        raise VenueError(
            self.name,
            f"no market data for {symbol} after {self.config.snapshot_polls} snapshots (availability {availability!r})",
            retryable=True,
        )

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook:
        """Top of book only (depth needs a market-depth subscription tbot does not use)."""
        quote = self.quote(symbol)
        bids = (BookLevel(quote.bid, quote.bid_size or 0),) if quote.bid is not None else ()
        asks = (BookLevel(quote.ask, quote.ask_size or 0),) if quote.ask is not None else ()
        return OrderBook(symbol, quote.at, bids, asks)

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        """Complete history bars (regular trading hours), oldest first."""
        bar = w.BARS.get(granularity_s)
        if bar is None:
            raise ValueError(f"IBKR history bars come in {sorted(w.BARS)} seconds, not {granularity_s}")
        # Intraday: 6.5-hour sessions; daily: five sessions a week, plus slack for holidays.
        intraday = granularity_s < 86400
        days = math.ceil(count * granularity_s / 23_400) + 1 if intraday else math.ceil(count * 7 / 5) + 3
        conid = self.conid(symbol)
        self._iserver()
        history = self.client.history(conid, f"{days}d", bar)
        now = self.clock.now()
        candles = [w.to_candle(symbol, item, granularity_s) for item in history.data]
        complete = [c for c in candles if c.start + timedelta(seconds=granularity_s) <= now]
        return sorted(complete, key=lambda c: c.start)[-count:]

    # ---- orders ------------------------------------------------------------------------------------------------

    def build_orders(self, request: OrderRequest, conid: int) -> dict[str, Any]:
        """The ordersSubmissionRequest: one ticket, or a bracket (parent + STP/LMT children) when SL/TP are set."""
        if request.side not in ("long", "short"):
            raise OrderRejected(self.name, f"side_{request.side}_not_equity")
        if request.quantity <= 0:
            raise OrderRejected(self.name, "quantity_must_be_positive")
        tif = _TIF.get(request.time_in_force)
        if tif is None:
            raise OrderRejected(self.name, f"time_in_force_{request.time_in_force}_unsupported")
        side = wire_side(request)
        exit_side = "SELL" if side == "BUY" else "BUY"
        base = {"acctId": self.config.account_id, "conid": conid, "quantity": request.quantity}
        parent: dict[str, Any] = base | {
            "cOID": request.client_order_id,
            "orderType": "LMT" if request.limit_price is not None else "MKT",
            "side": side,
            "tif": tif,
            "outsideRTH": False,
        }
        if request.limit_price is not None:
            parent["price"] = json_number(limit_on_tick(request.limit_price, side), "limit_price")
        orders = [parent]
        if request.intent == "open":  # brackets protect what an order opens; a close has nothing to protect
            if request.stop_loss is not None:
                orders.append(
                    base
                    | {
                        "cOID": f"{request.client_order_id}-sl",
                        "parentId": request.client_order_id,
                        "orderType": "STP",
                        "side": exit_side,
                        "tif": "GTC",
                        "price": json_number(request.stop_loss, "stop_loss"),
                    }
                )
            if request.take_profit is not None:
                orders.append(
                    base
                    | {
                        "cOID": f"{request.client_order_id}-tp",
                        "parentId": request.client_order_id,
                        "orderType": "LMT",
                        "side": exit_side,
                        "tif": "GTC",
                        "price": json_number(request.take_profit, "take_profit"),
                    }
                )
        return {"orders": orders}

    def _confirm(self, response: Any) -> str:
        """Walk the order-reply questions until the gateway returns an order id."""
        for _ in range(self.config.max_order_replies + 1):
            if isinstance(response, dict) and "error" in response:
                raise OrderRejected(self.name, str(response["error"]))
            if not isinstance(response, list) or not response or not isinstance(response[0], dict):
                raise MalformedResponseError(self.name, "order submission: unexpected response shape")
            first = response[0]
            if "order_id" in first:
                return w.parse(w.WireSubmitted, first, "order submission").order_id
            reply = w.parse(w.WireReply, first, "order reply message")
            response = self.client.reply(reply.id, confirmed=True)
        raise OrderRejected(self.name, f"more than {self.config.max_order_replies} order-reply questions")

    def place_order(self, request: OrderRequest) -> OrderResult:
        """Submit, confirm the order-reply questions, then read the order's status."""
        body = self.build_orders(request, self.conid(request.symbol))
        self._iserver()
        for _ in range(self.config.resend_attempts + 1):
            try:
                order_id = self._confirm(self.client.place_orders(body))
            except VenueTimeoutError:
                existing = self.order_by_client_id(request.client_order_id)
                if existing is not None:
                    return existing
                continue
            except RequestRejected as exc:
                raise OrderRejected(self.name, error_text(exc.body)) from None
            except AuthError:
                self.session.invalidate()
                raise
            status = self.client.order_status(order_id)
            return w.to_result(request.client_order_id, status, self.clock.now())
        raise VenueError(self.name, f"order {request.client_order_id} timed out on every attempt", retryable=True)

    def cancel_order(self, venue_order_id: str) -> None:
        """Request cancellation (the gateway acknowledges; the order status shows the outcome)."""
        self._iserver()
        response = self.client.cancel(venue_order_id)
        if isinstance(response, dict) and "error" in response:
            raise VenueError(self.name, f"cancel {venue_order_id}: {response['error']}")

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        """Executions of the last 7 days whose ``order_ref`` is our cOID, aggregated; None if none."""
        self._iserver()
        mine = [e for e in self.client.trades(7) if e.order_ref == client_order_id]
        if not mine:
            return None
        quantity = sum(w.whole(e.size, f"execution {e.execution_id}") for e in mine)
        notional = sum((e.price * e.size for e in mine), Decimal(0))
        order_id = mine[0].order_id
        return OrderResult(
            client_order_id=client_order_id,
            venue_order_id=str(int(order_id)) if order_id is not None else mine[0].execution_id,
            status="filled",
            filled_quantity=quantity,
            avg_fill_price=(notional / quantity) if quantity else None,
            fees_cents=sum(w.cost_cents(e.commission) for e in mine),
            at=max(datetime.fromtimestamp(e.trade_time_r / 1000, tz=self.clock.now().tzinfo) for e in mine),
        )

    def positions(self) -> list[Position]:
        """All non-zero stock positions across the portfolio pages."""
        self._portfolio()
        out: list[Position] = []
        for page in range(MAX_POSITION_PAGES):
            items = self.client.positions(page)
            out.extend(p for p in (w.to_position(item) for item in items) if p is not None)
            if len(items) < 100:
                break
        return out

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        """Flatten the position with a DAY market order on the opposite side."""
        held = [
            p
            for p in self.positions()
            if p.symbol == symbol or (venue_position_id is not None and p.venue_position_id == venue_position_id)
        ]
        if not held:
            raise NotFoundError(self.name, f"no open position in {symbol}")
        position = held[0]
        request = OrderRequest(
            client_order_id=client_order_id,
            symbol=symbol,
            side=position.side,
            intent="close",
            quantity=position.quantity,
            time_in_force="day",
        )
        if position.venue_position_id is not None:
            self._conids.setdefault(symbol, int(position.venue_position_id))
        return self.place_order(request)

    def fills(self, since: datetime | None = None) -> list[Fill]:
        """Executions (at most the gateway's 7 days) since ``since``, oldest first.

        Executions carry only a direction, not whether they opened or closed: B is reported as opening a long and
        S as closing one, so ``direction(side, intent)`` gives back the execution's own buy or sell. A bracket
        child (``cOID`` ``<parent>-sl`` / ``-tp``) is known to close: it closes the parent's position (a B child
        closes a short), and names the parent's client order id as the position it closed.
        """
        self._iserver()
        now = self.clock.now()
        days = 7 if since is None else max(1, min(7, math.ceil((now - since).total_seconds() / 86400)))
        out: list[Fill] = []
        for e in self.client.trades(days):
            at = datetime.fromtimestamp(e.trade_time_r / 1000, tz=now.tzinfo)
            if since is not None and at < since:
                continue
            parent = e.order_ref[:-3] if e.order_ref and e.order_ref.endswith(("-sl", "-tp")) else None
            out.append(
                Fill(
                    venue_order_id=str(int(e.order_id)) if e.order_id is not None else e.execution_id,
                    client_order_id=e.order_ref,
                    symbol=e.symbol,
                    side=("short" if e.side == "B" else "long") if parent else "long",
                    intent="close" if parent or e.side != "B" else "open",
                    quantity=w.whole(e.size, f"execution {e.execution_id}"),
                    price=e.price,
                    fees_cents=w.cost_cents(e.commission),
                    at=at,
                    position_id=parent or e.order_ref,
                )
            )
        return sorted(out, key=lambda f: f.at)

    def settlements(self, since: datetime | None = None) -> list[Settlement]:
        """Stock positions do not settle; the resolver closes them at SL/TP."""
        return []

    def balance(self) -> Balance:
        """Total cash and net liquidation value in cents (account base currency)."""
        self._portfolio()
        summary = self.client.summary()
        cash = summary.get("totalcashvalue")
        if cash is None or cash.amount is None or cash.isNull:
            raise MalformedResponseError(self.name, "portfolio summary has no totalcashvalue")
        nav = summary.get("netliquidation")
        return Balance(
            cash_cents=int((cash.amount * 100).to_integral_value()),
            portfolio_value_cents=int((nav.amount * 100).to_integral_value())
            if nav and nav.amount is not None
            else None,
        )
