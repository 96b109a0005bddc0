"""The surface loop: scan → research → predict → decide → execute → publish, one tick at a time.

A tick: follow the surface's own trade log into the ledger (the resolver appends resolutions there), pick up
operator overrides, write a heartbeat, scan the venue, let each strategy propose, run every proposal through the
decider (fees, edge, sizing and the 10-gate chain, one decision record each), execute what passed through the
durable order lifecycle, and publish a signed signal for every trade taken.
SIGINT/SIGTERM finish the current tick, flush and exit 0.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType

from shared.bus import JsonlLog
from shared.clock import Clock
from shared.execution import OrderLifecycle
from shared.notify import Notifier
from shared.records import Heartbeat, Signal, Surface, Trade
from shared.venues.base import VenueError
from surfaces.decide import Decider, Outcome
from surfaces.publish import SignalPublisher
from surfaces.strategy import Strategy, TickContext

log = logging.getLogger(__name__)


@dataclass
class TickStats:
    tick: int = 0
    proposals: int = 0
    decisions: int = 0
    accepted: int = 0
    signals: int = 0
    errors: int = 0
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
        # Intents whose outcome the venue could not tell us (a lookup failed after a send error): retried each tick.
        self._unsettled: dict[str, tuple[Trade, Signal]] = {}

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
        """Reconcile unfinished intents with the venue before trading (crash recovery)."""
        written = self.lifecycle.reconcile()
        if written:
            log.warning("%s: reconciled %d unfinished orders at start", self.process_name, len(written))
        self.decider.sync()

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
        if self.notifier is not None:
            self.notifier.close()

    # ------------------------------------------------------------------ one tick
    def tick(self) -> None:
        started = time.perf_counter()
        self.stats.tick += 1
        for event in self.decider.sync():
            self._notify(f"[{self.surface}] breaker {event.breaker} {event.action}: {event.reason}")
        try:
            instruments = tuple(self.venue.instruments())
        except VenueError as exc:
            self.stats.errors += 1
            log.error("%s: scan failed: %s", self.process_name, exc)
            instruments = ()
        now = self.venue.clock.now()
        self._settle_unsettled()
        if instruments:
            self._trade(TickContext(venue=self.venue, now=now, instruments=instruments))
        elapsed = (time.perf_counter() - started) * 1000
        self.stats.last_tick_ms = elapsed
        self._heartbeat(now, len(instruments))

    def _settle_unsettled(self) -> None:
        for trade_id, (intent, signal_record) in list(self._unsettled.items()):
            try:
                settled = self.lifecycle.settle(intent)
            except VenueError as exc:
                log.warning("%s: %s still unsettled: %s", self.process_name, intent.client_order_id, exc)
                continue
            del self._unsettled[trade_id]
            self.decider.after_execution()
            if settled.status == "filled":
                log.warning("%s: %s filled after all (found at the venue)", self.process_name, intent.instrument)
                self.publisher.publish(signal_record)
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
        try:
            trade = self.lifecycle.execute(outcome.plan)
        except VenueError as exc:
            # The send failed and so did asking the venue about it: the intent is on disk; settle it later.
            self.stats.errors += 1
            log.error("%s: order for %s failed: %s", self.process_name, outcome.plan.instrument, exc)
            self._notify(f"[{self.surface}] order error on {outcome.plan.instrument}: {exc}")
            self._unsettled[outcome.plan.trade_id] = (self.lifecycle.intent(outcome.plan), outcome.signal)
            return
        self.decider.after_execution()
        if trade.status != "filled":
            return
        signal_record = outcome.signal
        self.publisher.publish(signal_record)
        self.stats.signals += 1
        self._notify(f"[{self.surface}] {trade.side} {trade.instrument} @ {trade.fill_price} "
                     f"({outcome.proposal.sub_strategy}, edge {signal_record.edge:.3f})")

    def _notify(self, text: str) -> None:
        if self.notifier is not None:
            self.notifier.send(text)

    def _heartbeat(self, now: datetime, instruments: int) -> None:
        self.heartbeats.append(Heartbeat(
            process=self.process_name, at=self.wall.now(), tick=self.stats.tick, pid=os.getpid(),
            detail={"venue_time": now.isoformat(), "instruments": instruments,
                    "tick_ms": round(self.stats.last_tick_ms, 2), "decisions": self.stats.decisions,
                    "signals": self.stats.signals, "errors": self.stats.errors},
        ))


