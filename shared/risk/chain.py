"""The risk chain: every entry a surface considers passes the ten gates here, in order, or is not placed.

Usage, one chain per surface loop::

    ledger = Ledger.rebuild(log_dir, surface, settings.trading_mode, bankroll_cents=settings.bankroll_cents,
                            day_boundary_tz=settings.day_boundary_tz)
    chain = RiskChain(settings, ledger, log_dir, venue_clock)
    each tick:
        chain.begin_tick()                       # STOP re-stat, overrides, operator resets, ledger.sync, breakers
        decision = chain.evaluate(candidate, api_spend_cents=spend_today)   # a records.Decision
        if decision.accepted: write the intent Trade (signal_id = candidate.candidate_id), ledger.apply(it), place
        exit_ok = chain.allow_exit(ExitRequest(...))   # exits and cancels: always accepted, never gated

What a decision holds: ``gates`` has all ten gates in order. Gates before the stopping one passed; the stopping
gate has ``passed=False`` and its reason code; gates after it were not run and read ``passed=False,
reason_code="not_evaluated"``. ``stopped_by`` / ``reason_code`` name the first denial (None when accepted).
A gate that raises denies with ``reason_code="gate_error"`` (fail closed). Each decision is appended to
``logs/<surface>/decisions.jsonl`` unless ``write_decisions=False``.

Halts block new risk only: the STOP file and the breakers are gates 1 and 6, and :meth:`RiskChain.allow_exit`
never consults them. Exits feed the rapid-exit monitor: ``RAPID_EXIT_COUNT`` exits within
``RAPID_EXIT_WINDOW_SECONDS`` quarantine the surface (the exit itself still goes through).

The STOP file is re-stat'ed at :meth:`begin_tick` and at most ``stop_check_seconds`` apart between ticks (default
50 ms), so a halt is honoured within one loop tick while a burst of decisions shares one stat.
Accepted candidates reserve their exposure in the ledger until their trade is applied, so two candidates decided
in the same tick cannot both take the last slot of a cap.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from shared.bus import JsonlLog
from shared.clock import Clock, WallClock
from shared.config import SurfaceSettings
from shared.killswitch import is_halted
from shared.money.ledger import Holding, Ledger
from shared.money.periods import day_period
from shared.paths import open_stream
from shared.records import SCHEMA_VERSION, BreakerEvent, Decision, GateOutcome, prevalidated
from shared.risk.breakers import BreakerBoard, RapidExitMonitor
from shared.risk.candidate import Candidate, ExitRequest
from shared.risk.gates import GATES, Denial, GateContext, Limits, account_standing
from shared.risk.ids import IdMint
from shared.risk.overrides import OverrideFeed, OverrideSet

log = logging.getLogger(__name__)

# NamedTuples built without their Python-level __new__ (as namedtuple's own _make does): two per decision.
_new_tuple = tuple.__new__

NOT_EVALUATED = "not_evaluated"
GATE_ERROR = "gate_error"
EXIT_GATE = "exit"


class Verdict(NamedTuple):
    """What the gates said about one candidate, before it becomes a :class:`~shared.records.Decision`."""

    candidate: Candidate
    accepted: bool
    stopped_by: str | None
    reason_code: str | None
    outcomes: tuple[GateOutcome, ...]
    venue_time: datetime


class RiskChain:
    """The ten gates of one surface, with its ledger, breakers, STOP file and live overrides."""

    def __init__(
        self,
        settings: SurfaceSettings,
        ledger: Ledger,
        log_dir: Path,
        clock: Clock,
        *,
        wall: Clock | None = None,
        write_decisions: bool = True,
        stop_check_seconds: float = 0.05,
        gates: tuple[tuple[str, Any], ...] = GATES,
    ) -> None:
        self.surface = ledger.surface
        self.ledger = ledger
        self.log_dir = log_dir
        self.clock = clock
        self.wall = wall or WallClock()
        self.stop_check_seconds = stop_check_seconds
        self.gates = gates
        self._numbered_gates = tuple((index, name, gate) for index, (name, gate) in enumerate(gates))
        # Outcomes are immutable, so the passed / not-evaluated ones are built once and shared by every decision.
        self._passed = tuple(GateOutcome(gate=name, passed=True) for name, _ in gates)
        skipped = tuple(GateOutcome(gate=name, passed=False, reason_code=NOT_EVALUATED) for name, _ in gates)
        # For a denial at gate i: the outcomes before it (passed) and after it (not evaluated).
        self._around = tuple((self._passed[:i], skipped[i + 1 :]) for i in range(len(gates)))
        self._period = day_period(clock.now(), settings.day_boundary_tz)
        self._overrides = OverrideSet(settings)
        self._override_feed = OverrideFeed(log_dir, self.surface, self._overrides)
        self._limits = Limits.from_settings(settings)
        self.breakers = BreakerBoard(log_dir, self.surface, settings.day_boundary_tz)
        self._rapid = RapidExitMonitor(settings.rapid_exit_count, settings.rapid_exit_window_seconds)
        self._decisions: JsonlLog | None = open_stream(log_dir, self.surface, "decisions") if write_decisions else None
        self._ctx: GateContext | None = None  # kept between evaluations; see check()
        self._seen_ledger_version = -1
        self._seen_breakers_version = -1
        self._ids = IdMint()
        # Every field of a decision record, in order; decision() copies it and fills in what varies.
        self._fields: dict[str, Any] = dict.fromkeys(Decision.model_fields)
        self._fields.update(schema_version=SCHEMA_VERSION, kind="decision", repeats=1)
        self._halted = True  # fail closed until the first check has run
        self._halt_checked = float("-inf")
        self._refresh_settings()

    # ---------------------------------------------------------------- per tick
    @property
    def settings(self) -> SurfaceSettings:
        """The effective settings: env file plus live overrides."""
        return self._limits.settings

    def begin_tick(self) -> list[BreakerEvent]:
        """Start of a loop tick: re-stat STOP, apply new overrides and operator resets, sync the ledger, update
        the breakers. Returns the breaker events this appended."""
        self._check_halt(force=True)
        if self._override_feed.poll():
            self._refresh_settings()
        was_quarantined = self.quarantined
        self.breakers.refresh()
        if was_quarantined and not self.quarantined:
            self._rapid.clear()  # the operator resumed it (tbot resume): earlier exits no longer count
        self.ledger.sync()
        events = self._count_exits()
        return events + self.breakers.update(self.clock.now(), self.ledger, self.settings)

    def _count_exits(self) -> list[BreakerEvent]:
        """Feed the positions the resolver closed (its records on this surface's log) to the rapid-exit monitor.

        The resolver runs in another process, so its exits reach the surface that owns the positions through the
        trade log; the quarantine trips here, where new risk is decided. Each exit counts at the venue time it
        happened; history read at start-up is not news (see ``Ledger.rebuild``).
        """
        exits = self.ledger.take_exits()
        if not exits:
            return []
        now = self.clock.now()
        events: list[BreakerEvent] = []
        for item in exits:
            at = item.trade.resolved_at or now
            if self._rapid.record(at.timestamp(), now.timestamp()) and not self.quarantined:
                event = self.breakers.trip_quarantine(
                    now,
                    f"{self._rapid.count} exits within {self._rapid.window_seconds}s; last {item.trade.instrument}"
                    f" ({item.trade.reason or 'closed'})",
                )
                if event is not None:
                    events.append(event)
        return events

    def _refresh_settings(self) -> None:
        settings = self._overrides.settings
        try:
            self._limits = Limits.from_settings(settings)
        except ValueError as exc:
            log.error("%s: settings rejected, keeping the previous ones: %s", self.surface, exc)
            return
        self._rapid.count = settings.rapid_exit_count
        self._rapid.window_seconds = settings.rapid_exit_window_seconds

    def _check_halt(self, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now - self._halt_checked >= self.stop_check_seconds:
            self._halted = is_halted(self.log_dir, self.surface)
            self._halt_checked = now
        return self._halted

    # ---------------------------------------------------------------- entries
    def evaluate(self, candidate: Candidate, *, api_spend_cents: int = 0, decision_id: str | None = None) -> Decision:
        """Run ``candidate`` through the ten gates; returns the decision record (and appends it to the log)."""
        decision = self.decision(self.check(candidate, api_spend_cents=api_spend_cents), decision_id)
        if self._decisions is not None:
            self._decisions.append(decision)
        return decision

    def check(self, candidate: Candidate, *, api_spend_cents: int = 0) -> Verdict:
        """The gates alone: the verdict :meth:`evaluate` turns into a record. An accepted candidate reserves its
        exposure in the ledger either way, so use this only where the decision record is built and written anyway
        (e.g. in bulk with :meth:`decision` and ``JsonlLog.append_many``)."""
        now = self.clock.now()
        ctx = self._ctx
        period = self._period
        # The context's slow part follows the ledger's log, the trading day, the settings and the breakers.
        if (
            ctx is None
            or not period[0] <= now < period[1]
            or self.ledger.version != self._seen_ledger_version
            or self.breakers.version != self._seen_breakers_version
            or self._limits is not ctx.limits
        ):
            ctx = self._refresh_context(now)
        ctx.now = now
        ctx.halted = self._check_halt()
        ctx.api_spend_cents = api_spend_cents
        for index, name, gate in self._numbered_gates:
            try:
                denial = gate(candidate, ctx)
            except Exception as exc:  # fail closed: a broken gate is a denial, never a pass
                log.exception("%s: gate %s raised on %s", self.surface, name, candidate.candidate_id)
                denial = Denial(GATE_ERROR, f"{type(exc).__name__}: {exc}"[:300])
            if denial is not None:
                reason = denial.reason_code
                stop = prevalidated(
                    GateOutcome, {"gate": name, "passed": False, "reason_code": reason, "detail": denial.detail}
                )
                before, after = self._around[index]
                outcomes = (*before, stop, *after)
                return _new_tuple(Verdict, (candidate, False, name, reason, outcomes, now))
        signal_id = candidate.candidate_id
        holding = (
            signal_id,
            signal_id,
            candidate.instrument,
            candidate.underlying,
            candidate.category,
            candidate.side,
            candidate.cost_cents,
            candidate.fee_cents,
        )
        self.ledger.reserve(_new_tuple(Holding, holding))
        return _new_tuple(Verdict, (candidate, True, None, None, self._passed, now))

    def _refresh_context(self, now: datetime) -> GateContext:
        """A new gate context at venue time ``now``: the trading day, the breakers (which may trip here) and the
        ledger's standing."""
        limits = self._limits
        period = self._period
        if not period[0] <= now < period[1]:
            period = self._period = day_period(now, limits.settings.day_boundary_tz)
        ledger, breakers = self.ledger, self.breakers
        breakers.update(now, ledger, limits.settings)
        tripped = breakers.tripped_names
        day, week = period[2], period[3]
        standing = account_standing(limits, ledger, day, week, tripped)
        ctx = self._ctx = GateContext(limits, ledger, now, day, week, self._halted, tripped, 0, standing)
        self._seen_ledger_version = ledger.version
        self._seen_breakers_version = breakers.version
        return ctx

    def decision(
        self,
        verdict: Verdict,
        decision_id: str | None = None,
        *,
        edge: float | None = None,
        context: dict[str, Any] | None = None,
    ) -> Decision:
        """The decision record for a verdict: every gate's outcome, the candidate's numbers, the wall time, and
        optionally the edge after fees and more ``context`` (a strategy's features, the models' answers).

        Built with :func:`~shared.records.prevalidated`, not validated again: every value comes from a
        :class:`Candidate` (validated on construction), from the gates' own outcomes or from this chain. That
        keeps the record's cost below the ten gates'. The tests round-trip these records through
        ``Decision.model_validate``.
        """
        c = verdict.candidate
        decided_at = self.wall.now()
        audit = {
            "venue_time": verdict.venue_time,
            "price": c.price,
            "current_price": c.current_price,
            "quantity": c.quantity,
            "cost_cents": c.cost_cents,
            "fee_cents": c.fee_cents,
            "category": c.category,
            "underlying": c.underlying,
        }
        if context:
            audit.update(context)
        # Copying the template's 24 entries and setting the 18 that vary costs less than a dict literal (which
        # inserts every key into a new table).
        values = self._fields.copy()
        values["id"] = decision_id or self._ids.next(decided_at)
        values["decided_at"] = decided_at
        values["surface"] = c.surface
        values["sub_strategy"] = c.sub_strategy
        values["instrument"] = c.instrument
        values["side"] = c.side
        values["candidate_id"] = c.candidate_id
        values["accepted"] = verdict.accepted
        values["stopped_by"] = verdict.stopped_by
        values["reason_code"] = verdict.reason_code
        values["gates"] = verdict.outcomes
        values["p_model"] = c.p_model
        values["p_market"] = c.p_market
        values["edge"] = edge
        values["confidence"] = c.confidence
        values["model_spread"] = c.model_spread
        values["models"] = c.models
        values["context"] = audit
        return prevalidated(Decision, values)

    # ---------------------------------------------------------------- exits
    def allow_exit(self, request: ExitRequest, *, decision_id: str | None = None) -> Decision:
        """Exits and cancels always pass: no gate runs, STOP and breakers do not apply (they block new risk only).

        The returned decision is accepted with a single ``exit`` outcome. The exit counts toward rapid-fire
        protection; reaching ``RAPID_EXIT_COUNT`` within the window quarantines the surface for new entries.
        """
        if request.surface != self.surface:
            raise ValueError(f"exit for {request.surface} sent to the {self.surface} chain")
        now = self.clock.now()
        quarantined = False
        if self._rapid.record(now.timestamp()):
            quarantined = (
                self.breakers.trip_quarantine(
                    now,
                    f"{self._rapid.count} exits within {self._rapid.window_seconds}s; last {request.instrument}",
                )
                is not None
            )
        fields: dict[str, Any] = {
            "decided_at": self.wall.now(),
            "surface": request.surface,
            "sub_strategy": request.sub_strategy,
            "instrument": request.instrument,
            "side": request.side,
            "candidate_id": request.trade_id,
            "accepted": True,
            "gates": (GateOutcome(gate=EXIT_GATE, passed=True, reason_code=request.kind, detail=request.reason),),
            "context": {"venue_time": now.isoformat(), "kind": request.kind, "quarantine_tripped": quarantined},
        }
        fields["id"] = decision_id or self._ids.next(fields["decided_at"])
        decision = Decision(**fields)
        if self._decisions is not None:
            self._decisions.append(decision)
        return decision

    @property
    def quarantined(self) -> bool:
        """True while rapid exits have the surface quarantined."""
        return "quarantine" in self.breakers.tripped_names

    def resume_quarantine(self, reason: str = "operator resume") -> BreakerEvent | None:
        """Lift the quarantine from inside the process (the CLI path is ``tbot resume SURFACE``)."""
        self._rapid.clear()
        return self.breakers.lift_quarantine(self.clock.now(), reason)

    def close(self) -> None:
        """Close the chain's log descriptors."""
        self.breakers.close()
        if self._decisions is not None:
            self._decisions.close()
