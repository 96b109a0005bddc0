"""A feed edge's in-memory state, fed from JetStream instead of the logs: the dashboard's index, hub and book.

Nothing here is the edge's own: signals come from ``TBOT_SIGNALS`` with the byte offsets of their line in the
operator's log and go into a :class:`~dashboard.feed.SignalIndex` (which verifies each signature against the
operator's public key and refuses what does not verify); subscriber events come from ``TBOT_SUBSCRIBERS`` into a
:class:`~dashboard.subscribers.SubscriberBook`, whose revocations end the subscriber's held polls at once. So an
edge restarted from nothing rebuilds exactly what it had, and a cursor means the same on every edge and on the
dashboard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from dashboard.edge import jetstream as jsx
from dashboard.edge.config import EdgeSettings
from dashboard.feed import SURFACE_INDEX, Batch, FeedHub, SignalIndex
from dashboard.metrics import Histogram
from dashboard.ratelimit import RateLimiter
from dashboard.subscribers import SubscriberBook
from shared.bus import Entry
from shared.records import SURFACES
from shared.signing import load_public_key, public_key_pem, verify_signal
from shared.timeutil import from_iso

log = logging.getLogger(__name__)

_SIGNAL_PREFIX = "tbot.signals."
_HISTORY_PREFIX = "tbot.history."


class EdgeSignalIndex(SignalIndex):
    """The dashboard's index, but a cursor past this edge's tail waits for the tail instead of starting over.

    On the dashboard a position past the end of its log can only mean the log was replaced. On an edge it usually
    means another edge (or the dashboard) is a few milliseconds ahead: the subscriber's last answer came from there.
    Starting over would deliver every retained signal again, so the position is kept and the poll waits until this
    edge has caught up; nothing before the position is delivered, nothing after it is skipped. (A replaced log is
    the relay's to refuse: see :mod:`dashboard.edge.relay`.)
    """

    def collect(
        self, cursor: tuple[int, ...], surface: int | None, sub_strategy: str | None, limit: int
    ) -> Batch:
        if all(c <= t for c, t in zip(cursor, self.tail, strict=True)):
            return super().collect(cursor, surface, sub_strategy, limit)
        tail = self.tail
        # For this call only, the tail reaches the cursor: the parent neither resets the position nor moves it back.
        self.tail = [max(c, t) for c, t in zip(cursor, tail, strict=True)]
        try:
            return super().collect(cursor, surface, sub_strategy, limit)
        finally:
            self.tail = tail


@dataclass(slots=True)
class HistoryView:
    """What the dashboard's history pager reads of a surface (``SurfaceView``'s names), from ``TBOT_HISTORY``."""

    resolved_log: list[tuple[int, int, float, str]] = field(default_factory=list)
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)


class EdgeState:
    """What :func:`dashboard.feed_http.handle_feed` needs (settings, limiters, book, hub), fed from JetStream."""

    def __init__(self, settings: EdgeSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        path = Path(settings.signal_public_key_path)
        try:
            public = load_public_key(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EdgeConfigError(f"SIGNAL_PUBLIC_KEY_PATH: cannot load the operator's public key from {path} "
                                  f"({type(exc).__name__})") from None
        self.public_key_pem = public_key_pem(public)
        self.feed_latency = Histogram()
        self.index = EdgeSignalIndex(settings.signal_retention_seconds, clock, lambda s: verify_signal(s, public))
        self.hub = FeedHub(self.index, self.feed_latency.observe)
        self.subscribers = SubscriberBook()
        self.subscribers.on_revoke.append(self._end_held_polls)
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.anon_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.feed_polls = 0
        self.bad_messages = 0
        self.duplicates = 0
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.ready = asyncio.Event()
        self._pending: list[tuple[str, Entry]] = []
        self._flush_scheduled = False
        self._caught_up = {name: asyncio.Event() for name in ("signals", "subscribers", "history")}
        # GET /api/signals/history: resolved trades per surface, and every verified signal's record by id.
        self.surfaces = {surface: HistoryView() for surface in SURFACES}
        self._records: dict[str, dict[str, Any]] = {}

    def _end_held_polls(self, subscriber_id: str) -> None:
        dropped = self.hub.drop_subscriber(subscriber_id)
        log.info("a subscriber was revoked: %d held polls ended", dropped)

    # The dashboard's hot path calls these to catch up with its logs; here the streams push, so there is nothing to do.
    def signals_fresh(self) -> None:
        return None

    def subscribers_fresh(self) -> None:
        return None

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def start(self) -> None:
        """Connect, follow the three streams from their first message, and return once this edge has caught up."""
        self.nc = await jsx.connect(self.settings, "tbot-feed-edge")
        self.js = self.nc.jetstream(timeout=10)
        # Subscribers first: a token must work on the first poll this edge answers.
        await self._follow(jsx.SUBSCRIBERS_STREAM, jsx.SUBSCRIBERS_SUBJECT, self._on_subscriber, "subscribers")
        await self._follow(jsx.SIGNALS_STREAM, "tbot.signals.*", self._on_signal, "signals")
        await self._follow(jsx.HISTORY_STREAM, "tbot.history.*", self._on_history, "history")
        self.ready.set()
        log.info("edge caught up: %d signals indexed, %d subscribers", self.index.total_signals,
                 len(self.subscribers.active()))

    async def _follow(self, stream: str, subject: str, handler: Callable[[Msg], None], name: str) -> None:
        assert self.js is not None
        delay = 0.2
        while True:
            try:
                info = await self.js.stream_info(stream)
                break
            except (TimeoutError, nats.errors.Error) as exc:
                # The relay creates the streams; an edge started first waits for them.
                log.warning("stream %s not available yet (%s); retrying", stream, type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
        caught_up = self._caught_up[name]
        if info.state.messages == 0:
            caught_up.set()

        async def on_message(msg: Msg) -> None:
            handler(msg)
            if not caught_up.is_set() and msg.metadata.num_pending == 0:
                caught_up.set()

        # An ordered consumer: ephemeral, flow-controlled, recreated from the last sequence seen if a message is
        # missed or its node goes away, so this edge sees every message once, in stream order.
        await self.js.subscribe(subject, stream=stream, cb=on_message, ordered_consumer=True,
                                deliver_policy=DeliverPolicy.ALL, idle_heartbeat=2.0)
        await caught_up.wait()

    def _on_subscriber(self, msg: Msg) -> None:
        entry = self._entry(msg)
        if entry is not None:
            self.subscribers.apply([entry])  # a revocation ends the subscriber's held polls here and now

    def _on_signal(self, msg: Msg) -> None:
        surface = msg.subject[len(_SIGNAL_PREFIX):]
        entry = self._entry(msg)
        if entry is None or surface not in SURFACES:
            return
        self._pending.append((surface, entry))
        if not self._flush_scheduled:
            # Index everything that arrived in this turn of the loop, then answer the waiting polls once.
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, []
        for surface, entry in pending:
            if entry.offset < self.index.tail[SURFACE_INDEX[surface]]:
                # Already indexed (a resend the stream's dedup window no longer caught): offsets only grow.
                self.duplicates += 1
                continue
            for signal in self.index.ingest(surface, [entry], entry.next_offset):
                self._records[signal.id] = entry.data  # only what verified: history serves nothing else
        self.hub.notify()

    def _on_history(self, msg: Msg) -> None:
        surface = msg.subject[len(_HISTORY_PREFIX):]
        entry = self._entry(msg)
        if entry is None or surface not in SURFACES or not isinstance(entry.data.get("id"), str):
            return
        view = self.surfaces[surface]
        if view.resolved_log and entry.offset < view.resolved_log[-1][1]:
            self.duplicates += 1
            return
        trade_id = entry.data["id"]
        view.resolved_log.append((entry.offset, entry.next_offset, from_iso(entry.ts).timestamp(), trade_id))
        view.trades[trade_id] = entry.data

    def signal_record(self, signal_id: str) -> dict[str, Any] | None:
        """A verified signal's record, as the dashboard reads it from its log (history items carry it)."""
        return self._records.get(signal_id)

    def _entry(self, msg: Msg) -> Entry | None:
        offset = jsx.header_int(msg.headers, jsx.OFFSET)
        next_offset = jsx.header_int(msg.headers, jsx.NEXT_OFFSET)
        try:
            data = json.loads(msg.data)
        except ValueError:
            data = None
        if offset is None or next_offset is None or next_offset <= offset or not isinstance(data, dict) \
                or not isinstance(data.get("ts"), str):
            self.bad_messages += 1
            log.error("dropped a malformed message on %s (no offsets or not a JSON record)", msg.subject)
            return None
        return Entry(offset, next_offset, data["ts"], data)

    async def close(self) -> None:
        self.hub.close()
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()


class EdgeConfigError(ValueError):
    """A setting the edge cannot start with (named in the message)."""
