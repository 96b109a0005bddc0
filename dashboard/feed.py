"""The signal feed: an in-memory index of recent signals and the long-poll hub that hands batches out.

- The index is fed by the tailer as signals are appended (never by rescanning a log). Each signal is validated
  and serialized to JSON once, when it arrives; a response is those bytes joined.
- Waiting requests are grouped by what they asked for (cursor, filters, limit). When a batch arrives, each group's
  response is built once and the same bytes are handed to every request in the group.
- A signal past ``expires_at`` is consumed (the cursor moves past it) but never delivered: a client reconnecting
  after ten minutes away must not see a stale trade as actionable.
- A signal whose signature does not verify against the operator's key is counted and logged, never indexed: it is
  not served on the feed or the history and does not appear in the operator's views as authentic. Verifying once
  here (~0.1 ms each) keeps every request free of it.
- Once shutdown starts, a poll is answered at once (what is there, usually nothing, at its cursor) instead of being
  held, so a client that re-polls through a keep-alive connection is not held into the server's graceful timeout.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from dashboard.cursor import encode_cursor
from shared.bus import Entry
from shared.records import SURFACES, Signal, parse_record
from shared.timeutil import from_iso

log = logging.getLogger(__name__)

SURFACE_INDEX = {name: i for i, name in enumerate(SURFACES)}


@dataclass(slots=True)
class IndexedSignal:
    """A signal held in memory, with the bytes every response shares."""

    seq: int
    surface: int
    offset: int
    next_offset: int
    id: str
    sub_strategy: str
    published_at: float
    expires_at: float
    appended_at: float
    payload: bytes


@dataclass(frozen=True, slots=True)
class SignalRef:
    """Where a signal lives on disk, kept for every signal ever seen (callbacks and history look it up)."""

    surface: str
    offset: int
    length: int
    sub_strategy: str
    published_at: float


@dataclass(slots=True)
class Batch:
    """The answer to one poll: the JSON body, how many signals it delivers, and the cursor after it."""

    body: bytes
    delivered: int
    cursor: tuple[int, ...]
    oldest_appended_at: float | None = None


class SignalIndex:
    """Recent signals per surface, ordered by arrival; plus a reference to every signal id ever seen."""

    def __init__(
        self,
        retention_seconds: float,
        clock: Callable[[], float] = time.time,
        verify: Callable[[Signal], bool] | None = None,
    ) -> None:
        self.retention_seconds = retention_seconds
        self.clock = clock
        self.verify = verify
        count = len(SURFACES)
        self._entries: list[list[IndexedSignal]] = [[] for _ in range(count)]
        self._offsets: list[list[int]] = [[] for _ in range(count)]
        self.tail: list[int] = [0] * count
        self.base: list[int] = [0] * count
        self.refs: dict[str, SignalRef] = {}
        self.invalid_records = 0
        self.unverified_per_surface = [0] * count
        self.total_signals = 0
        self.per_surface = [0] * count
        # The operator's and the demo's views show the latest signals even once they left the feed's index.
        self._latest: deque[IndexedSignal] = deque(maxlen=2000)
        self._seq = 0
        self._last_prune = 0.0

    @property
    def unverified_signals(self) -> int:
        """Signals refused because their signature did not verify (tampered, forged or unsigned lines)."""
        return sum(self.unverified_per_surface)

    def ingest(self, surface: str, entries: list[Entry], tail_offset: int) -> list[Signal]:
        """Index a batch read from ``logs/<surface>/signals.jsonl``; returns the signals it accepted."""
        index = SURFACE_INDEX[surface]
        accepted: list[Signal] = []
        for entry in entries:
            try:
                signal = parse_record(Signal, entry.data, entry.ts)
            except ValidationError as exc:
                self.invalid_records += 1
                log.warning("skipped an invalid signal in %s at byte %d: %s", surface, entry.offset, exc)
                continue
            if self.verify is not None and not self.verify(signal):
                self.unverified_per_surface[index] += 1
                # %r: the id is whatever the line says, and must not be able to forge a log line of its own.
                log.error("signal %r in %s at byte %d does not verify against the operator's public key: not served",
                          signal.id, surface, entry.offset)
                continue
            self._seq += 1
            published = signal.published_at.timestamp()
            self.refs[signal.id] = SignalRef(
                surface, entry.offset, entry.next_offset - entry.offset, signal.sub_strategy, published
            )
            item = IndexedSignal(
                seq=self._seq,
                surface=index,
                offset=entry.offset,
                next_offset=entry.next_offset,
                id=signal.id,
                sub_strategy=signal.sub_strategy,
                published_at=published,
                expires_at=signal.expires_at.timestamp(),
                appended_at=from_iso(entry.ts).timestamp(),
                payload=json.dumps(entry.data, separators=(",", ":")).encode(),
            )
            self._entries[index].append(item)
            self._offsets[index].append(entry.offset)
            self._latest.append(item)
            accepted.append(signal)
        self.total_signals += len(accepted)
        self.per_surface[index] += len(accepted)
        self.tail[index] = max(self.tail[index], tail_offset)
        self.prune()
        return accepted

    def prune(self) -> None:
        """Drop signals that expired more than the retention ago; ``base`` remembers where that leaves each log."""
        now = self.clock()
        if now - self._last_prune < 1.0:
            return
        self._last_prune = now
        horizon = now - self.retention_seconds
        for index, entries in enumerate(self._entries):
            cut = 0
            # Only from the front, and only expired ones: everything before ``base`` is then known to be expired.
            while cut < len(entries) and entries[cut].expires_at < horizon:
                cut += 1
            if cut:
                self.base[index] = entries[cut - 1].next_offset
                del entries[:cut]
                del self._offsets[index][:cut]

    def recent(self, limit: int) -> list[IndexedSignal]:
        """The most recent signals across surfaces (up to 2,000, expired ones included), newest first."""
        return [item for _, item in zip(range(limit), reversed(self._latest), strict=False)]

    def now_cursor(self) -> tuple[int, ...]:
        return tuple(self.tail)

    def collect(
        self, cursor: tuple[int, ...], surface: int | None, sub_strategy: str | None, limit: int
    ) -> Batch:
        """The signals after ``cursor`` (in arrival order) that match the filters, and the cursor after them."""
        now = self.clock()
        position = list(cursor)
        surfaces = range(len(SURFACES)) if surface is None else (surface,)
        slices = []
        for index in surfaces:
            if position[index] > self.tail[index]:
                # Beyond the end of the log: this server never issued that, so the log was replaced (logs/ wiped).
                # Start that surface over rather than wait, silently, for the new log to grow past the old offset.
                position[index] = 0
            if position[index] < self.base[index]:
                position[index] = self.base[index]  # everything before base expired long ago
            start = bisect_left(self._offsets[index], position[index])
            entries = self._entries[index]
            if start < len(entries):
                slices.append(entries[start:])
        out: list[bytes] = []
        oldest: float | None = None
        exhausted = True
        if slices:
            merged = slices[0] if len(slices) == 1 else heapq.merge(*slices, key=lambda s: s.seq)
            for item in merged:
                if len(out) >= limit:
                    exhausted = False
                    break
                position[item.surface] = item.next_offset
                if item.expires_at <= now:
                    continue
                if sub_strategy is not None and item.sub_strategy != sub_strategy:
                    continue
                out.append(item.payload)
                if oldest is None or item.appended_at < oldest:
                    oldest = item.appended_at
        if exhausted:
            for index in surfaces:
                position[index] = max(position[index], self.tail[index])
        final = tuple(position)
        body = b'{"signals":[' + b",".join(out) + b'],"next_cursor":"' + encode_cursor(final).encode() + b'"}'
        return Batch(body, len(out), final, oldest)


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[Batch | None]
    subscriber_id: str
    timer: asyncio.TimerHandle | None = None


_Key = tuple[tuple[int, ...], int | None, str | None, int]


class FeedHub:
    """Holds long-poll requests until their signals arrive; one build per group of identical requests."""

    def __init__(self, index: SignalIndex, on_latency: Callable[[float, int], None] | None = None) -> None:
        self.index = index
        self._waiting: dict[_Key, list[_Waiter]] = {}
        self._on_latency = on_latency
        self._seen_total = index.total_signals
        self.held = 0
        # Set when shutdown starts (from the stop-signal handler): from then on no poll is held.
        self.closing = False

    def waiting_count(self) -> int:
        return self.held

    async def poll(
        self,
        cursor: tuple[int, ...] | None,
        surface: int | None,
        sub_strategy: str | None,
        limit: int,
        wait: float,
        subscriber_id: str,
    ) -> Batch | None:
        """The next batch for this request; None if the subscriber was revoked while it waited."""
        position = self.index.now_cursor() if cursor is None else cursor
        batch = self.index.collect(position, surface, sub_strategy, limit)
        if batch.delivered or wait <= 0 or self.closing:
            self._observe(batch, 1)
            return batch
        loop = asyncio.get_running_loop()
        key: _Key = (batch.cursor, surface, sub_strategy, limit)
        waiter = _Waiter(loop.create_future(), subscriber_id)
        waiter.timer = loop.call_later(wait, self._expire, key, waiter)
        self._waiting.setdefault(key, []).append(waiter)
        self.held += 1
        try:
            return await waiter.future
        finally:
            if not waiter.future.done() or waiter.timer is not None:
                self._forget(key, waiter)

    def _forget(self, key: _Key, waiter: _Waiter) -> None:
        if waiter.timer is not None:
            waiter.timer.cancel()
            waiter.timer = None
        group = self._waiting.get(key)
        if group is not None and waiter in group:
            group.remove(waiter)
            self.held -= 1
            if not group:
                del self._waiting[key]

    def _expire(self, key: _Key, waiter: _Waiter) -> None:
        waiter.timer = None
        self._forget(key, waiter)
        if not waiter.future.done():
            cursor, surface, sub_strategy, limit = key
            waiter.future.set_result(self.index.collect(cursor, surface, sub_strategy, limit))

    def notify(self) -> None:
        """New signals were indexed: answer every group that now has something to deliver."""
        if self.index.total_signals == self._seen_total:
            return  # another log changed (a heartbeat, a trade): nothing for the feed
        self._seen_total = self.index.total_signals
        for key in list(self._waiting):
            cursor, surface, sub_strategy, limit = key
            batch = self.index.collect(cursor, surface, sub_strategy, limit)
            if not batch.delivered:
                continue
            group = self._waiting.pop(key)
            self.held -= len(group)
            for waiter in group:
                if waiter.timer is not None:
                    waiter.timer.cancel()
                    waiter.timer = None
                if not waiter.future.done():
                    waiter.future.set_result(batch)
            self._observe(batch, len(group))

    def drop_subscriber(self, subscriber_id: str) -> int:
        """End the held requests of a revoked subscriber at once; returns how many there were."""
        dropped = 0
        for key in list(self._waiting):
            for waiter in [w for w in self._waiting.get(key, []) if w.subscriber_id == subscriber_id]:
                self._forget(key, waiter)
                if not waiter.future.done():
                    waiter.future.set_result(None)
                dropped += 1
        return dropped

    def close(self) -> None:
        """Answer every held request now (shutdown): each gets an empty batch at its cursor; later polls are not
        held at all."""
        self.closing = True
        for key in list(self._waiting):
            for waiter in list(self._waiting.get(key, [])):
                self._expire(key, waiter)

    def _observe(self, batch: Batch, count: int) -> None:
        if batch.delivered and batch.oldest_appended_at is not None and self._on_latency is not None:
            self._on_latency(max(0.0, self.index.clock() - batch.oldest_appended_at), count)
