"""The surface loop: scan → research → predict → decide → execute → publish, one tick at a time.

A tick: follow the surface's own trade log into the ledger (the resolver appends resolutions there), pick up
operator overrides, write a heartbeat, scan the venue, let each strategy propose, run every proposal through the
decider (fees, edge, sizing and the 10-gate chain, one decision record each), execute what passed through the
durable order lifecycle, and publish a signed signal for every trade taken.
SIGINT/SIGTERM finish the current tick, flush and exit 0.

A full disk (the bus raises ``DiskFullError``: nothing of the refused record is in the file) halts new risk at
once: the loop says so in one line (no traceback), stops scanning for entries, records a ``disk_full`` breaker
trip if the events log still takes it, and goes on with what closes risk or completes records (orders the venue
may hold, signals of filled trades, the repeat counts of the decision log), retrying them each tick. The first
tick in which the logs take appends again finishes that backlog, records the reset and trades again.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import FrameType
from typing import Literal, cast

from shared.bus import DiskFullError, JsonlLog
from shared.clock import Clock
from shared.execution import OrderLifecycle, RestartPolicy
from shared.killswitch import is_halted
from shared.notify import Notifier
from shared.paths import open_stream
from shared.records import BreakerEvent, Heartbeat, OrderStyle, Signal, Surface, Trade
from shared.venues.base import VenueError
from shared.venues.paper import PaperVenue
from surfaces.decide import Decider, Outcome
from surfaces.publish import SignalPublisher
from surfaces.resting import RestingOrders, parse_style_overrides
from surfaces.strategy import Strategy, TickContext

log = logging.getLogger(__name__)

DISK_FULL = "disk_full"  # the breaker name of a halt for want of disk space (in memory; recorded when possible)


@dataclass
class TickStats:
    tick: int = 0
    proposals: int = 0
    decisions: int = 0
    accepted: int = 0
    signals: int = 0
    errors: int = 0
    disk_full_ticks: int = 0
    last_tick_ms: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)


class SurfaceLoop:
    def __init__(
        self,
        *,
        surface: Surface,
        process_name: str,
        strategies: Sequence[Strategy],
        decider: Decider,
        lifecycle: OrderLifecycle,
        publisher: SignalPublisher,
        heartbeats: JsonlLog,
        wall: Clock,
        tick_seconds: float,
        notifier: Notifier | None = None,
    ) -> None:
        self.surface = surface
        self.process_name = process_name
        self.strategies = list(strategies)
        self.decider = decider
        self.lifecycle = lifecycle
        self.venue = lifecycle.venue
        self.publisher = publisher
        self.heartbeats = heartbeats
        self.wall = wall
        self.tick_seconds = tick_seconds
        self.notifier = notifier
        self.stats = TickStats()
        self._stopping = threading.Event()
        # Intents whose outcome the venue could not tell us (a lookup failed after a send error), or could not be
        # recorded (a full disk): retried each tick.
        self._unsettled: dict[str, tuple[Trade, Signal]] = {}
        # Signals of filled trades the signals log refused (a full disk): published once it takes them.
        self._unpublished: list[Signal] = []
        # Set while the logs refuse appends: (the error, venue time it started, its trip recorded?).
        self._disk_full: tuple[DiskFullError, datetime, bool] | None = None
        # LoopSettings.heartbeat_seconds: a heartbeat at most this often (wall time); the dashboard calls a process
        # stale after a minute without one, so one a tick (every 2 s) was 30 times what it needs.
        self.heartbeat_seconds = float(getattr(decider.chain.settings, "heartbeat_seconds", 0.0))
        self._last_beat: datetime | None = None
        self._needs_reconcile = False  # start() could not record what reconciling found (a full disk)
        self.resting = self._resting_orders()  # None unless ORDER_STYLE(_OVERRIDES) asks binary orders to rest

    def _resting_orders(self) -> RestingOrders | None:
        settings = self.decider.chain.settings
        style = cast(OrderStyle, getattr(settings, "order_style", "take"))
        overrides = parse_style_overrides(str(getattr(settings, "order_style_overrides", "")))
        if not self.lifecycle.binary or (style == "take" and set(overrides.values()) <= {"take"}):
            return None
        if isinstance(self.venue, PaperVenue):
            # Paper on live data sees no queue and no trades: it cannot fill a resting order honestly.
            log.warning("%s: ORDER_STYLE %s is not modelled by paper on live data; orders take", self.process_name,
                        style)
            return None
        return RestingOrders(
            self.lifecycle, style=style, rest_seconds=float(getattr(settings, "rest_seconds", 600.0)),
            overrides=overrides, min_edge=lambda: self.decider.chain.settings.min_edge, halted=self._halt_reason,
            on_fill=self._publish, after_write=self.decider.after_execution,
        )

    def _halt_reason(self) -> str | None:
        """What halts new risk now (STOP, a breaker, a quarantine), or None: resting orders are cancelled on it."""
        chain = self.decider.chain
        if is_halted(chain.log_dir, self.surface):
            return "STOP"
        if chain.breakers.tripped_names:
            return "breaker " + ",".join(sorted(chain.breakers.tripped_names))
        if chain.quarantined:
            return "quarantined"
        return None

    # ------------------------------------------------------------------ lifecycle
    def request_stop(self, *_: object) -> None:
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("%s: signal %d, finishing the tick", self.process_name, signum)
            self.request_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def start(self) -> None:
        """Reconcile unfinished intents with the venue before trading (crash recovery).

        On a full disk the loop starts halted (no new risk) and reconciles before it resumes; a ``disk_full``
        trip left by a process that ended while halted is reset once the logs take appends."""
        try:
            self._reconcile()
        except DiskFullError as exc:
            self._needs_reconcile = True
            self._halt_for_disk(exc, self.venue.clock.now())
        if self._disk_full is None and DISK_FULL in self.decider.chain.breakers.tripped_names:
            self._record_disk_event("reset", self.venue.clock.now(), "restarted; the logs take appends", quiet=True)
        try:
            self.decider.sync()
        except DiskFullError as exc:
            self._halt_for_disk(exc, self.venue.clock.now())

    def _reconcile(self) -> None:
        if self.resting is None:
            written = self.lifecycle.reconcile()  # a resting order left from an earlier style is cancelled
        else:
            policy = cast(RestartPolicy, getattr(self.decider.chain.settings, "resting_on_restart", "cancel"))
            written = self.lifecycle.reconcile(resting=policy)
            self.resting.adopt(self.lifecycle.adopted, self.venue.clock.now())
        self._needs_reconcile = False
        if written:
            log.warning("%s: reconciled %d unfinished orders at start", self.process_name, len(written))

    def run(self, max_ticks: int | None = None) -> int:
        self.start()
        while not self._stopping.is_set():
            started = time.monotonic()
            self.tick()
            if max_ticks is not None and self.stats.tick >= max_ticks:
                break
            self._stopping.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))
        self.close()
        return 0

    def close(self) -> None:
        try:
            self.decider.close()
        except DiskFullError as exc:
            log.error("%s: disk full at shutdown, pending repeat counts not written: %s", self.process_name, exc)
        if self.notifier is not None:
            self.notifier.close()

    @property
    def halted_for_disk(self) -> bool:
        """True while a full disk keeps this loop from taking new risk."""
        return self._disk_full is not None

    # ------------------------------------------------------------------ one tick
    def tick(self) -> None:
        started = time.perf_counter()
        self.stats.tick += 1
        now = self.venue.clock.now()
        try:
            for event in self.decider.sync():
                self._notify(f"[{self.surface}] breaker {event.breaker} {event.action}: {event.reason}")
        except DiskFullError as exc:
            self._halt_for_disk(exc, now)
        try:
            instruments = tuple(self.venue.instruments())
        except VenueError as exc:
            self.stats.errors += 1
            log.error("%s: scan failed: %s", self.process_name, exc)
            instruments = ()
        now = self.venue.clock.now()
        # What closes risk or completes records goes on whatever the disk does; each retried next tick if refused.
        for step in (self._settle_unsettled, self._publish_unpublished, self._tick_resting):
            try:
                step()
            except DiskFullError as exc:
                self._halt_for_disk(exc, now)
        if instruments and self._disk_full is None:
            try:
                self._trade(TickContext(venue=self.venue, now=now, instruments=instruments))
            except DiskFullError as exc:
                self._halt_for_disk(exc, now)  # at once: the rest of this tick's proposals are not decided
        elapsed = (time.perf_counter() - started) * 1000
        self.stats.last_tick_ms = elapsed
        try:
            self._heartbeat(now, len(instruments))
            if self._disk_full is not None:
                self._try_resume(now)
        except DiskFullError as exc:
            self._halt_for_disk(exc, now)
        if self._disk_full is not None:
            self.stats.disk_full_ticks += 1

    # ------------------------------------------------------------------ a full disk
    def _halt_for_disk(self, exc: DiskFullError, now: datetime) -> None:
        """Halt new risk (in memory, at once) and say so once; try to record a breaker trip."""
        self.stats.errors += 1
        if self._disk_full is not None:
            log.debug("%s: still no room on disk: %s", self.process_name, exc)
            return
        log.error("%s: DISK FULL (%s): new risk halted; exits and settlements go on; trading resumes when the "
                  "logs take appends again", self.process_name, exc)  # str(exc): "No space left on device: ..."
        self._notify(f"[{self.surface}] DISK FULL: new risk halted ({exc.strerror})")
        recorded = self._record_disk_event("trip", now, str(exc), quiet=True)
        self._disk_full = (exc, now, recorded)

    def _try_resume(self, now: datetime) -> None:
        """A heartbeat went through: finish the backlog, record the halt's end, and trade again."""
        assert self._disk_full is not None
        exc, since, recorded = self._disk_full
        if self._needs_reconcile:
            self._reconcile()
        self._settle_unsettled()
        self._publish_unpublished()
        self.decider.writer.flush_due(self.wall.now())
        if not recorded:  # the trip could not be written when it happened: record the whole episode now
            self._record_disk_event("trip", since, str(exc), quiet=False)
        self._record_disk_event("reset", now, "the logs take appends again", quiet=False)
        self._disk_full = None
        log.warning("%s: disk writable again: new risk resumes", self.process_name)
        self._notify(f"[{self.surface}] disk writable again: new risk resumes")

    def _record_disk_event(self, action: Literal["trip", "reset"], at: datetime, reason: str, *,
                           quiet: bool) -> bool:
        """Append a ``disk_full`` breaker event (the dashboard's breaker panel shows it; no gate reads it: the
        halt itself is this loop's). ``quiet``: a refusal returns False instead of raising."""
        event = BreakerEvent(surface=self.surface, breaker=DISK_FULL, action=action, at=at, reason=reason)
        events = open_stream(self.decider.chain.log_dir, self.surface, "events")
        try:
            events.append(event)
        except DiskFullError:
            if not quiet:
                raise
            return False
        finally:
            events.close()
        return True

    def _tick_resting(self) -> None:
        """Resting orders: fills, expiry, cancel/replace, and cancel-all on STOP or a breaker (every tick, before
        new proposals; whatever the disk does, as a cancel closes risk)."""
        if self.resting is not None and self.resting.working:
            self.resting.tick(self.venue.clock.now())

    def _settle_unsettled(self) -> None:
        for trade_id, (intent, signal_record) in list(self._unsettled.items()):
            try:
                settled = self.lifecycle.settle(intent)
            except VenueError as exc:
                log.warning("%s: %s still unsettled: %s", self.process_name, intent.client_order_id, exc)
                continue
            del self._unsettled[trade_id]
            self.decider.after_execution()
            if settled.status == "resting" and self.resting is not None:
                self.resting.adopt([settled], self.venue.clock.now())
            if settled.status == "filled":
                log.warning("%s: %s filled after all (found at the venue)", self.process_name, intent.instrument)
                self._publish(signal_record)

    def _publish(self, signal_record: Signal) -> None:
        try:
            self.publisher.publish(signal_record)
        except DiskFullError:
            self._unpublished.append(signal_record)  # the fill is on disk; its signal follows when there is room
            raise
        self.stats.signals += 1

    def _publish_unpublished(self) -> None:
        while self._unpublished:
            self.publisher.publish(self._unpublished[0])
            self._unpublished.pop(0)
            self.stats.signals += 1

    def _trade(self, tick: TickContext) -> None:
        for strategy in self.strategies:
            try:
                self._run_strategy(strategy, tick)
            except VenueError as exc:
                self.stats.errors += 1
                log.error("%s: %s failed this tick: %s", self.process_name, strategy.name, exc)

    def _run_strategy(self, strategy: Strategy, tick: TickContext) -> None:
        """Decide (and execute) each proposal as soon as the strategy yields it."""
        for proposal in strategy.propose(tick):
            self.stats.proposals += 1
            try:
                outcome = self.decider.decide(proposal)
            except VenueError as exc:
                self.stats.errors += 1
                log.error("%s: pricing %s failed: %s", self.process_name, proposal.instrument.symbol, exc)
                continue
            if outcome is None:
                continue  # unchanged since its last decision: nothing new to record
            self.stats.decisions += 1
            if outcome.plan is None:
                continue
            self.stats.accepted += 1
            self._execute(outcome)

    def _execute(self, outcome: Outcome) -> None:
        assert outcome.plan is not None and outcome.signal is not None
        if self.resting is not None:
            plan, rest_signal = self.resting.prepare(outcome.plan, outcome.signal, self.venue.clock.now())
            outcome = replace(outcome, plan=plan, signal=rest_signal)
        assert outcome.plan is not None and outcome.signal is not None
        try:
            trade = self.lifecycle.execute(outcome.plan)
        except DiskFullError:
            # Either the intent was refused (nothing sent) or the venue's answer could not be recorded: settling
            # asks the venue by client order id and records what it did (cancelled if it never saw the order).
            self._unsettled[outcome.plan.trade_id] = (self.lifecycle.intent(outcome.plan), outcome.signal)
            raise
        except VenueError as exc:
            # The send failed and so did asking the venue about it: the intent is on disk; settle it later.
            self.stats.errors += 1
            log.error("%s: order for %s failed: %s", self.process_name, outcome.plan.instrument, exc)
            self._notify(f"[{self.surface}] order error on {outcome.plan.instrument}: {exc}")
            self._unsettled[outcome.plan.trade_id] = (self.lifecycle.intent(outcome.plan), outcome.signal)
            return
        self.decider.after_execution()
        if trade.status == "resting" and self.resting is not None:
            self.resting.track(trade, outcome.plan, outcome.signal, outcome.proposal.p_model, self.venue.clock.now())
            return
        if trade.status != "filled":
            return
        signal_record = outcome.signal
        self._publish(signal_record)
        self._notify(f"[{self.surface}] {trade.side} {trade.instrument} @ {trade.fill_price} "
                     f"({outcome.proposal.sub_strategy}, edge {signal_record.edge:.3f})")

    def _notify(self, text: str) -> None:
        if self.notifier is not None:
            self.notifier.send(text)

    def _heartbeat(self, now: datetime, instruments: int) -> None:
        at = self.wall.now()
        last = self._last_beat
        # While the disk is full every tick writes one: it is the probe that finds the room again.
        if self._disk_full is None and last is not None and (at - last).total_seconds() < self.heartbeat_seconds:
            return
        self.heartbeats.append(Heartbeat(
            process=self.process_name, at=at, tick=self.stats.tick, pid=os.getpid(),
            detail={"venue_time": now.isoformat(), "instruments": instruments,
                    "tick_ms": round(self.stats.last_tick_ms, 2), "decisions": self.stats.decisions,
                    "signals": self.stats.signals, "errors": self.stats.errors},
        ))
        self._last_beat = at


