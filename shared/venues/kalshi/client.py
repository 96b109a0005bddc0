"""Kalshi Trade API v2 over HTTP: one method per endpoint, returning wire models (spec 3.15.0).

Reads and writes draw on separate token buckets (Kalshi's two rate-limit buckets); 429 and 5xx are retried with
backoff and jitter by :class:`VenueHttp`. Every authenticated call is signed afresh on every attempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from shared.http import MalformedResponseError, RetryPolicy, TokenBucket, VenueHttp
from shared.venues.kalshi import schemas as w
from shared.venues.kalshi.auth import KalshiSigner, load_private_key
from shared.venues.kalshi.config import KalshiConfig

PAGE_LIMIT = 1000
MAX_PAGES = 10_000  # a guard against a venue that keeps returning the same cursor


class KalshiClient:
    """Thin typed access to the Kalshi REST endpoints tbot uses."""

    def __init__(
        self,
        config: KalshiConfig,
        *,
        signer: KalshiSigner | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Any = None,
    ) -> None:
        self.config = config
        self._signer = signer or KalshiSigner(config.api_key_id, load_private_key(config.private_key_path))
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        buckets = {
            # The write bucket holds two seconds of budget (Kalshi's documented burst); reads hold one.
            "read": TokenBucket(config.read_rate, config.read_rate, **extra),
            "write": TokenBucket(config.write_rate, config.write_rate * 2, **extra),
        }
        self.http = VenueHttp(
            "kalshi",
            config.base_url,
            headers={"Accept": "application/json", "User-Agent": "tbot/0.1"},
            auth=self._signer.headers,
            timeout_s=config.timeout_s,
            retry=retry,
            buckets=buckets,
            transport=transport,
            **extra,
        )

    def close(self) -> None:
        """Release connections."""
        self.http.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.http.request("GET", path, params=params, bucket="read")

    def _pages(self, path: str, params: dict[str, Any], key: str) -> Iterator[Any]:
        """Follow the opaque cursor until it comes back empty."""
        cursor = ""
        for _ in range(MAX_PAGES):
            body = self._get(path, params | ({"cursor": cursor} if cursor else {}))
            if not isinstance(body, dict) or not isinstance(body.get(key), list):
                raise MalformedResponseError("kalshi", f"GET {path}: missing {key!r} list")
            yield body
            next_cursor = body.get("cursor") or ""
            if not next_cursor or next_cursor == cursor:
                return
            cursor = next_cursor

    # ---- market data (public) ----------------------------------------------------------------------------------

    def markets(self, **filters: Any) -> list[w.WireMarket]:
        """GET /markets with filters (status, series_ticker, event_ticker, tickers, min_close_ts ...), all pages."""
        out: list[w.WireMarket] = []
        for body in self._pages("/markets", {"limit": PAGE_LIMIT, **filters}, "markets"):
            out.extend(w.parse(w.WireMarketsPage, body, "GET /markets").markets)
        return out

    def market(self, ticker: str) -> w.WireMarket:
        """GET /markets/{ticker}."""
        body = self._get(f"/markets/{quote(ticker, safe='')}")
        return w.parse(w.WireMarket, _field(body, "market", "GET /markets/{ticker}"), "GET /markets/{ticker}")

    def event(self, event_ticker: str) -> w.WireEvent:
        """GET /events/{event_ticker}."""
        body = self._get(f"/events/{quote(event_ticker, safe='')}")
        return w.parse(w.WireEvent, _field(body, "event", "GET /events/{t}"), "GET /events/{event_ticker}")

    def events(self, **filters: Any) -> list[w.WireEvent]:
        """GET /events with filters (series_ticker, status, min_close_ts ...), all pages (limit 200 per page)."""
        out: list[w.WireEvent] = []
        for body in self._pages("/events", {"limit": 200, **filters}, "events"):
            out.extend(w.parse(w.WireEventsPage, body, "GET /events").events)
        return out

    def series(self, series_ticker: str) -> w.WireSeries:
        """GET /series/{series_ticker}: category and fee schedule."""
        body = self._get(f"/series/{quote(series_ticker, safe='')}")
        return w.parse(w.WireSeries, _field(body, "series", "GET /series/{t}"), "GET /series/{series_ticker}")

    def orderbook(self, ticker: str, depth: int) -> w.WireBook:
        """GET /markets/{ticker}/orderbook (authenticated per spec)."""
        body = self._get(f"/markets/{quote(ticker, safe='')}/orderbook", {"depth": depth})
        return w.parse(w.WireOrderbookResponse, body, "GET /markets/{ticker}/orderbook").orderbook_fp

    def candlesticks(
        self, series_ticker: str, ticker: str, start_ts: int, end_ts: int, period_minutes: int
    ) -> list[w.WireCandle]:
        """GET /series/{series}/markets/{ticker}/candlesticks (period 1, 60 or 1440 minutes)."""
        path = f"/series/{quote(series_ticker, safe='')}/markets/{quote(ticker, safe='')}/candlesticks"
        params = {"start_ts": start_ts, "end_ts": end_ts, "period_interval": period_minutes}
        return w.parse(w.WireCandles, self._get(path, params), "GET candlesticks").candlesticks

    # ---- portfolio (authenticated) -----------------------------------------------------------------------------

    def create_order(self, body: dict[str, Any]) -> w.WireOrder:
        """POST /portfolio/orders (V1); the body is built by the execution layer and has no ``type`` field."""
        # Kalshi dedups on client_order_id (409 on a repeat), so resending after a timeout is safe.
        response = self.http.request("POST", "/portfolio/orders", json_body=body, bucket="write")
        return w.parse(w.WireOrderResponse, response, "POST /portfolio/orders").order

    def create_order_v2(self, body: dict[str, Any]) -> w.WireOrderV2Response:
        """POST /portfolio/events/orders (V2: YES book only, side bid|ask)."""
        response = self.http.request("POST", "/portfolio/events/orders", json_body=body, bucket="write")
        return w.parse(w.WireOrderV2Response, response, "POST /portfolio/events/orders")

    def cancel_order(self, order_id: str, *, v2: bool = False) -> None:
        """DELETE the order (V1 or V2 path); NotFoundError if it is unknown."""
        prefix = "/portfolio/events/orders/" if v2 else "/portfolio/orders/"
        self.http.request("DELETE", prefix + quote(order_id, safe=""), bucket="write", allow_empty=True)

    def order(self, order_id: str) -> w.WireOrder:
        """GET /portfolio/orders/{order_id}."""
        body = self._get(f"/portfolio/orders/{quote(order_id, safe='')}")
        return w.parse(w.WireOrderResponse, body, "GET /portfolio/orders/{id}").order

    def orders(self, **filters: Any) -> Iterator[w.WireOrder]:
        """GET /portfolio/orders (ticker, event_ticker, min_ts, max_ts, status), lazily across pages."""
        for body in self._pages("/portfolio/orders", {"limit": 200, **filters}, "orders"):
            yield from w.parse(w.WireOrdersPage, body, "GET /portfolio/orders").orders

    def positions(self) -> list[w.WirePosition]:
        """GET /portfolio/positions (non-zero positions only), all pages."""
        out: list[w.WirePosition] = []
        params = {"limit": PAGE_LIMIT, "count_filter": "position"}
        for body in self._pages("/portfolio/positions", params, "market_positions"):
            out.extend(w.parse(w.WirePositionsPage, body, "GET /portfolio/positions").market_positions)
        return out

    def fills(self, min_ts: int | None = None) -> list[w.WireFill]:
        """GET /portfolio/fills since ``min_ts`` (Unix seconds), all pages."""
        out: list[w.WireFill] = []
        for body in self._pages("/portfolio/fills", {"limit": 200, "min_ts": min_ts}, "fills"):
            out.extend(w.parse(w.WireFillsPage, body, "GET /portfolio/fills").fills)
        return out

    def settlements(self, min_ts: int | None = None) -> list[w.WireSettlement]:
        """GET /portfolio/settlements since ``min_ts`` (Unix seconds), all pages."""
        out: list[w.WireSettlement] = []
        for body in self._pages("/portfolio/settlements", {"limit": 200, "min_ts": min_ts}, "settlements"):
            out.extend(w.parse(w.WireSettlementsPage, body, "GET /portfolio/settlements").settlements)
        return out

    def balance(self) -> w.WireBalance:
        """GET /portfolio/balance (integer cents)."""
        return w.parse(w.WireBalance, self._get("/portfolio/balance"), "GET /portfolio/balance")


def _field(body: Any, key: str, what: str) -> Any:
    if not isinstance(body, dict) or key not in body:
        raise MalformedResponseError("kalshi", f"{what}: missing {key!r}")
    return body[key]
