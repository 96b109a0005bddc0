"""The ``run`` loop: deliver the outbox, long-poll the feed, apply the batch, save the cursor, resolve outcomes."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from client.engine import Follower, Outcome, fault
from client.feed import FeedApi, FeedAuthError, FeedError, FeedUnavailable
from client.service import record_downtime, write_heartbeat
from client.store import CursorStore, atomic_write_json, read_json
from shared.timeutil import to_iso

log = logging.getLogger(__name__)

Emit = Callable[[Outcome], None]


@dataclass(slots=True)
class LoopStats:
    batches: int = 0
    signals: int = 0
    feed_errors: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # this session's signals not traded, by reason code

    def skip_summary(self) -> str:
        """``"3 stake_too_small, 1 expired"``: most frequent first."""
        return ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common())


class Runner:
    """Single-threaded: every step is short except the long-poll, whose hold shrinks while callbacks wait."""

    def __init__(
        self,
        follower: Follower,
        api: FeedApi,
        *,
        emit: Emit,
        status: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        alert: Callable[[str, str], None] | None = None,
    ) -> None:
        self.follower = follower
        self.api = api
        self._emit = emit
        self.status = status
        self.cursors = CursorStore(follower.paths.cursor)
        self._sleep = sleep
        self._monotonic = monotonic
        self._next_resolve = 0.0
        self._backoff = 0.0
        self._last_snapshot: dict[str, object] | None = None
        self._alert = alert
        self._down_since: float | None = None
        self._down_told = False
        self.stats = LoopStats()
        self.stopped = False

    def emit(self, outcome: Outcome) -> None:
        """Report an outcome, counting the reason of a signal not traded."""
        if outcome.skip_reason is not None:
            self.stats.skipped[outcome.skip_reason] += 1
        self._emit(outcome)

    def start(self) -> None:
        """Recover from whatever the last process left half done, before the first poll."""
        away = record_downtime(self.follower.paths, self.follower.now())
        if away is not None:
            self.status(f"the client was not polling from {to_iso(away[0])} to {to_iso(away[1])}; "
                        "`tbot-client service status` lists signals that expired meanwhile")
        for outcome in self.follower.recover():
            self.emit(outcome)
        self._finish_pending_batch()
        self._snapshot()

    def _anchor(self) -> str | None:
        """The first cursor, saved before any signal is handled; None while the feed is unreachable.

        Without a saved cursor the feed starts at "now". Were that "now" to be the first long-poll's, a crash
        inside the first batch (before its cursor is saved) would restart at a later "now" and skip the rest of
        that batch and everything published while the client was down. So the client asks for "now" without
        waiting (``wait=0``: the server answers at once with no signals and the cursor of its tail), saves it, and
        only then polls from it. A server that answers the cursor-less poll with signals anyway gets them kept in
        ``batch.json`` until each is handled.
        """
        feed = self.follower.config.feed
        try:
            batch = self.api.poll(None, wait=0, limit=feed.batch_limit, **self._filters())
        except FeedAuthError:
            raise
        except FeedError as exc:
            self._feed_down(exc)
            return None
        if batch.signals:
            atomic_write_json(self.follower.paths.pending_batch,
                              {"signals": batch.signals, "next_cursor": batch.next_cursor})
        self.cursors.save(batch.next_cursor)
        self._finish_pending_batch()
        return batch.next_cursor

    def _finish_pending_batch(self) -> None:
        """Handle what a cursor-less batch delivered (again: dedup makes repeats no-ops), then forget it."""
        path = self.follower.paths.pending_batch
        pending = read_json(path)
        if pending is None:
            return
        signals = pending.get("signals")
        for data in signals if isinstance(signals, list) else []:
            if isinstance(data, dict):
                self.stats.signals += 1
                self.emit(self.follower.handle(data))
        path.unlink(missing_ok=True)

    def _filters(self) -> dict[str, str | None]:
        feed = self.follower.config.feed
        return {
            "surface": feed.surfaces[0] if len(feed.surfaces) == 1 else None,
            "sub_strategy": feed.sub_strategies[0] if len(feed.sub_strategies) == 1 else None,
        }

    def run(self, *, max_batches: int | None = None) -> None:
        """Loop until :attr:`stopped` (set by a signal handler) or ``max_batches`` polls have answered."""
        self.start()
        while not self.stopped and (max_batches is None or self.stats.batches < max_batches):
            self.step()

    def step(self) -> None:
        """One turn: outbox, one poll, its signals, cursor, outcomes."""
        follower = self.follower
        follower.refresh()
        self._control()
        for outcome in follower.retry_unconfirmed():
            self.emit(outcome)
        report = follower.outbox.deliver(self.api.post, block=False)
        for key in report.dead:
            self.status(f"callback {key} refused by the server; see the outbox log")
        cursor = self.cursors.load() or self._anchor()
        if cursor is None:
            return
        feed = follower.config.feed
        wait = feed.poll_wait_seconds if not follower.outbox.pending() else min(feed.poll_wait_seconds, 2)
        try:
            batch = self.api.poll(cursor, wait=wait, limit=feed.batch_limit, **self._filters())
        except FeedAuthError:
            raise
        except FeedError as exc:
            self._feed_down(exc)
            return
        self._feed_up()
        self._backoff = 0.0
        self.stats.batches += 1
        write_heartbeat(self.follower.paths, self.follower.now(), batches=self.stats.batches)
        skipped_before = sum(self.stats.skipped.values())
        for data in batch.signals:
            self.stats.signals += 1
            self.emit(follower.handle(data))
            fault("in_batch")
        if batch.next_cursor and batch.next_cursor != cursor:
            # After the batch's records are written: a crash before this line re-reads the batch, and the dedup
            # set (rebuilt from signals.jsonl and orders.jsonl) turns the repeats into no-ops.
            self.cursors.save(batch.next_cursor)
        if sum(self.stats.skipped.values()) > skipped_before:
            self.status(f"not traded this session: {self.stats.skip_summary()}")
        self._resolve()
        self._control()
        self._snapshot()

    def _control(self) -> None:
        """Flatten requests (from ``tbot-client flatten`` or the equity stop) and the equity stop's check."""
        for outcome in self.follower.flatten_pending():
            self.emit(outcome)
        for outcome in self.follower.check_equity_stop():
            self.emit(outcome)

    def _feed_up(self) -> None:
        if self._down_told and self._down_since is not None and self._alert is not None:
            self._alert("feed_loss", f"feed back after {self._monotonic() - self._down_since:.0f}s unreachable")
        self._down_since, self._down_told = None, False

    def _feed_down(self, exc: FeedError) -> None:
        now = self._monotonic()
        if self._down_since is None:
            self._down_since = now
        threshold = self.follower.config.notify.feed_loss_seconds
        if not self._down_told and now - self._down_since >= threshold and self._alert is not None:
            self._alert("feed_loss", f"feed unreachable for {now - self._down_since:.0f}s ({exc}); signals published "
                                     "meanwhile may expire before the client sees them")
            self._down_told = True
        self.stats.feed_errors += 1
        self._backoff = min(30.0, max(0.5, self._backoff * 2))
        delay = self._backoff * random.uniform(0.5, 1.0)
        kind = "unreachable" if isinstance(exc, FeedUnavailable) else "answered badly"
        self.status(f"feed {kind} ({exc}); retrying in {delay:.1f}s")
        self._sleep(delay)

    def _resolve(self) -> None:
        if self._monotonic() < self._next_resolve:
            return
        follower = self.follower
        since = follower.history_since()
        if since is None:
            return
        self._next_resolve = self._monotonic() + follower.config.feed.resolve_every_seconds
        try:
            items = self.api.history_all(since.date())
        except FeedError as exc:
            self.status(f"history unavailable ({exc}); outcomes will be checked again")
            self._next_resolve = self._monotonic() + min(5.0, follower.config.feed.resolve_every_seconds)
            return
        for outcome in follower.apply_history(items):
            self.emit(outcome)

    def resolve_now(self) -> None:
        self._next_resolve = 0.0
        self._resolve()

    def _snapshot(self) -> None:
        """Write the incrementally kept ledger where ``status`` and the tests can compare it with a rebuild."""
        snapshot = self.follower.ledger.snapshot()
        if snapshot != self._last_snapshot:
            atomic_write_json(self.follower.paths.snapshot, snapshot)
            self._last_snapshot = snapshot
