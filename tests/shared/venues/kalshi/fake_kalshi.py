"""A loopback fake of Kalshi's market-data API, built from the recorded spec-shaped payloads in ``payloads/``.

It answers the public reads (``/markets``, ``/markets/{t}``, ``/events/{e}``, ``/series/{s}``) and the
authenticated order book (``/markets/{t}/orderbook``, which must carry the three ``KALSHI-ACCESS-*`` headers),
and remembers every request line it gets, whatever the method or path, so a test can show that no order (no POST,
no DELETE, no ``/portfolio`` path) ever arrived. Anything else answers 404 (reads) or 405 (writes).

The suite imports in importlib mode, so tests load this module by path (see ``tests/shared/venues/test_paper.py``).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PAYLOADS = Path(__file__).with_name("payloads")
PREFIX = "/trade-api/v2"
_OPEN = {"active"}
_SETTLED = {"determined", "amended", "finalized"}


def _load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


class FakeKalshi:
    """The fake's state: markets (by ticker), books, series and events, plus every request line seen."""

    def __init__(self) -> None:
        markets = _load("markets_page1.json")["markets"] + _load("markets_page2.json")["markets"]
        self.markets: dict[str, dict[str, Any]] = {m["ticker"]: copy.deepcopy(m) for m in markets}
        recorded = _load("orderbook.json")
        self.books: dict[str, dict[str, Any]] = {"KXHIGHNY-25DEC27-B31.5": copy.deepcopy(recorded)}
        for ticker, market in self.markets.items():
            self.books.setdefault(ticker, self._top_of_book(market))
        self.series = {"KXHIGHNY": _load("series.json")}
        self.events = {"KXHIGHNY-25DEC27": _load("event.json")}
        self.seen: list[str] = []
        self.unsigned: list[str] = []  # order-book reads that came without Kalshi's auth headers
        self._lock = threading.Lock()

    @staticmethod
    def _top_of_book(market: dict[str, Any]) -> dict[str, Any]:
        """A one-level book per side from the market's best prices and sizes (bids only, as Kalshi returns)."""
        yes: list[list[str]] = []
        no: list[list[str]] = []
        bid, ask = Decimal(market["yes_bid_dollars"]), Decimal(market["yes_ask_dollars"])
        if bid > 0:
            yes.append([market["yes_bid_dollars"], market.get("yes_bid_size_fp") or "0.00"])
        if ask < 1:
            no.append([f"{1 - ask:.4f}", market.get("yes_ask_size_fp") or "0.00"])
        return {"orderbook_fp": {"yes_dollars": yes, "no_dollars": no}}

    def settle(self, ticker: str, result: str) -> None:
        """The market closes and settles with ``result`` (Kalshi: status finalized, result yes|no, no quotes)."""
        with self._lock:
            market = self.markets[ticker]
            market.update({"status": "finalized", "result": result, "yes_bid_dollars": "0.0000",
                           "yes_ask_dollars": "1.0000", "no_bid_dollars": "0.0000", "no_ask_dollars": "1.0000",
                           "settlement_value_dollars": "1.0000" if result == "yes" else "0.0000"})
            self.books[ticker] = {"orderbook_fp": {"yes_dollars": [], "no_dollars": []}}

    def orders_seen(self) -> list[str]:
        """Every request that was a write or touched an order/portfolio path (a paper venue must send none)."""
        return [line for line in self.seen
                if not line.startswith("GET ") or "/portfolio" in line or "orders" in line]

    # ---------------------------------------------------------------- answering
    def answer(self, method: str, raw_path: str, headers: Any) -> tuple[int, Any]:
        with self._lock:
            self.seen.append(f"{method} {raw_path}")
            if method != "GET":
                return 405, {"code": "method_not_allowed", "message": "this fake serves market data only"}
            parts = urlsplit(raw_path)
            path = parts.path[len(PREFIX):] if parts.path.startswith(PREFIX) else parts.path
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            segments = [unquote(s) for s in path.strip("/").split("/")]
            if segments == ["markets"]:
                return 200, {"markets": self._list(query), "cursor": ""}
            if len(segments) == 2 and segments[0] == "markets" and segments[1] in self.markets:
                return 200, {"market": copy.deepcopy(self.markets[segments[1]])}
            if len(segments) == 3 and segments[0] == "markets" and segments[2] == "orderbook":
                if not all(headers.get(h) for h in ("KALSHI-ACCESS-KEY", "KALSHI-ACCESS-SIGNATURE",
                                                     "KALSHI-ACCESS-TIMESTAMP")):
                    self.unsigned.append(raw_path)
                    return 401, {"code": "authentication_error", "message": "missing auth headers"}
                if segments[1] in self.books:
                    return 200, copy.deepcopy(self.books[segments[1]])
            if len(segments) == 2 and segments[0] == "series" and segments[1] in self.series:
                return 200, copy.deepcopy(self.series[segments[1]])
            if len(segments) == 2 and segments[0] == "events" and segments[1] in self.events:
                return 200, copy.deepcopy(self.events[segments[1]])
            return 404, {"code": "not_found", "message": f"no {path}"}

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        out = []
        for market in self.markets.values():
            series = market["event_ticker"].split("-")[0]
            if query.get("series_ticker") not in (None, series):
                continue
            if query.get("event_ticker") not in (None, market["event_ticker"]):
                continue
            status = query.get("status")
            if status == "open" and market["status"] not in _OPEN:
                continue
            if status == "settled" and market["status"] not in _SETTLED:
                continue
            out.append(copy.deepcopy(market))
        return out


@contextmanager
def serve(fake: FakeKalshi | None = None) -> Iterator[tuple[FakeKalshi, str]]:
    """Run ``fake`` on 127.0.0.1 (an ephemeral port); yields it and its base URL (``.../trade-api/v2``)."""
    state = fake or FakeKalshi()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, body = state.answer(self.command, self.path, self.headers)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}"
    finally:
        httpd.shutdown()
        httpd.server_close()

