"""The Kalshi implementation of the ``Venue`` protocol.

Orders are limit orders (Kalshi dropped ``type``/market orders): an exit "at market" is an IOC limit at the most
aggressive price. Orders are idempotent per ``client_order_id``: a 409 on create means Kalshi already has it, and
the existing order is returned instead of a second one being placed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import httpx

from shared.clock import Clock, WallClock
from shared.config import SurfaceSettings
from shared.http import RequestRejected, RetryPolicy, error_text
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
    direction,
)
from shared.venues.kalshi import schemas as w
from shared.venues.kalshi.auth import KalshiSigner
from shared.venues.kalshi.client import KalshiClient
from shared.venues.kalshi.config import KalshiConfig, OrderApi

if TYPE_CHECKING:
    from shared.venues.kalshi.ws import KalshiStream

_TIF = {"ioc": "immediate_or_cancel", "fok": "fill_or_kill", "gtc": "good_till_canceled"}
_FILTER: dict[str, str] = {"unopened": "unopened", "open": "open", "closed": "closed", "settled": "settled"}
_PERIODS = {60: 1, 3600: 60, 86400: 1440}
_BINARY_SIDES = ("yes", "no")
MIN_PRICE = Decimal("0.01")
MAX_PRICE = Decimal("0.99")


class KalshiVenue:
    """Kalshi Trade API v2 as a ``Venue``."""

    name = "kalshi"

    def __init__(self, client: KalshiClient, clock: Clock | None = None, stream: KalshiStream | None = None) -> None:
        self.client = client
        self.config = client.config
        self.clock: Clock = clock or WallClock()
        # KALSHI_WS=on: books and quotes come from the WebSocket's local books while they are live, else REST.
        self.stream = stream
        self._series: dict[str, w.WireSeries] = {}
        self._event_series: dict[str, str] = {}

    @classmethod
    def from_settings(
        cls,
        settings: SurfaceSettings,
        clock: Clock | None = None,
        *,
        order_api: OrderApi | None = None,
        series: tuple[str, ...] | None = None,
        signer: KalshiSigner | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> KalshiVenue:
        """Build the venue from a surface's settings (``KALSHI_*`` keys; the surface's ``KALSHI_ORDER_API`` and
        ``KALSHI_SERIES`` unless given here)."""
        api: OrderApi = order_api if order_api is not None else getattr(settings, "kalshi_order_api", "v1")
        chosen = series if series is not None else tuple(getattr(settings, "kalshi_series", ()))
        config = KalshiConfig.from_settings(settings, order_api=api, series=chosen)
        if not config.ws:
            return cls(KalshiClient(config, signer=signer, transport=transport, retry=retry), clock)
        from shared.venues.kalshi.auth import load_private_key
        from shared.venues.kalshi.ws import KalshiStream, StreamConfig

        signer = signer or KalshiSigner(config.api_key_id, load_private_key(config.private_key_path))
        client = KalshiClient(config, signer=signer, transport=transport, retry=retry)
        # The account's fills and order updates only when trading live: paper reads market data and nothing else.
        stream_config = StreamConfig(
            url=config.ws_url, private=settings.trading_mode == "live", stale_after_s=config.ws_stale_s
        )
        return cls(client, clock, KalshiStream(stream_config, signer).start())

    def close(self) -> None:
        """Stop the WebSocket stream (if any) and release HTTP connections."""
        if self.stream is not None:
            self.stream.close()
        self.client.close()

    # ---- reference data ----------------------------------------------------------------------------------------

    def _series_of_event(self, event_ticker: str) -> w.WireSeries | None:
        series_ticker = self._event_series.get(event_ticker)
        if series_ticker is None:
            try:
                series_ticker = self.client.event(event_ticker).series_ticker
            except NotFoundError:
                return None
            self._event_series[event_ticker] = series_ticker
        return self._series_by_ticker(series_ticker)

    def _series_by_ticker(self, series_ticker: str) -> w.WireSeries:
        if series_ticker not in self._series:
            self._series[series_ticker] = self.client.series(series_ticker)
        return self._series[series_ticker]

    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]:
        """Markets with the given status (restricted to the configured series when there are any)."""
        filters: dict[str, Any] = {"status": _FILTER[status]} if status else {}
        out: list[Instrument] = []
        if self.config.series:
            for series_ticker in self.config.series:
                series = self._series_by_ticker(series_ticker)
                for market in self.client.markets(series_ticker=series_ticker, **filters):
                    self._event_series[market.event_ticker] = series_ticker
                    out.append(w.to_instrument(market, series))
            return out
        for market in self.client.markets(**filters):
            out.append(w.to_instrument(market, self._series_of_event(market.event_ticker)))
        return out

    def instrument(self, symbol: str) -> Instrument:
        """One market with its current status and result."""
        market = self.client.market(symbol)
        return w.to_instrument(market, self._series_of_event(market.event_ticker))

    def quote(self, symbol: str) -> Quote:
        """Best YES bid/ask: from the live WebSocket book when it is in sync and fresh, else the market object."""
        if self.stream is not None:
            live = self.stream.quote(symbol, self.clock.now())
            if live is not None:
                return live
            self.stream.track(symbol)
        return w.to_quote(self.client.market(symbol), self.clock.now())

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook:
        """YES bids and YES asks (= 1 − NO bids), best first: from the live WebSocket book when it is in sync and
        fresh, else from REST (``GET /markets/{ticker}/orderbook``; a market read here is tracked from then on)."""
        if self.stream is not None:
            live = self.stream.orderbook(symbol, depth, self.clock.now())
            if live is not None:
                return live
            self.stream.track(symbol)
        return w.to_orderbook(symbol, self.client.orderbook(symbol, depth), self.clock.now(), depth)

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        """Complete candlesticks (1 min, 1 h or 1 day) ending at the venue's now, oldest first."""
        period = _PERIODS.get(granularity_s)
        if period is None:
            raise ValueError(f"Kalshi candlesticks come in {sorted(_PERIODS)} seconds, not {granularity_s}")
        market = self.client.market(symbol)
        series = self._series_of_event(market.event_ticker)
        if series is None:
            raise NotFoundError(self.name, f"no series for {symbol}")
        end = int(self.clock.now().timestamp())
        start = end - granularity_s * (count + 1)
        raw = self.client.candlesticks(series.ticker, symbol, start, end, period)
        candles = [c for c in (w.to_candle(symbol, item, granularity_s) for item in raw) if c is not None]
        complete = [c for c in candles if c.start + timedelta(seconds=granularity_s) <= self.clock.now()]
        return complete[-count:]

    # ---- orders ------------------------------------------------------------------------------------------------

    def _tif(self, request: OrderRequest) -> str:
        tif = _TIF.get(request.time_in_force)
        if tif is None:
            raise OrderRejected(self.name, f"time_in_force_{request.time_in_force}_unsupported")
        return tif

    @staticmethod
    def _post_only(request: OrderRequest) -> bool:
        return request.time_in_force == "gtc" and request.intent == "open"

    def wire_action(self, request: OrderRequest) -> Literal["buy", "sell"]:
        """Kalshi's ``action`` on a YES/NO side: buy that side to open it, sell it to close."""
        if request.side not in _BINARY_SIDES:
            raise OrderRejected(self.name, f"side_{request.side}_not_binary")
        return direction(request.side, request.intent)

    def build_v1_body(self, request: OrderRequest) -> dict[str, Any]:
        """The CreateOrderRequest body: a limit order priced on the side traded, no ``type`` field."""
        action = self.wire_action(request)
        if request.limit_price is None:
            raise OrderRejected(self.name, "limit_price_required")
        tif = self._tif(request)
        try:
            price = w.format_dollars(request.limit_price)
            count = w.format_fp(request.quantity)
        except ValueError as exc:
            raise OrderRejected(self.name, f"invalid_order: {exc}") from None
        body: dict[str, Any] = {
            "ticker": request.symbol,
            "client_order_id": request.client_order_id,
            "side": request.side,
            "action": action,
            "count_fp": count,
            f"{request.side}_price_dollars": price,
            "time_in_force": tif,
            # A resting opening order (GTC: the maker styles) is post-only, so a book that moved between the read and
            # the send cancels it instead of filling it as a taker; an IOC/FOK that must not cross would never fill.
            "post_only": self._post_only(request),
        }
        if request.intent == "close":
            body["reduce_only"] = True  # a close never opens the other side when the holding is smaller
        return body

    def build_v2_body(self, request: OrderRequest) -> dict[str, Any]:
        """The CreateOrderV2Request body: YES book only, so buying NO at p is selling YES at 1 − p."""
        v1 = self.build_v1_body(request)
        assert request.limit_price is not None
        buys_yes = (request.side == "yes") == (v1["action"] == "buy")
        yes_price = request.limit_price if request.side == "yes" else w.ONE - request.limit_price
        return {
            "ticker": request.symbol,
            "client_order_id": request.client_order_id,
            "side": "bid" if buys_yes else "ask",
            "count": v1["count_fp"],
            "price": w.format_dollars(yes_price),
            "time_in_force": v1["time_in_force"],
            "self_trade_prevention_type": "taker_at_cross",
            "post_only": v1["post_only"],
            # Selling what we hold must never open the opposite position.
            "reduce_only": request.intent == "close",
        }

    def place_order(self, request: OrderRequest) -> OrderResult:
        """Send a limit order; a repeat of a known client_order_id returns the existing order."""
        try:
            if self.config.order_api == "v2":
                response = self.client.create_order_v2(self.build_v2_body(request))
                side: Literal["yes", "no"] = "yes" if request.side == "yes" else "no"
                return w.v2_to_result(
                    response, request.client_order_id, side, request.time_in_force == "gtc", self.clock.now()
                )
            return w.order_to_result(self.client.create_order(self.build_v1_body(request)), self.clock.now())
        except RequestRejected as exc:
            if exc.status == 409:
                existing = self.order_by_client_id(request.client_order_id)
                if existing is not None:
                    return existing
            raise OrderRejected(self.name, error_text(exc.body)) from None

    def cancel_order(self, venue_order_id: str) -> None:
        """Cancel a resting order (reduce it to zero)."""
        self.client.cancel_order(venue_order_id, v2=self.config.order_api == "v2")

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        """Search recent orders (``order_lookback_days``) for this client_order_id."""
        since = self.clock.now() - timedelta(days=self.config.order_lookback_days)
        for order in self.client.orders(min_ts=int(since.timestamp())):
            if order.client_order_id == client_order_id:
                return w.order_to_result(order, self.clock.now())
        return None

    def positions(self) -> list[Position]:
        """Open market positions (YES for positive counts, NO for negative)."""
        return [p for p in (w.to_position(item) for item in self.client.positions()) if p is not None]

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        """Sell the whole position with an IOC limit at the most aggressive price (Kalshi has no market orders)."""
        held = [p for p in self.positions() if p.symbol == symbol]
        if not held:
            raise NotFoundError(self.name, f"no open position in {symbol}")
        position = held[0]
        request = OrderRequest(
            client_order_id=client_order_id,
            symbol=symbol,
            side=position.side,
            intent="close",
            quantity=position.quantity,
            limit_price=MIN_PRICE,
            time_in_force="ioc",
        )
        return self.place_order(request)

    def fills(self, since: datetime | None = None) -> list[Fill]:
        """Fills since ``since`` (all when None), oldest first."""
        raw = self.client.fills(int(since.timestamp()) if since else None)
        return sorted((w.to_fill(item) for item in raw), key=lambda fill: fill.at)

    def settlements(self, since: datetime | None = None) -> list[Settlement]:
        """Settlements since ``since`` (all when None), oldest first."""
        raw = self.client.settlements(int(since.timestamp()) if since else None)
        return sorted((w.to_settlement(item) for item in raw), key=lambda s: s.settled_at)

    def balance(self) -> Balance:
        """Cash and portfolio value in cents."""
        return w.to_balance(self.client.balance())


__all__ = ["KalshiVenue"]
