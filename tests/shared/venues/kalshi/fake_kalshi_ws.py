"""A loopback fake of Kalshi's WebSocket (``/trade-api/ws/v2``) speaking the documented messages (AsyncAPI 2.0.0).

- The handshake must carry the three ``KALSHI-ACCESS-*`` headers with an RSA-PSS signature over
  ``timestamp + "GET" + "/trade-api/ws/v2"`` that verifies with the test key; otherwise (or with ``refuse_auth``) it
  answers HTTP 401.
- Commands: ``subscribe`` (``orderbook_delta``, ``ticker``, ``fill``, ``user_orders``; ``market_ticker`` or
  ``market_tickers``), ``unsubscribe``. Replies ``subscribed {channel, sid}``; an ``orderbook_delta`` subscription
  gets an ``orderbook_snapshot`` (seq 1) and then every change as ``orderbook_delta`` with the next ``seq``.
- The true book lives here (``books``: ``{ticker: {"yes": {price: centi}, "no": {...}}}``) and, given a REST fake
  (``fake_kalshi.FakeKalshi``), is mirrored into its ``/orderbook`` answers, so REST and the socket tell one truth.
- Faults on demand: ``gap_next`` (the next delta is never sent; its seq is used up), ``duplicate_next`` (sent twice
  with one seq), ``reorder_next`` (the next two deltas swap places), ``drop()`` (every connection cut), ``mute()``
  (connections stay open but pings go unanswered), ``error()``.

All socket work happens on the fake's own event loop thread; every message to one connection goes through one
queue, so a snapshot and the deltas after it can never pass each other.

The suite imports in importlib mode, so tests and the bench load this module by path.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

WS_PATH = "/trade-api/ws/v2"
_QUIET = logging.getLogger("tbot_test.fake_kalshi_ws")  # never DEBUG: the library would log request headers
_QUIET.setLevel(logging.WARNING)

Levels = dict[Decimal, int]


def dollars(price: Decimal) -> str:
    return f"{price:.4f}"


def fp(centi: int) -> str:
    return f"{Decimal(centi) / 100:.2f}"


@dataclass
class _Sub:
    sid: int
    channel: str
    markets: set[str] | None  # None: every market
    seq: int = 0


@dataclass
class _Client:
    conn: ServerConnection
    out: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    subs: dict[int, _Sub] = field(default_factory=dict)
    held: dict[int, str] = field(default_factory=dict)  # a reordered delta waiting for the next one (by sid)


class FakeKalshiWs:
    """The fake's state and fault switches; run it with :func:`serve_ws`."""

    def __init__(self, public_key: rsa.RSAPublicKey, rest: Any = None) -> None:
        self.public_key = public_key
        self.rest = rest
        self.books: dict[str, dict[str, Levels]] = {}
        self.refuse_auth = False
        self.handshakes = 0
        self.refused = 0
        self.commands: list[dict[str, Any]] = []
        self.signatures: list[str] = []  # every handshake's signature header (a test shows none reaches a log)
        self.changed_at: list[float] = []  # perf_counter of every change, for the bench
        self._clients: list[_Client] = []
        self._sids = itertools.count(1)
        self._gap: set[str] = set()
        self._dup: set[str] = set()
        self._reorder: set[str] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    # ---- the true book (call from any thread) ------------------------------------------------------------------

    def load(self, ticker: str, yes: dict[str, str], no: dict[str, str]) -> None:
        """Set a market's whole book from ``{"0.3200": "50.00"}`` maps (before clients subscribe to it)."""
        self._call(self._load, ticker, {Decimal(p): int(Decimal(c) * 100) for p, c in yes.items()},
                   {Decimal(p): int(Decimal(c) * 100) for p, c in no.items()})

    def change(self, ticker: str, side: str, price: str, delta_centi: int) -> None:
        """The venue's book changes; every subscriber gets an ``orderbook_delta`` (subject to the faults)."""
        self._call(self._change, ticker, side, Decimal(price), delta_centi)

    def levels(self, ticker: str) -> tuple[tuple[tuple[Decimal, int], ...], tuple[tuple[Decimal, int], ...]]:
        """The true book as the stream reports it: YES and NO bid levels, best first."""
        return self._call(self._levels, ticker)  # type: ignore[no-any-return]

    def gap_next(self, ticker: str) -> None:
        self._gap.add(ticker)

    def duplicate_next(self, ticker: str) -> None:
        self._dup.add(ticker)

    def reorder_next(self, ticker: str) -> None:
        self._reorder.add(ticker)

    def drop(self) -> None:
        """Cut every connection without a close handshake (the venue went away)."""
        self._call(self._drop)

    def mute(self) -> None:
        """Stop reading from every current connection: pings go unanswered, the socket stays open (half-dead)."""
        self._call(self._mute)

    def error(self, code: int, text: str) -> None:
        """Send every client an ``error`` message."""
        self._call(self._broadcast_all, {"type": "error", "msg": {"code": code, "msg": text}})

    def ticker(self, ticker: str, price: str) -> None:
        self._call(self._ticker, ticker, price)

    def private(self, kind: str, msg: dict[str, Any]) -> None:
        """A ``fill`` or ``user_order`` message to the subscribers of that private channel."""
        channel = "fill" if kind == "fill" else "user_orders"
        self._call(self._push, channel, None, {"type": kind, "msg": msg}, False)

    @property
    def connections(self) -> int:
        return len(self._clients)

    # ---- loop side -------------------------------------------------------------------------------------------------

    def _call(self, fn: Any, *args: Any) -> Any:
        assert self.loop is not None

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def _load(self, ticker: str, yes: Levels, no: Levels) -> None:
        self.books[ticker] = {"yes": dict(yes), "no": dict(no)}
        self._mirror(ticker)

    def _levels(self, ticker: str) -> tuple[tuple[tuple[Decimal, int], ...], tuple[tuple[Decimal, int], ...]]:
        book = self.books.get(ticker, {"yes": {}, "no": {}})
        return tuple(sorted(book["yes"].items(), reverse=True)), tuple(sorted(book["no"].items(), reverse=True))

    def _change(self, ticker: str, side: str, price: Decimal, delta: int) -> None:
        book = self.books.setdefault(ticker, {"yes": {}, "no": {}})
        size = book[side].get(price, 0) + delta
        assert size >= 0, "a change may not take a level below zero"
        if size:
            book[side][price] = size
        else:
            book[side].pop(price, None)
        self._mirror(ticker)
        self.changed_at.append(time.perf_counter())
        message = {"type": "orderbook_delta", "msg": {
            "market_ticker": ticker, "market_id": f"id-{ticker}", "price_dollars": dollars(price),
            "delta_fp": fp(delta), "side": side, "ts_ms": int(time.time() * 1000)}}
        self._push("orderbook_delta", ticker, message, True)

    def _mirror(self, ticker: str) -> None:
        if self.rest is None:
            return
        yes, no = self._levels(ticker)
        body = {"orderbook_fp": {"yes_dollars": [[dollars(p), fp(c)] for p, c in sorted(yes)],
                                 "no_dollars": [[dollars(p), fp(c)] for p, c in sorted(no)]}}
        with self.rest._lock:
            self.rest.books[ticker] = body

    def _push(self, channel: str, ticker: str | None, message: dict[str, Any], sequenced: bool) -> None:
        gap = ticker in self._gap
        dup = ticker in self._dup
        reorder = ticker in self._reorder
        self._gap.discard(ticker or "")
        self._dup.discard(ticker or "")
        self._reorder.discard(ticker or "")
        for client in self._clients:
            for sub in client.subs.values():
                if sub.channel != channel or (sub.markets is not None and ticker not in sub.markets):
                    continue
                body = dict(message, sid=sub.sid)
                if sequenced:
                    sub.seq += 1
                    body["seq"] = sub.seq
                text = json.dumps(body)
                if gap and sequenced:
                    continue  # lost on the way: the seq is used up, the message never arrives
                if reorder and sequenced:
                    client.held[sub.sid] = text
                    continue
                client.out.put_nowait(text)
                if dup and sequenced:
                    client.out.put_nowait(text)
                held = client.held.pop(sub.sid, None)
                if held is not None:
                    client.out.put_nowait(held)

    def _broadcast_all(self, message: dict[str, Any]) -> None:
        for client in self._clients:
            client.out.put_nowait(json.dumps(message))

    def _ticker(self, ticker: str, price: str) -> None:
        book = self.books.get(ticker, {"yes": {}, "no": {}})
        self._push("ticker", ticker, {"type": "ticker", "msg": self._ticker_msg(ticker, book, price)}, False)

    @staticmethod
    def _ticker_msg(ticker: str, book: dict[str, Levels], price: str) -> dict[str, Any]:
        best_yes = max(book["yes"]) if book["yes"] else Decimal(0)
        best_no = max(book["no"]) if book["no"] else Decimal(0)
        now = time.time()
        return {
            "market_id": f"id-{ticker}", "market_ticker": ticker, "price_dollars": price,
            "yes_bid_dollars": dollars(best_yes), "yes_ask_dollars": dollars(Decimal(1) - best_no),
            "volume_fp": "0.00", "open_interest_fp": "0.00", "dollar_volume": 0, "dollar_open_interest": 0,
            "yes_bid_size_fp": fp(book["yes"].get(best_yes, 0)), "yes_ask_size_fp": fp(book["no"].get(best_no, 0)),
            "last_trade_size_fp": "0.00", "ts": int(now), "ts_ms": int(now * 1000),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        }

    def _mute(self) -> None:
        for client in self._clients:
            client.conn.transport.pause_reading()

    def _drop(self) -> None:
        for client in list(self._clients):
            client.conn.transport.abort()

    # ---- the server ------------------------------------------------------------------------------------------------

    def check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes += 1
        if request.path.split("?")[0] != WS_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        if self.refuse_auth or not self._signed(request.headers):
            self.refused += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "authentication_error\n")
        return None

    def _signed(self, headers: Headers) -> bool:
        key, stamp, signature = (headers.get(h) for h in (
            "KALSHI-ACCESS-KEY", "KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-SIGNATURE"))
        if not key or not stamp or not signature or not stamp.isdigit() or len(stamp) != 13:
            return False
        self.signatures.append(signature)
        try:
            self.public_key.verify(
                base64.b64decode(signature), f"{stamp}GET{WS_PATH}".encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    async def handle(self, connection: ServerConnection) -> None:
        client = _Client(connection)
        self._clients.append(client)
        writer = asyncio.create_task(self._write(client))
        try:
            async for raw in connection:
                self._command(client, json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self._clients.remove(client)
            client.out.put_nowait(None)
            writer.cancel()

    async def _write(self, client: _Client) -> None:
        while True:
            text = await client.out.get()
            if text is None:
                return
            try:
                await client.conn.send(text)
            except ConnectionClosed:
                return

    def _command(self, client: _Client, command: dict[str, Any]) -> None:
        self.commands.append(command)
        cid, cmd, params = command.get("id"), command.get("cmd"), command.get("params") or {}
        if cmd == "unsubscribe":
            for sid in params.get("sids", []):
                client.subs.pop(sid, None)
                client.out.put_nowait(json.dumps({"id": cid, "sid": sid, "seq": 0, "type": "unsubscribed"}))
            return
        if cmd != "subscribe":
            error = {"code": 5, "msg": "Unknown command"}
            client.out.put_nowait(json.dumps({"id": cid, "type": "error", "msg": error}))
            return
        markets = params.get("market_tickers") or ([params["market_ticker"]] if params.get("market_ticker") else None)
        for channel in params.get("channels", []):
            if channel == "orderbook_delta" and not markets:
                client.out.put_nowait(json.dumps(
                    {"id": cid, "type": "error", "msg": {"code": 14, "msg": "Market Ticker required"}}))
                continue
            sub = _Sub(next(self._sids), channel, set(markets) if markets else None)
            client.subs[sub.sid] = sub
            client.out.put_nowait(json.dumps({"id": cid, "type": "subscribed", "msg": {"channel": channel,
                                                                                       "sid": sub.sid}}))
            if channel == "orderbook_delta":
                for ticker in sorted(markets or ()):
                    yes, no = self._levels(ticker)
                    sub.seq += 1
                    snapshot: dict[str, Any] = {"market_ticker": ticker, "market_id": f"id-{ticker}"}
                    if yes:  # a side without bids is left out, as documented
                        snapshot["yes_dollars_fp"] = [[dollars(p), fp(c)] for p, c in sorted(yes)]
                    if no:
                        snapshot["no_dollars_fp"] = [[dollars(p), fp(c)] for p, c in sorted(no)]
                    client.out.put_nowait(json.dumps(
                        {"type": "orderbook_snapshot", "sid": sub.sid, "seq": sub.seq, "msg": snapshot}))
            elif channel == "ticker" and params.get("send_initial_snapshot"):
                for ticker in sorted(markets or ()):
                    book = self.books.get(ticker, {"yes": {}, "no": {}})
                    client.out.put_nowait(json.dumps(
                        {"type": "ticker", "sid": sub.sid, "msg": self._ticker_msg(ticker, book, "0.0000")}))


@contextmanager
def serve_ws(fake: FakeKalshiWs) -> Iterator[tuple[FakeKalshiWs, str]]:
    """Run ``fake`` on 127.0.0.1 (an ephemeral port) in its own thread; yields it and its ``ws://`` URL."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        fake.loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        box["stop"] = stop
        server: Server = await serve(fake.handle, "127.0.0.1", 0, process_request=fake.check_handshake,
                                     logger=_QUIET, ping_interval=None)
        box["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        await stop.wait()
        server.close()
        await server.wait_closed()

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="fake-kalshi-ws", daemon=True)
    thread.start()
    assert ready.wait(5), "fake WebSocket server did not start"
    try:
        yield fake, f"ws://127.0.0.1:{box['port']}{WS_PATH}"
    finally:
        assert fake.loop is not None
        fake.loop.call_soon_threadsafe(box["stop"].set)
        thread.join(5)
