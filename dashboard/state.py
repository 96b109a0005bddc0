"""The dashboard's whole in-memory state, wired to the logs it follows. Built once at boot, then incremental."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from dashboard.callbacks import CallbackStore, CommissionStore
from dashboard.config import DashboardSettings
from dashboard.feed import FeedHub, SignalIndex
from dashboard.metrics import Histogram
from dashboard.operator_state import SurfaceView, read_line, surface_mode, surface_settings
from dashboard.pm2 import Pm2Status
from dashboard.ratelimit import RateLimiter
from dashboard.sessions import SessionStore
from dashboard.subscribers import SubscriberBook
from dashboard.tail import Followed, Tailer
from shared.bus import Entry, JsonlLog, LogReader
from shared.paths import feed_path, open_feed, open_stream, stream_path
from shared.records import SURFACES
from shared.risk.overrides import OverrideSet
from shared.signing import load_or_create_key, public_key_pem, verify_signal


class DashboardState:
    """Signals index, feed hub, subscribers, callbacks, commission and one view per surface."""

    def __init__(self, settings: DashboardSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.log_dir = Path(settings.log_dir)
        self.clock = clock
        self.feed_latency = Histogram()
        # The surfaces create the key on first run; the dashboard may be first, and creating it is race-safe.
        # Loaded before any log is read: every signal is verified against it as it is indexed.
        operator_key = load_or_create_key(Path(settings.signal_key_path))
        self.public_key_pem = public_key_pem(operator_key)
        public = operator_key.public_key()
        self.index = SignalIndex(settings.signal_retention_seconds, clock, lambda s: verify_signal(s, public))
        self.hub = FeedHub(self.index, self.feed_latency.observe)
        self.subscribers = SubscriberBook()
        self.subscribers.on_revoke.append(self._end_held_polls)
        self.callbacks = CallbackStore(self.signal_facts)
        self.commission = CommissionStore()
        self.surfaces = {
            s: SurfaceView(
                s,
                OverrideSet(surface_settings(Path(settings.env_dir), s)),
                mode=surface_mode(Path(settings.env_dir), s, settings.trading_mode),
            )
            for s in SURFACES
        }
        self._signal_facts: dict[str, tuple[str, str, Decimal]] = {}
        # Logs the dashboard appends to, by (feed or surface, name). Handlers run on the event loop, not in a
        # thread pool, so this plain dict needs no lock.
        self._logs: dict[tuple[str, str], JsonlLog] = {}
        self.tailer = Tailer()
        self._signal_readers: dict[str, LogReader] = {}
        self._signal_follows: list[Followed] = []
        self._pending_signals: list[tuple[str, str, Entry]] = []
        self._subscriber_follow: list[Followed] = []
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.anon_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        # Failed operator authentications per client address (dashboard.auth): only a failure takes a token.
        burst = settings.operator_auth_failure_burst
        self.operator_failures = RateLimiter(burst / settings.operator_auth_failure_window_seconds, burst)
        self.sessions = SessionStore()
        self.feed_polls = 0
        token = settings.dashboard_api_token
        self.operator_token: str | None = token.get_secret_value() if token is not None else None
        self._wire()
        self.tailer.listeners.extend([self._flush_signals, self.hub.notify])
        self.pm2 = Pm2Status(Path(settings.pm2_bin), Path(settings.pm2_home))
        self.started_at = clock()

    def _wire(self) -> None:
        for surface in SURFACES:
            def on_signals(entries: list[Entry], surface: str = surface) -> None:
                self._pending_signals.extend((entry.ts, surface, entry) for entry in entries)

            followed = self.tailer.follow(stream_path(self.log_dir, surface, "signals"), on_signals)
            self._signal_follows.append(followed)
            self._signal_readers[surface] = followed.reader
            view = self.surfaces[surface]
            self.tailer.follow(stream_path(self.log_dir, surface, "trades"), view.apply_trades)
            self.tailer.follow(stream_path(self.log_dir, surface, "decisions"), view.apply_decisions)
            self.tailer.follow(stream_path(self.log_dir, surface, "heartbeats"), view.apply_heartbeats)
            self.tailer.follow(stream_path(self.log_dir, surface, "events"), view.apply_events)
            self.tailer.follow(stream_path(self.log_dir, surface, "overrides"), view.apply_overrides)
        # The signals were all read above (indexed now), so callbacks can be attributed to their surface.
        self._flush_signals()
        self._subscriber_follow = [self.tailer.follow(feed_path(self.log_dir, "subscribers"), self.subscribers.apply)]
        self.tailer.follow(feed_path(self.log_dir, "callbacks"), self.callbacks.apply)
        self.tailer.follow(feed_path(self.log_dir, "commission"), self.commission.apply)

    def _ingest_signals(self, surface: str, entries: list[Entry], tail_offset: int) -> None:
        # Only what the index accepted (parsed and verified): a tampered copy of a real signal's line, same id and
        # another price, must not replace the facts callbacks are measured against.
        for signal in self.index.ingest(surface, entries, tail_offset):
            self._signal_facts[signal.id] = (surface, signal.side, signal.limit_price)

    def _flush_signals(self) -> None:
        """Index what the last read found, in publication (bus stamp) order across surfaces.

        Each poll reads the four signal logs one after another; sorting the batch by stamp keeps the feed in
        publication order even when two surfaces published between two polls (and at boot, over whole logs).
        """
        if self._pending_signals:
            pending = sorted(self._pending_signals, key=lambda item: (item[0], item[1]))
            self._pending_signals.clear()
            for _, surface, entry in pending:
                self._ingest_signals(surface, [entry], entry.next_offset)
        for surface, reader in self._signal_readers.items():
            # The tail is where each reader stands (past any trailing corrupt line), not just past the last signal.
            index = SURFACES.index(surface)
            self.index.tail[index] = max(self.index.tail[index], reader.offset)

    def signal_facts(self, signal_id: str) -> tuple[str, str, Decimal] | None:
        return self._signal_facts.get(signal_id)

    def _end_held_polls(self, subscriber_id: str) -> None:
        self.hub.drop_subscriber(subscriber_id)

    def signals_fresh(self) -> None:
        """Catch up with the signal logs (four stats when nothing is new); free while inotify does it for us.

        The feed's hot path calls this on every request: with the watcher running, an append is indexed within
        the same event-loop turn that sees its inotify event, so the stats would only cost CPU.
        """
        if not self.tailer.watching:
            self.tailer.poll(self._signal_follows)

    def subscribers_fresh(self) -> None:
        """Catch up with the subscribers log, so a revocation counts from the very next request."""
        self.tailer.poll(self._subscriber_follow)

    def refresh(self) -> None:
        """Catch up with every log now (a stat per file when nothing changed)."""
        self.tailer.poll()

    def signal_record(self, signal_id: str) -> dict[str, Any] | None:
        ref = self.index.refs.get(signal_id)
        if ref is None:
            return None
        return read_line(stream_path(self.log_dir, ref.surface, "signals"), ref.offset, ref.length)

    def decision_for(self, surface: str, candidate_id: str) -> dict[str, Any] | None:
        ref = self.surfaces[surface].decision_refs.get(candidate_id)
        if ref is None:
            return None
        return read_line(stream_path(self.log_dir, surface, "decisions"), ref[0], ref[1])

    def trade_states(self, surface: str, trade_id: str) -> list[dict[str, Any]]:
        """Every state line of one trade (audit drawer), read by byte range: no scan."""
        path = stream_path(self.log_dir, surface, "trades")
        refs = self.surfaces[surface].trade_refs.get(trade_id, [])
        return [data for offset, length in refs if (data := read_line(path, offset, length)) is not None]

    def feed_log(self, name: str) -> JsonlLog:
        """The feed log ``name`` (callbacks, commission), opened once and kept: one descriptor per log, not one
        per request (a fresh log per POST leaked its descriptor until the process hit its limit)."""
        log = self._logs.get(("feed", name))
        if log is None:
            log = self._logs[("feed", name)] = open_feed(self.log_dir, name)
        return log

    def surface_log(self, surface: str, stream: str) -> JsonlLog:
        """A surface's stream the dashboard appends to (overrides), opened once like :meth:`feed_log`."""
        log = self._logs.get((surface, stream))
        if log is None:
            log = self._logs[(surface, stream)] = open_stream(self.log_dir, surface, stream)
        return log

    def close(self) -> None:
        """Close the logs this state appends to (at shutdown; a later append would reopen its log)."""
        for log in self._logs.values():
            log.close()
