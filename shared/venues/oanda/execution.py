"""The OANDA implementation of the ``Venue`` protocol: MARKET orders with SL/TP attached on fill.

OANDA has no idempotency key. Each order carries ``clientExtensions.id`` = our client order id; when a send times
out, the order is looked up as ``@<clientID>`` before anything is resent, so a slow venue never gets a duplicate.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from shared.clock import Clock, WallClock
from shared.config import SurfaceSettings
from shared.http import MalformedResponseError, RequestRejected, RetryPolicy, VenueTimeoutError
from shared.venues.base import (
    Balance,
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
from shared.venues.oanda import schemas as w
from shared.venues.oanda.client import OandaClient
from shared.venues.oanda.config import OandaConfig

_TIF = {"ioc": "IOC", "fok": "FOK"}


def signed_units(request: OrderRequest) -> int:
    """OANDA's signed ``units``: positive buys, negative sells, from the order's side and intent alone."""
    return request.quantity if direction(request.side, request.intent) == "buy" else -request.quantity


def tick_size(pair: str) -> Decimal:
    """Price precision OANDA accepts: 3 decimals for JPY crosses, 5 otherwise."""
    return Decimal("0.001") if pair.endswith("_JPY") else Decimal("0.00001")


class OandaVenue:
    """OANDA v20 as a ``Venue``."""

    name = "oanda"

    def __init__(self, client: OandaClient, clock: Clock | None = None) -> None:
        self.client = client
        self.config = client.config
        self.clock: Clock = clock or WallClock()

    @classmethod
    def from_settings(
        cls,
        settings: SurfaceSettings,
        clock: Clock | None = None,
        *,
        pairs: tuple[str, ...] | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> OandaVenue:
        """Build the venue from a surface's settings (``OANDA_*`` keys; the surface's ``FX_PAIRS`` unless given)."""
        if pairs is None and getattr(settings, "fx_pairs", None):
            pairs = tuple(settings.fx_pairs)  # type: ignore[attr-defined]
        config = (
            OandaConfig.from_settings(settings) if pairs is None else OandaConfig.from_settings(settings, pairs=pairs)
        )
        return cls(OandaClient(config, transport=transport, retry=retry), clock)

    # ---- market data -------------------------------------------------------------------------------------------

    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]:
        """The configured pairs (FX trades around the clock on weekdays; closed hours show as empty quotes)."""
        if status not in (None, "open"):
            return []
        return [self.instrument(pair) for pair in self.config.pairs]

    def instrument(self, symbol: str) -> Instrument:
        """A configured pair; NotFoundError for anything else."""
        if symbol not in self.config.pairs:
            raise NotFoundError(self.name, f"{symbol} is not a configured pair")
        return Instrument(
            venue=self.name,
            symbol=symbol,
            kind="fx",
            title=symbol.replace("_", "/"),
            category="fx",
            underlying=symbol,
            tick_size=tick_size(symbol),
            fee_type="spread",
            fee_multiplier=Decimal(0),
        )

    def _price(self, symbol: str) -> w.WirePrice:
        for price in self.client.pricing([symbol]):
            if price.instrument == symbol:
                return price
        raise NotFoundError(self.name, f"no price for {symbol}")

    def quote(self, symbol: str) -> Quote:
        """Best bid/ask from the pricing endpoint."""
        return w.to_quote(self._price(symbol))

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook:
        """The liquidity buckets of the current price."""
        return w.to_orderbook(self._price(symbol), depth)

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        """The ``count`` most recent complete mid candles, oldest first."""
        granularity = w.GRANULARITIES.get(granularity_s)
        if granularity is None:
            raise ValueError(f"OANDA has no {granularity_s}-second granularity")
        raw = self.client.candles(symbol, granularity, count + 1, "M")
        complete = [w.to_candle(symbol, c, granularity_s, "mid") for c in raw.candles if c.complete]
        return complete[-count:]

    # ---- orders ------------------------------------------------------------------------------------------------

    def build_order(self, request: OrderRequest) -> dict[str, Any]:
        """The MarketOrderRequest: signed units, SL/TP on fill, our client id on the order and the trade."""
        if request.side not in ("long", "short"):
            raise OrderRejected(self.name, f"side_{request.side}_not_fx")
        if request.quantity <= 0:
            raise OrderRejected(self.name, "units_must_be_positive")
        tif = _TIF.get(request.time_in_force)
        if tif is None:
            raise OrderRejected(self.name, f"time_in_force_{request.time_in_force}_unsupported_for_market_orders")
        opening = request.intent == "open"
        tick = tick_size(request.symbol)
        extensions = {"id": request.client_order_id, "tag": "tbot"}
        order: dict[str, Any] = {
            "type": "MARKET",
            "instrument": request.symbol,
            "units": str(signed_units(request)),
            "timeInForce": tif,
            "positionFill": "DEFAULT" if opening else "REDUCE_ONLY",
            "clientExtensions": extensions,
        }
        if opening:
            order["tradeClientExtensions"] = dict(extensions)
        if request.limit_price is not None:
            order["priceBound"] = w.format_price(request.limit_price, tick)
        # Brackets ride on the trade an order opens; a reducing order has no trade of its own to carry them.
        if opening and request.stop_loss is not None:
            order["stopLossOnFill"] = {"price": w.format_price(request.stop_loss, tick), "timeInForce": "GTC"}
        if opening and request.take_profit is not None:
            order["takeProfitOnFill"] = {"price": w.format_price(request.take_profit, tick), "timeInForce": "GTC"}
        return order

    def place_order(self, request: OrderRequest) -> OrderResult:
        """Send a MARKET order; after a timeout, find it by ``@clientID`` before resending."""
        order = self.build_order(request)
        for _ in range(self.config.resend_attempts + 1):
            try:
                response = self.client.create_order(order)
            except VenueTimeoutError:
                existing = self.order_by_client_id(request.client_order_id)
                if existing is not None:
                    return existing
                continue  # OANDA never saw it: sending again cannot duplicate
            except RequestRejected as exc:
                raise OrderRejected(self.name, w.reject_reason(exc.body)) from None
            return self._result(request.client_order_id, response)
        raise VenueError(self.name, f"order {request.client_order_id} timed out on every attempt", retryable=True)

    def _result(self, client_order_id: str, response: w.WireOrderResponse) -> OrderResult:
        if response.orderFillTransaction is not None:
            return w.fill_result(client_order_id, response.orderFillTransaction)
        if response.orderCancelTransaction is not None:
            return w.cancel_result(
                client_order_id, response.orderCancelTransaction.orderID, response.orderCancelTransaction
            )
        created = response.orderCreateTransaction
        if created is None:
            raise MalformedResponseError(self.name, "order response has no create, fill or cancel transaction")
        return OrderResult(client_order_id, created.id, "resting", 0, None, 0, created.time or self.clock.now())

    def cancel_order(self, venue_order_id: str) -> None:
        """Cancel a pending order."""
        self.client.cancel_order(venue_order_id)

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        """OANDA's record of ``@client_order_id``: filled (with its fill), cancelled, pending; None if unknown."""
        try:
            order = self.client.order(f"@{client_order_id}")
        except NotFoundError:
            return None
        if order.state == "FILLED" and order.fillingTransactionID:
            raw = self.client.transaction(order.fillingTransactionID)
            fill = w.parse(w.WireFillTx, raw, "GET fill transaction")
            return w.fill_result(client_order_id, fill)
        if order.state == "CANCELLED":
            return OrderResult(
                client_order_id, order.id, "cancelled", 0, None, 0, order.cancelledTime or order.createTime
            )
        return OrderResult(client_order_id, order.id, "resting", 0, None, 0, order.createTime)

    def positions(self) -> list[Position]:
        """Open trades (one position per trade, with its SL/TP)."""
        return [w.to_position(trade) for trade in self.client.open_trades()]

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        """Close a trade (by id, or every open trade in ``symbol``) at market; timeouts are checked, not resent."""
        if venue_position_id is not None:
            trade_ids = [venue_position_id]
        else:
            trade_ids = [t.id for t in self.client.open_trades() if t.instrument == symbol]
            if not trade_ids:
                raise NotFoundError(self.name, f"no open trade in {symbol}")
        results = [self._close_one(trade_id, client_order_id) for trade_id in trade_ids]
        return _combine(client_order_id, results)

    def _close_one(self, trade_id: str, client_order_id: str) -> OrderResult:
        for _ in range(self.config.resend_attempts + 1):
            try:
                response = self.client.close_trade(trade_id)
            except VenueTimeoutError:
                trade = self.client.trade(trade_id)
                if trade.state == "CLOSED":
                    return OrderResult(
                        client_order_id,
                        trade_id,
                        "filled",
                        abs(trade.initialUnits),
                        trade.averageClosePrice,
                        0,
                        trade.closeTime or self.clock.now(),
                        reason="closed (confirmed after timeout)",
                    )
                continue
            except RequestRejected as exc:
                raise OrderRejected(self.name, w.reject_reason(exc.body)) from None
            return self._result(client_order_id, response)
        raise VenueError(self.name, f"closing trade {trade_id} timed out on every attempt", retryable=True)

    def fills(self, since: datetime | None = None) -> list[Fill]:
        """ORDER_FILL transactions since ``since`` (default: the last 7 days), oldest first."""
        now = self.clock.now()
        raw = self.client.fill_transactions(since or now - timedelta(days=7), now)
        out: list[Fill] = []
        for item in raw:
            fill = w.parse(w.WireFillTx, item, "ORDER_FILL transaction")
            if fill.price is None:
                continue  # a fill without a price cannot be booked; OANDA always sends one for market fills
            out.append(
                Fill(
                    venue_order_id=fill.orderID,
                    client_order_id=fill.clientOrderID,
                    symbol=fill.instrument,
                    # A closing fill moves against the trade it closes: selling 10000 closes a long.
                    side=("short" if fill.units > 0 else "long")
                    if fill.closes
                    else ("long" if fill.units > 0 else "short"),
                    intent="close" if fill.closes else "open",
                    quantity=abs(fill.units),
                    price=fill.price,
                    fees_cents=w.cost_cents(fill.commission) + w.cost_cents(fill.guaranteedExecutionFee),
                    at=fill.time,
                    # What the resolver books an exit from: the trade, OANDA's own P&L in the account currency
                    # and the half-spread it reports (already inside the price).
                    position_id=fill.trade_id,
                    realized_pnl_cents=w.to_cents(fill.pl) if fill.closes else None,
                    spread_cost_cents=w.cost_cents(fill.halfSpreadCost),
                )
            )
        return sorted(out, key=lambda f: f.at)

    def settlements(self, since: datetime | None = None) -> list[Settlement]:
        """FX positions do not settle; the resolver closes them at SL/TP."""
        return []

    def balance(self) -> Balance:
        """Account balance and NAV in cents of the account currency."""
        summary = self.client.summary()
        return Balance(
            cash_cents=w.to_cents(summary.balance),
            portfolio_value_cents=w.to_cents(summary.NAV) if summary.NAV is not None else None,
        )


def _combine(client_order_id: str, results: list[OrderResult]) -> OrderResult:
    if len(results) == 1:
        return results[0]
    filled = sum(r.filled_quantity for r in results)
    notional = sum(((r.avg_fill_price or Decimal(0)) * r.filled_quantity for r in results), Decimal(0))
    return OrderResult(
        client_order_id=client_order_id,
        venue_order_id=",".join(r.venue_order_id for r in results),
        status="filled" if all(r.status == "filled" for r in results) else "partially_filled",
        filled_quantity=filled,
        avg_fill_price=(notional / filled) if filled else None,
        fees_cents=sum(r.fees_cents for r in results),
        at=max(r.at for r in results),
    )
