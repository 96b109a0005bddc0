"""IBKR Client Portal Web API over HTTP (via the ibeam gateway): one method per endpoint (spec 2.29.0).

All calls share one token bucket at the gateway's 10 requests/s. The gateway's certificate is self-signed, so
TLS verification is configurable (``IBKR_VERIFY_TLS``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from shared.http import MalformedResponseError, RetryPolicy, TokenBucket, VenueHttp
from shared.venues.ibkr import schemas as w
from shared.venues.ibkr.config import IbkrConfig


class IbkrClient:
    """Thin access to the gateway endpoints tbot uses, for one account."""

    def __init__(
        self,
        config: IbkrConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Any = None,
    ) -> None:
        self.config = config
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        rate = config.requests_per_second
        self.http = VenueHttp(
            "ibkr",
            config.base_url,
            headers={"Accept": "application/json", "User-Agent": "tbot/0.1"},
            timeout_s=config.timeout_s,
            retry=retry,
            buckets={"gw": TokenBucket(rate, rate, **extra)},
            verify=config.verify_tls,
            transport=transport,
            **extra,
        )
        self._account = quote(config.account_id, safe="")

    def close(self) -> None:
        """Release connections."""
        self.http.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.http.request("GET", path, params=params, bucket="gw")

    def accounts(self) -> Any:
        """GET /iserver/accounts: a prerequisite for order and market-data calls in a session."""
        return self._get("/iserver/accounts")

    def portfolio_accounts(self) -> Any:
        """GET /portfolio/accounts: a prerequisite for portfolio calls."""
        return self._get("/portfolio/accounts")

    def secdef_search(self, symbol: str) -> list[w.WireSecdef]:
        """GET /iserver/secdef/search?symbol=&secType=STK."""
        body = self._get("/iserver/secdef/search", {"symbol": symbol, "secType": "STK"})
        return w.parse_list(w.WireSecdef, body, "GET /iserver/secdef/search")

    def snapshot(self, conids: list[int], fields: tuple[str, ...]) -> list[dict[str, Any]]:
        """GET /iserver/marketdata/snapshot (values are strings keyed by field id)."""
        params = {"conids": ",".join(str(c) for c in conids), "fields": ",".join(fields)}
        body = self._get("/iserver/marketdata/snapshot", params)
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise MalformedResponseError("ibkr", "GET /iserver/marketdata/snapshot: expected an array of objects")
        return body

    def history(self, conid: int, period: str, bar: str) -> w.WireHistory:
        """GET /iserver/marketdata/history."""
        body = self._get("/iserver/marketdata/history", {"conid": conid, "period": period, "bar": bar})
        return w.parse(w.WireHistory, body, "GET /iserver/marketdata/history")

    def place_orders(self, body: dict[str, Any]) -> Any:
        """POST /iserver/account/{acct}/orders; never blindly resent on a timeout (the caller reconciles)."""
        return self.http.request(
            "POST", f"/iserver/account/{self._account}/orders", json_body=body, bucket="gw", repeat_on_timeout=False
        )

    def reply(self, reply_id: str, confirmed: bool = True) -> Any:
        """POST /iserver/reply/{replyId} answering an order-reply question."""
        return self.http.request(
            "POST",
            f"/iserver/reply/{quote(reply_id, safe='')}",
            json_body={"confirmed": confirmed},
            bucket="gw",
            repeat_on_timeout=False,
        )

    def order_status(self, order_id: str) -> w.WireOrderStatus:
        """GET /iserver/account/order/status/{orderId}."""
        body = self._get(f"/iserver/account/order/status/{quote(order_id, safe='')}")
        return w.parse(w.WireOrderStatus, body, "GET order status")

    def cancel(self, order_id: str) -> Any:
        """DELETE /iserver/account/{acct}/order/{orderId}."""
        return self.http.request(
            "DELETE", f"/iserver/account/{self._account}/order/{quote(order_id, safe='')}", bucket="gw"
        )

    def positions(self, page: int) -> list[w.WirePosition]:
        """GET /portfolio/{acct}/positions/{pageId} (up to 100 per page)."""
        body = self._get(f"/portfolio/{self._account}/positions/{page}")
        return w.parse_list(w.WirePosition, body, "GET positions")

    def trades(self, days: int) -> list[w.WireExecution]:
        """GET /iserver/account/trades?days= (executions; ``order_ref`` is our cOID)."""
        body = self._get("/iserver/account/trades", {"days": days})
        return w.parse_list(w.WireExecution, body, "GET /iserver/account/trades")

    def summary(self) -> dict[str, w.WireSummaryValue]:
        """GET /portfolio/{acct}/summary (values keyed by name: totalcashvalue, netliquidation ...)."""
        body = self._get(f"/portfolio/{self._account}/summary")
        if not isinstance(body, dict):
            raise MalformedResponseError("ibkr", "GET summary: expected an object")
        return {
            key: w.parse(w.WireSummaryValue, value, f"summary.{key}")
            for key, value in body.items()
            if isinstance(value, dict)
        }
