"""OANDA v20 REST over HTTP: one method per endpoint, returning wire models (spec 3.0.25).

Order-creating calls are sent with ``repeat_on_timeout=False``: OANDA has no idempotency key, so a timeout
surfaces as :class:`VenueTimeoutError` and the execution layer looks the order up by ``@clientID`` first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from shared.http import MalformedResponseError, RetryPolicy, TokenBucket, VenueHttp
from shared.venues.oanda import schemas as w
from shared.venues.oanda.auth import auth_headers
from shared.venues.oanda.config import OandaConfig

PriceComponent = Literal["M", "B", "A"]


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OandaClient:
    """Thin typed access to the v20 endpoints tbot uses, scoped to one account."""

    def __init__(
        self,
        config: OandaConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Any = None,
    ) -> None:
        self.config = config
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        rate = config.requests_per_second
        self.http = VenueHttp(
            "oanda",
            config.base_url,
            headers=auth_headers(config.token),
            timeout_s=config.timeout_s,
            retry=retry,
            buckets={"rest": TokenBucket(rate, rate, **extra)},
            transport=transport,
            **extra,
        )
        self._account = f"/accounts/{quote(config.account_id, safe='')}"

    def close(self) -> None:
        """Release connections."""
        self.http.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.http.request("GET", path, params=params, bucket="rest")

    def pricing(self, instruments: list[str]) -> list[w.WirePrice]:
        """GET /accounts/{id}/pricing for the given instruments."""
        body = self._get(f"{self._account}/pricing", {"instruments": ",".join(instruments)})
        return w.parse(w.WirePricing, body, "GET pricing").prices

    def candles(self, instrument: str, granularity: str, count: int, price: PriceComponent = "M") -> w.WireCandles:
        """GET /instruments/{instrument}/candles (the most recent ``count``, max 5000)."""
        params = {"granularity": granularity, "count": min(count, 5000), "price": price}
        body = self._get(f"/instruments/{quote(instrument, safe='')}/candles", params)
        return w.parse(w.WireCandles, body, "GET candles")

    def create_order(self, order: dict[str, Any]) -> w.WireOrderResponse:
        """POST /accounts/{id}/orders with ``{"order": ...}``; never blindly resent on a timeout."""
        body = self.http.request(
            "POST", f"{self._account}/orders", json_body={"order": order}, bucket="rest", repeat_on_timeout=False
        )
        return w.parse(w.WireOrderResponse, body, "POST orders")

    def order(self, specifier: str) -> w.WireOrder:
        """GET /accounts/{id}/orders/{orderSpecifier} (an id or ``@clientID``)."""
        body = self._get(f"{self._account}/orders/{quote(specifier, safe='@')}")
        return w.parse(w.WireOrderEnvelope, body, "GET order").order

    def cancel_order(self, specifier: str) -> None:
        """PUT /accounts/{id}/orders/{orderSpecifier}/cancel."""
        self.http.request("PUT", f"{self._account}/orders/{quote(specifier, safe='@')}/cancel", bucket="rest")

    def transaction(self, transaction_id: str) -> dict[str, Any]:
        """GET /accounts/{id}/transactions/{transactionID} (the raw transaction object)."""
        body = self._get(f"{self._account}/transactions/{quote(transaction_id, safe='')}")
        return w.parse(w.WireTransactionEnvelope, body, "GET transaction").transaction

    def open_trades(self) -> list[w.WireTrade]:
        """GET /accounts/{id}/openTrades."""
        return w.parse(w.WireTrades, self._get(f"{self._account}/openTrades"), "GET openTrades").trades

    def trade(self, specifier: str) -> w.WireTrade:
        """GET /accounts/{id}/trades/{tradeSpecifier} (an id or ``@clientID``)."""
        body = self._get(f"{self._account}/trades/{quote(specifier, safe='@')}")
        return w.parse(w.WireTradeEnvelope, body, "GET trade").trade

    def close_trade(self, specifier: str) -> w.WireOrderResponse:
        """PUT /accounts/{id}/trades/{tradeSpecifier}/close with ``{"units": "ALL"}``; never blindly resent."""
        body = self.http.request(
            "PUT",
            f"{self._account}/trades/{quote(specifier, safe='@')}/close",
            json_body={"units": "ALL"},
            bucket="rest",
            repeat_on_timeout=False,
        )
        return w.parse(w.WireOrderResponse, body, "PUT trade close")

    def fill_transactions(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """ORDER_FILL transactions between two instants (GET /transactions returns page URLs to follow)."""
        params = {"from": _rfc3339(since), "to": _rfc3339(until), "type": "ORDER_FILL", "pageSize": 1000}
        pages = w.parse(w.WireTransactionPages, self._get(f"{self._account}/transactions", params), "GET transactions")
        out: list[dict[str, Any]] = []
        base_path = urlsplit(self.config.base_url).path
        for page in pages.pages:
            parts = urlsplit(page)
            if not parts.path.startswith(base_path):
                raise MalformedResponseError("oanda", "transaction page URL outside the API base path")
            query = dict(parse_qsl(parts.query))
            body = self._get(parts.path[len(base_path) :], query)
            out.extend(w.parse(w.WireTransactions, body, "GET transactions page").transactions)
        return out

    def summary(self) -> w.WireAccountSummary:
        """GET /accounts/{id}/summary."""
        return w.parse(w.WireSummaryEnvelope, self._get(f"{self._account}/summary"), "GET summary").account
