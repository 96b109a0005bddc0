"""Kalshi's live WebSocket market data (``wss://…/trade-api/ws/v2``), kept in local books in a background thread.

:class:`KalshiStream` runs an asyncio loop in a daemon thread so the synchronous surface loop is unchanged. It opens
the socket with the same RSA-PSS ``KALSHI-ACCESS-*`` headers as REST (signed over ``GET /trade-api/ws/v2``) and
subscribes, per market the loop asks about (:meth:`KalshiStream.track`), to ``orderbook_delta`` (an
``orderbook_snapshot``, then ``orderbook_delta`` messages) and ``ticker``; with ``private=True`` (live trading) also
to the account's ``fill`` and ``user_orders`` channels. Everything is parsed at this edge into the dataclasses of
``shared/venues/base.py``: prices ``Decimal``, counts integer centi-contracts.

What a market maker burned by stale quotes insists on, and what this does:

- **Sequence numbers are checked per subscription.** The snapshot sets the baseline; each delta must carry the next
  ``seq``. A gap, a duplicate or an out-of-order ``seq`` (or a delta that would take a level below zero) marks the
  book out of sync at once, and the market is unsubscribed and subscribed again (a fresh snapshot) after an
  exponential backoff with jitter. A REST snapshot cannot be spliced into a sequenced stream (it carries no
  ``seq``), so while a book resyncs the reads return None and the venue reads the REST order book instead.
- **A dropped connection** marks every book out of sync; the stream reconnects with backoff and jitter and
  resubscribes everything. A silent connection counts as dropped: the stream pings every third of
  ``stale_after_s``, and a book is served only if the socket answered within ``stale_after_s``.
- **An auth refusal is an error, not a retry loop.** A handshake answered 401/403 (or an ``error`` with code 9)
  stops the stream for good, logs one line saying so, and leaves every read to REST.
- **No secret reaches a log.** The handshake headers are never logged, and the ``websockets`` library logs through a
  logger pinned above DEBUG (at DEBUG it would print the request headers, key id and signature included).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from shared.http import MalformedResponseError, RetryPolicy
from shared.venues.base import AuthError, Fill, OrderBook, OrderResult, Quote
from shared.venues.kalshi import schemas as w
from shared.venues.kalshi.auth import KalshiSigner
from shared.venues.kalshi.book import BookInconsistent, LocalBook

log = logging.getLogger(__name__)
VENUE = "kalshi"

# The websockets library logs request headers at DEBUG; its logger here never goes below INFO.
_PROTOCOL_LOG = logging.getLogger(f"{__name__}.protocol")
_PROTOCOL_LOG.setLevel(logging.INFO)

AUTH_REFUSED = (401, 403)
ERROR_AUTH_REQUIRED = 9
TERMINAL_ERRORS = (10, 25)  # channel error, subscription buffer overflow: the subscription is gone
DEFAULT_BACKOFF = RetryPolicy(base_delay_s=0.5, max_delay_s=30.0)  # reconnects and resubscriptions


# ---- wire models (AsyncAPI "Kalshi Market Data WebSocket API" 2.0.0) ----------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class WsSnapshot(_Wire):
    market_ticker: str
    yes_dollars_fp: list[tuple[w.Dollars, w.Count]] = []  # a side with no bids is left out entirely
    no_dollars_fp: list[tuple[w.Dollars, w.Count]] = []


class WsDelta(_Wire):
    market_ticker: str
    price_dollars: w.Dollars
    delta_fp: w.Count
    side: Literal["yes", "no"]


class WsTicker(_Wire):
    market_ticker: str
    price_dollars: w.Dollars
    ts_ms: int | None = None


class WsFill(_Wire):
    trade_id: str
    order_id: str
    client_order_id: str = ""
    market_ticker: str
    is_taker: bool
    side: Literal["yes", "no"]
    action: Literal["buy", "sell"]
    yes_price_dollars: w.Dollars
    count_fp: w.Count
    fee_cost: w.Dollars
    ts_ms: int


class WsUserOrder(_Wire):
    order_id: str
    ticker: str
    client_order_id: str = ""
    status: Literal["resting", "canceled", "executed", "unknown"]
    fill_count_fp: w.Count
    remaining_count_fp: w.Count
    taker_fill_cost_dollars: w.Dollars
    maker_fill_cost_dollars: w.Dollars
    taker_fees_dollars: w.Dollars
    maker_fees_dollars: w.Dollars
    created_ts_ms: int | None = None
    last_updated_ts_ms: int | None = None


def _at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_fill(fill: WsFill) -> Fill:
    """One of our fills; the price is that of the side traded (the message carries the YES price only)."""
    price = fill.yes_price_dollars if fill.side == "yes" else w.ONE - fill.yes_price_dollars
    return Fill(
        venue_order_id=fill.order_id,
        client_order_id=fill.client_order_id or None,
        symbol=fill.market_ticker,
        side=fill.side,
        intent="open" if fill.action == "buy" else "close",
        quantity=fill.count_fp,
        price=price,
        fees_cents=w.dollars_to_cents_up(fill.fee_cost),
        at=_at_ms(fill.ts_ms),
    )


def to_order_update(order: WsUserOrder, received: datetime) -> OrderResult:
    """An order update (created, filled, cancelled) as an ``OrderResult``, priced like REST's order objects."""
    filled = order.fill_count_fp
    cost = order.taker_fill_cost_dollars + order.maker_fill_cost_dollars
    avg = (cost * 100 / filled).quantize(Decimal("0.0001")) if filled else None
    stamp = order.last_updated_ts_ms or order.created_ts_ms
    return OrderResult(
        client_order_id=order.client_order_id,
        venue_order_id=order.order_id,
        status=w.order_status(filled, order.remaining_count_fp, order.status),
        filled_quantity=filled,
        avg_fill_price=avg,
        fees_cents=w.dollars_to_cents_up(order.taker_fees_dollars + order.maker_fees_dollars),
        at=_at_ms(stamp) if stamp else received,
    )


# ---- the stream ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """How the stream connects and when its books count as fresh."""

    url: str
    private: bool = False  # also subscribe to the account's fills and order updates (live trading only)
    stale_after_s: float = 5.0  # a book is served only if the socket answered within this many seconds
    open_timeout_s: float = 10.0
    backoff: RetryPolicy = DEFAULT_BACKOFF
    backoff_reset_s: float = 30.0  # in sync (or connected) this long, and the next failure starts the backoff over
    max_markets: int = 500  # tracked at once; the least recently read market is dropped beyond it


@dataclass
class _Market:
    book: LocalBook
    sid: int | None = None  # the orderbook_delta subscription
    ticker_sid: int | None = None
    seq: int | None = None  # last seq applied on ``sid``; None until its snapshot
    in_sync: bool = False
    synced_at: float = 0.0
    ticker_seen: bool = False
    last: Decimal | None = None
    attempts: int = 0  # resubscriptions since the book was last in sync for backoff_reset_s
    read_at: float = 0.0
    resubscribe: asyncio.TimerHandle | None = None
    subscribed_on: ClientConnection | None = None  # the socket its subscribe went out on: one feed per book


@dataclass
class StreamStats:
    """Counters a test or the bench can read (never reset)."""

    connects: int = 0
    drops: int = 0
    snapshots: int = 0
    deltas: int = 0
    gaps: int = 0  # seq jumped ahead
    duplicates: int = 0  # seq repeated or went back
    inconsistent: int = 0  # a delta did not fit the book
    resubscribes: int = 0
    malformed: int = 0
    errors: list[int] = field(default_factory=list)


class KalshiStream:
    """Local books for the markets the loop reads, kept from Kalshi's WebSocket in a background thread."""

    def __init__(
        self, config: StreamConfig, signer: KalshiSigner, *, rng: random.Random | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self._signer = signer
        self._rng = rng or random.Random()
        self._now = now or (lambda: datetime.now(UTC))
        self.stats = StreamStats()
        self.error: AuthError | None = None  # set when the venue refused us: the stream has stopped for good
        self._lock = threading.Lock()
        self._markets: dict[str, _Market] = {}
        self._sids: dict[int, str] = {}
        self._ticker_sids: dict[int, str] = {}
        self._pending: dict[int, tuple[str, str]] = {}  # command id -> (channel, market) awaiting "subscribed"
        self._next_id = 0
        self._fills: deque[Fill] = deque(maxlen=10_000)
        self._orders: deque[OrderResult] = deque(maxlen=10_000)
        self._alive_at = 0.0
        self._ws: ClientConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    # ---- life cycle (any thread) -----------------------------------------------------------------------------

    def start(self) -> KalshiStream:
        """Start the background thread (it connects, and keeps reconnecting until :meth:`close`)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._thread_main, name="kalshi-ws", daemon=True)
            self._thread.start()
            self._started.wait(5)
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop the stream and wait for its thread."""
        self._stopping = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def connected(self) -> bool:
        """True while a socket is open and has answered within ``stale_after_s``."""
        return self._ws is not None and time.monotonic() - self._alive_at <= self.config.stale_after_s

    # ---- what the loop reads (any thread) ----------------------------------------------------------------------

    def track(self, symbol: str) -> None:
        """Keep a live book for ``symbol`` from now on (subscribes at once when connected)."""
        with self._lock:
            market = self._markets.get(symbol)
            if market is not None:
                market.read_at = time.monotonic()
                return
            if self.error is not None:
                return
            evicted = self._evict_locked() if len(self._markets) >= self.config.max_markets else None
            self._markets[symbol] = _Market(LocalBook(symbol), read_at=time.monotonic())
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                if evicted is not None:
                    loop.call_soon_threadsafe(self._unsubscribe_market, evicted)
                loop.call_soon_threadsafe(self._subscribe_soon, symbol, 0.0)

    def orderbook(self, symbol: str, depth: int, at: datetime) -> OrderBook | None:
        """The live book, or None when it is not in sync or the socket is not fresh (read REST then)."""
        with self._lock:
            market = self._live_locked(symbol)
            return market.book.orderbook(at, depth) if market is not None else None

    def quote(self, symbol: str, at: datetime) -> Quote | None:
        """Top of the live book with the ticker channel's last price, or None (read REST then)."""
        with self._lock:
            market = self._live_locked(symbol)
            if market is None or not market.ticker_seen:
                return None
            return market.book.quote(at, market.last)

    def levels(self, symbol: str) -> tuple[tuple[tuple[Decimal, int], ...], tuple[tuple[Decimal, int], ...]] | None:
        """YES and NO bid levels of a live book, best first (tests compare them with the venue's true book)."""
        with self._lock:
            market = self._live_locked(symbol)
            return market.book.levels() if market is not None else None

    def fills(self) -> list[Fill]:
        """Our fills received since the last call, oldest first (REST ``/portfolio/fills`` stays the record)."""
        with self._lock:
            out = list(self._fills)
            self._fills.clear()
        return out

    def order_updates(self) -> list[OrderResult]:
        """Our order updates received since the last call, oldest first."""
        with self._lock:
            out = list(self._orders)
            self._orders.clear()
        return out

    def wait_live(self, symbol: str, timeout: float) -> bool:
        """Block until ``symbol``'s book is live (tests and the bench)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._live_locked(symbol) is not None:
                    return True
            if self.error is not None:
                return False
            time.sleep(0.002)
        return False

    def _live_locked(self, symbol: str) -> _Market | None:
        market = self._markets.get(symbol)
        if market is None:
            return None
        market.read_at = time.monotonic()
        if not market.in_sync or not self.connected:
            return None
        return market

    def _evict_locked(self) -> str:
        symbol = min(self._markets, key=lambda s: self._markets[s].read_at)
        market = self._markets.pop(symbol)
        market.in_sync = False
        return symbol

    # ---- the background thread -----------------------------------------------------------------------------------

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # the stream must never take the process down; reads fall back to REST
            log.exception("kalshi ws: stream stopped unexpectedly; order books come from REST")
        finally:
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._started.set()
        attempt = 0
        while not self._stopping:
            connected_at: float | None = None
            try:
                async with connect(
                    self.config.url,
                    additional_headers=self._signer.websocket_headers(),
                    open_timeout=self.config.open_timeout_s,
                    ping_interval=None,  # our own heartbeat below also times the freshness of the books
                    close_timeout=1,
                    max_size=2**24,
                    user_agent_header="tbot/0.1",
                    logger=_PROTOCOL_LOG,
                ) as ws:
                    connected_at = time.monotonic()
                    await self._session(ws)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in AUTH_REFUSED:
                    self._fail(AuthError(VENUE, f"websocket: the handshake was refused (HTTP {status}): the API "
                                         "key or its signature was rejected"))
                    return
                log.warning("kalshi ws: handshake answered HTTP %d; reconnecting with backoff", status)
            except AuthError as exc:  # an ``error`` message with code 9
                self._fail(exc)
                return
            except InvalidURI:
                self._fail_config(f"invalid WebSocket URL {self.config.url!r}")
                return
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                log.warning("kalshi ws: connection %s (%s); reconnecting with backoff",
                            "lost" if connected_at else "failed", type(exc).__name__)
            finally:
                self._disconnected(connected_at is not None)
            if self._stopping:
                break
            if connected_at is not None and time.monotonic() - connected_at >= self.config.backoff_reset_s:
                attempt = 0
            delay = self.config.backoff.delay(attempt, self._rng)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    def _fail(self, error: AuthError) -> None:
        self.error = error
        log.error("%s; not retrying; order books come from REST", error)

    def _fail_config(self, reason: str) -> None:
        log.error("kalshi ws: %s; not retrying; order books come from REST", reason)
        self._stopping = True

    def _disconnected(self, was_connected: bool) -> None:
        self._ws = None
        with self._lock:
            for market in self._markets.values():
                market.in_sync = False
                market.seq = None
                market.sid = market.ticker_sid = None
                market.subscribed_on = None
                if market.resubscribe is not None:
                    market.resubscribe.cancel()
                    market.resubscribe = None
            self._sids.clear()
            self._ticker_sids.clear()
            self._pending.clear()
        if was_connected:
            self.stats.drops += 1

    async def _session(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._alive_at = time.monotonic()
        self.stats.connects += 1
        log.info("kalshi ws: connected to %s", self.config.url)
        if self.config.private:
            await self._send(ws, "subscribe", {"channels": ["fill", "user_orders"]}, ("private", ""))
        with self._lock:
            symbols = list(self._markets)
        for symbol in symbols:
            await self._subscribe(ws, symbol)
        heartbeat = asyncio.create_task(self._heartbeat(ws))
        stop = asyncio.create_task(self._stop_wait(ws))
        try:
            async for raw in ws:
                self._alive_at = time.monotonic()
                self._handle(ws, raw)
        finally:
            heartbeat.cancel()
            stop.cancel()

    async def _stop_wait(self, ws: ClientConnection) -> None:
        assert self._stop is not None
        await self._stop.wait()
        await ws.close()

    async def _heartbeat(self, ws: ClientConnection) -> None:
        interval = self.config.stale_after_s / 3
        while True:
            await asyncio.sleep(interval)
            try:
                pong = await ws.ping()
                await asyncio.wait_for(pong, self.config.stale_after_s)
            except TimeoutError:
                log.warning("kalshi ws: no pong within %.1f s; dropping the connection", self.config.stale_after_s)
                ws.transport.abort()
                return
            except ConnectionClosed:
                return
            self._alive_at = time.monotonic()

    async def _send(self, ws: ClientConnection, cmd: str, params: dict[str, Any], pending: tuple[str, str] | None
                    ) -> None:
        self._next_id += 1
        if pending is not None:
            self._pending[self._next_id] = pending
        await ws.send(json.dumps({"id": self._next_id, "cmd": cmd, "params": params}))

    async def _subscribe(self, ws: ClientConnection, symbol: str) -> None:
        with self._lock:
            market = self._markets.get(symbol)
            if market is None or market.subscribed_on is ws:
                return  # already subscribed on this socket (a connect and a first read can race)
            market.subscribed_on = ws
            market.resubscribe = None
            market.seq = None
            market.in_sync = False
        with contextlib.suppress(ConnectionClosed):
            await self._send(ws, "subscribe", {"channels": ["orderbook_delta"], "market_ticker": symbol},
                             ("orderbook_delta", symbol))
            await self._send(ws, "subscribe", {"channels": ["ticker"], "market_tickers": [symbol],
                                               "send_initial_snapshot": True}, ("ticker", symbol))

    def _subscribe_soon(self, symbol: str, delay: float) -> None:
        """(loop thread) Subscribe ``symbol`` on the current socket after ``delay`` seconds."""
        ws, loop = self._ws, self._loop
        if ws is None or loop is None:
            return  # the next connection subscribes every tracked market
        with self._lock:
            market = self._markets.get(symbol)
            if market is None:
                return
            if market.resubscribe is not None:
                market.resubscribe.cancel()

            def fire() -> None:
                if self._ws is ws:
                    loop.create_task(self._subscribe(ws, symbol))

            market.resubscribe = loop.call_later(delay, fire)

    def _unsubscribe_market(self, symbol: str, sids: list[int] | None = None) -> None:
        """(loop thread) Drop a market's subscriptions (its messages are ignored from now on)."""
        ws = self._ws
        if sids is None:
            sids = [sid for sid, s in (*self._sids.items(), *self._ticker_sids.items()) if s == symbol]
        for sid in sids:
            self._sids.pop(sid, None)
            self._ticker_sids.pop(sid, None)
        if ws is not None and sids:
            asyncio.get_running_loop().create_task(self._send_quietly(ws, "unsubscribe", {"sids": sids}))

    async def _send_quietly(self, ws: ClientConnection, cmd: str, params: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._send(ws, cmd, params, None)

    def _resync(self, symbol: str, reason: str) -> None:
        """(loop thread) The book missed something: out of sync now, resubscribed after a backoff."""
        now = time.monotonic()
        with self._lock:
            market = self._markets.get(symbol)
            if market is None:
                return
            if market.in_sync and now - market.synced_at >= self.config.backoff_reset_s:
                market.attempts = 0
            market.in_sync = False
            market.seq = None
            sids = [sid for sid in (market.sid, market.ticker_sid) if sid is not None]
            market.sid = market.ticker_sid = None
            market.subscribed_on = None
            delay = self.config.backoff.delay(market.attempts, self._rng)
            market.attempts += 1
        self.stats.resubscribes += 1
        log.warning("kalshi ws: %s: %s; book out of sync, REST until resubscribed (in %.2f s)", symbol, reason, delay)
        self._unsubscribe_market(symbol, sids)
        self._subscribe_soon(symbol, delay)

    # ---- messages (loop thread) ----------------------------------------------------------------------------------

    def _handle(self, ws: ClientConnection, raw: str | bytes) -> None:
        try:
            data = json.loads(raw)
            kind = data.get("type")
            msg = data.get("msg")
        except (ValueError, AttributeError):
            self.stats.malformed += 1
            log.warning("kalshi ws: a message that is not a JSON object; ignored")
            return
        try:
            if kind == "subscribed":
                self._on_subscribed(data.get("id"), msg)
            elif kind == "orderbook_snapshot":
                self._on_snapshot(data.get("sid"), data.get("seq"), msg)
            elif kind == "orderbook_delta":
                self._on_delta(data.get("sid"), data.get("seq"), msg)
            elif kind == "ticker":
                self._on_ticker(msg)
            elif kind == "fill":
                fill = to_fill(w.parse(WsFill, msg, "ws fill"))
                with self._lock:
                    self._fills.append(fill)
            elif kind == "user_order":
                update = to_order_update(w.parse(WsUserOrder, msg, "ws user_order"), self._now())
                with self._lock:
                    self._orders.append(update)
            elif kind == "error":
                self._on_error(data)
        except MalformedResponseError as exc:
            self.stats.malformed += 1
            log.warning("kalshi ws: %s", exc)
            symbol = self._sids.get(data.get("sid")) if isinstance(data.get("sid"), int) else None
            if symbol is not None:
                self._resync(symbol, "a malformed book message")

    def _on_subscribed(self, command_id: Any, msg: Any) -> None:
        pending = self._pending.pop(command_id, None) if isinstance(command_id, int) else None
        if pending is None or not isinstance(msg, dict) or not isinstance(msg.get("sid"), int):
            return
        channel, symbol = pending
        sid: int = msg["sid"]
        with self._lock:
            market = self._markets.get(symbol)
            if market is None:
                return
            # Never two feeds into one book: a subscription that is not the market's current one is dropped.
            stale = market.sid if channel == "orderbook_delta" else market.ticker_sid
            if channel == "orderbook_delta":
                market.sid = sid
                self._sids[sid] = symbol
            elif channel == "ticker":
                market.ticker_sid = sid
                self._ticker_sids[sid] = symbol
        if stale is not None and stale != sid:
            self._unsubscribe_market(symbol, [stale])

    def _on_snapshot(self, sid: Any, seq: Any, msg: Any) -> None:
        symbol = self._sids.get(sid) if isinstance(sid, int) else None
        if symbol is None or not isinstance(seq, int):
            return  # a subscription we dropped, or one not confirmed yet
        snapshot = w.parse(WsSnapshot, msg, "ws orderbook_snapshot")
        if snapshot.market_ticker != symbol:
            self._resync(symbol, f"a snapshot for {snapshot.market_ticker} on its subscription")
            return
        with self._lock:
            market = self._markets.get(symbol)
            if market is None:
                return
            market.book.replace(snapshot.yes_dollars_fp, snapshot.no_dollars_fp)
            market.seq = seq
            market.in_sync = True
            market.synced_at = time.monotonic()
        self.stats.snapshots += 1

    def _on_delta(self, sid: Any, seq: Any, msg: Any) -> None:
        symbol = self._sids.get(sid) if isinstance(sid, int) else None
        if symbol is None:
            return
        with self._lock:
            market = self._markets.get(symbol)
            expected = market.seq + 1 if market is not None and market.seq is not None else None
        if market is None:
            return
        if expected is None or not isinstance(seq, int) or seq != expected:
            if isinstance(seq, int) and expected is not None and seq < expected:
                self._resync(symbol, f"seq {seq} repeated or out of order (expected {expected})")
                self.stats.duplicates += 1
            else:
                self._resync(symbol, f"seq gap: got {seq}, expected {expected}")
                self.stats.gaps += 1
            return
        delta = w.parse(WsDelta, msg, "ws orderbook_delta")
        with self._lock:
            try:
                market.book.apply(delta.side, delta.price_dollars, delta.delta_fp)
            except BookInconsistent as exc:
                failed: str | None = str(exc)
            else:
                failed = None
                market.seq = seq
        if failed is not None:
            self._resync(symbol, failed)
            self.stats.inconsistent += 1
            return
        self.stats.deltas += 1

    def _on_ticker(self, msg: Any) -> None:
        ticker = w.parse(WsTicker, msg, "ws ticker")
        with self._lock:
            market = self._markets.get(ticker.market_ticker)
            if market is not None:
                market.last = ticker.price_dollars if ticker.price_dollars > 0 else None
                market.ticker_seen = True

    def _on_error(self, data: dict[str, Any]) -> None:
        msg = data.get("msg") if isinstance(data.get("msg"), dict) else {}
        assert isinstance(msg, dict)
        code = msg.get("code")
        text = str(msg.get("msg", ""))[:200]
        self.stats.errors.append(code if isinstance(code, int) else -1)
        if code == ERROR_AUTH_REQUIRED:
            raise AuthError(VENUE, f"websocket: error {code} {text!r}: the connection is not authenticated")
        command_id, sid = data.get("id"), data.get("sid")
        pending = self._pending.pop(command_id, None) if isinstance(command_id, int) else None
        symbol = pending[1] if pending else (self._sids.get(sid) if isinstance(sid, int) else None)
        log.warning("kalshi ws: error %s %r%s", code, text, f" ({symbol})" if symbol else "")
        if symbol and (pending is not None or code in TERMINAL_ERRORS):
            self._resync(symbol, f"subscription error {code}")


__all__ = [
    "KalshiStream",
    "StreamConfig",
    "StreamStats",
    "WsDelta",
    "WsFill",
    "WsSnapshot",
    "WsTicker",
    "WsUserOrder",
    "to_fill",
    "to_order_update",
]
