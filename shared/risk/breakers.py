"""Circuit breakers and the rapid-exit quarantine of one surface, persisted as BreakerEvent records.

Every trip and every reset is its own :class:`~shared.records.BreakerEvent` line in ``logs/<surface>/events.jsonl``
(the dashboard shows them); the board's state at start-up is the latest event per breaker in that file.

- ``daily_loss``: trips when the trading day's realized loss reaches ``DAILY_LOSS_LIMIT_CENTS``; resets at the
  next day boundary (``DAY_BOUNDARY_TZ``).
- ``weekly_loss``: the same over the trading week (Monday start); resets at the next week boundary.
- ``drawdown``: trips when ``(peak − equity) / peak`` reaches ``MAX_DRAWDOWN_PCT``; resets once the trading day
  it tripped on has ended *and* the drawdown is back under the limit (open positions resolved in profit, or the
  operator raised the limit): a drawdown does not heal by the calendar alone.
- ``quarantine``: trips when ``RAPID_EXIT_COUNT`` exits happen within ``RAPID_EXIT_WINDOW_SECONDS`` of venue time
  (wall time when live); the exits are the resolver's resolved records on the surface's own trade log (and exits
  the chain is asked to allow in-process). Only the operator lifts it, with
  ``tbot resume SURFACE`` (:func:`lift_quarantine`) or the chain's ``resume_quarantine``.
Times in events are the chain's clock (venue time), so trading days line up with the ledger's.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from shared.bus import JsonlLog, LogReader
from shared.config import SurfaceSettings
from shared.money.ledger import Ledger
from shared.money.periods import trading_day, trading_week
from shared.paths import open_stream, stream_path
from shared.records import BreakerEvent, parse_record
from shared.risk.gates import DAILY_LOSS, DRAWDOWN, QUARANTINE, WEEKLY_LOSS
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

BREAKERS = (DAILY_LOSS, WEEKLY_LOSS, DRAWDOWN, QUARANTINE)


@dataclass(frozen=True, slots=True)
class Trip:
    """A breaker that is tripped, and when (the chain's clock)."""

    at: datetime
    reason: str


class BreakerBoard:
    """The breakers of one surface: state rebuilt from its events log, updated from its ledger."""

    def __init__(self, log_dir: Path, surface: str, day_boundary_tz: str = "UTC") -> None:
        self.surface = surface
        self.day_boundary_tz = day_boundary_tz
        self._log: JsonlLog = open_stream(log_dir, surface, "events")
        self._reader = LogReader(stream_path(log_dir, surface, "events"))
        self.tripped: dict[str, Trip] = {}
        self._frozen: frozenset[str] = frozenset()
        self.version = 0  # bumped whenever a breaker trips or resets
        self.refresh()

    @property
    def tripped_names(self) -> frozenset[str]:
        """Names of the tripped breakers (cached; rebuilt only when a breaker changes)."""
        return self._frozen

    def refresh(self) -> int:
        """Fold in events appended since the last call (an operator's reset from ``tbot resume``)."""
        seen = 0
        for entry in self._reader.read():
            if entry.data.get("kind") != "breaker":
                continue
            try:
                event = parse_record(BreakerEvent, entry.data, entry.ts)
            except ValidationError as exc:
                log.warning("%s events: skipped invalid breaker event at byte %d: %s", self.surface, entry.offset, exc)
                continue
            if event.surface != self.surface:
                continue
            self._set(event)
            seen += 1
        return seen

    def _set(self, event: BreakerEvent) -> None:
        if event.action == "trip":
            self.tripped[event.breaker] = Trip(event.at, event.reason)
        else:
            self.tripped.pop(event.breaker, None)
        self._frozen = frozenset(self.tripped)
        self.version += 1

    def _emit(self, breaker: str, action: Literal["trip", "reset"], at: datetime, reason: str) -> BreakerEvent:
        event = BreakerEvent(surface=self.surface, breaker=breaker, action=action, at=at, reason=reason)
        if action == "trip":
            # Fail closed: a trip holds in memory even if it cannot be written (the log error says so).
            self._set(event)
            try:
                self._log.append(event)
            except OSError as exc:  # e.g. a full disk: one line, no traceback
                log.error("%s: could not record the %s trip (%s); it holds in this process", self.surface, breaker,
                          exc)
        else:
            # A reset that cannot be written does not happen: the breaker stays tripped and is retried later.
            self._log.append(event)
            self._set(event)
        log.warning("%s breaker %s %s: %s", self.surface, breaker, action, reason)
        return event

    def update(self, now: datetime, ledger: Ledger, settings: SurfaceSettings) -> list[BreakerEvent]:
        """Trip or reset the loss and drawdown breakers for ``now``; returns the events appended (usually none).

        Runs before every evaluation, so the common case (nothing changes) only compares a few integers.
        """
        tz = self.day_boundary_tz
        day = trading_day(now, tz)
        week = day - timedelta(days=day.weekday())
        today = ledger.realized_on(day)
        this_week = ledger.realized_in_week(week)
        drawdown = ledger.drawdown
        checks = (
            (DAILY_LOSS, -today >= settings.daily_loss_limit_cents, day),
            (WEEKLY_LOSS, -this_week >= settings.weekly_loss_limit_cents, week),
            (DRAWDOWN, drawdown >= settings.max_drawdown_pct, day),
        )
        events: list[BreakerEvent] = []
        for breaker, condition, period in checks:
            trip = self.tripped.get(breaker)
            if trip is None:
                if condition:
                    events.append(self._emit(breaker, "trip", now, self._reason(breaker, day, ledger, settings)))
            # Tripped: it resets only once its period has ended and the condition no longer holds.
            elif not condition and self._period(breaker, trip.at) != period:
                reason = "new period; " + self._reason(breaker, day, ledger, settings)
                try:
                    events.append(self._emit(breaker, "reset", now, reason))
                except OSError as exc:
                    log.error("%s: could not record the %s reset (%s); it stays tripped", self.surface, breaker, exc)
        return events

    def _period(self, breaker: str, at: datetime) -> date:
        if breaker == WEEKLY_LOSS:
            return trading_week(at, self.day_boundary_tz)
        return trading_day(at, self.day_boundary_tz)

    @staticmethod
    def _reason(breaker: str, day: date, ledger: Ledger, settings: SurfaceSettings) -> str:
        week = day - timedelta(days=day.weekday())
        if breaker == DAILY_LOSS:
            return f"day {day} P&L {ledger.realized_on(day)}c, limit -{settings.daily_loss_limit_cents}c"
        if breaker == WEEKLY_LOSS:
            return f"week of {week} P&L {ledger.realized_in_week(week)}c, limit -{settings.weekly_loss_limit_cents}c"
        return f"drawdown {ledger.drawdown:.4f}, limit {settings.max_drawdown_pct}"

    def trip_quarantine(self, at: datetime, reason: str) -> BreakerEvent | None:
        """Quarantine the surface (no new risk until the operator resumes it); None if it already was."""
        if QUARANTINE in self.tripped:
            return None
        return self._emit(QUARANTINE, "trip", at, reason)

    def lift_quarantine(self, at: datetime, reason: str = "operator resume") -> BreakerEvent | None:
        """Lift the quarantine; None if the surface was not quarantined."""
        self.refresh()
        if QUARANTINE not in self.tripped:
            return None
        return self._emit(QUARANTINE, "reset", at, reason)

    def close(self) -> None:
        self._log.close()


class RapidExitMonitor:
    """Counts exits in a sliding window; says when ``count`` of them fall within ``window_seconds``.

    Times are the chain's clock (venue time, epoch seconds): live that is wall time, and a replay or backtest
    measures the same rule in the time its market moved in. An exit counts at the venue time it happened.
    """

    def __init__(self, count: int, window_seconds: float) -> None:
        self.count = count
        self.window_seconds = window_seconds
        self._times: deque[float] = deque()

    def record(self, at: float | None = None, now: float | None = None) -> bool:
        """Note one exit at ``at`` (epoch seconds, default the wall clock); True if the window ending at ``now``
        (default ``at``) now holds ``count`` or more exits."""
        moment = time.time() if at is None else at
        end = moment if now is None else now
        self._times.append(moment)
        # Exits need not arrive in time order (the resolver books them as the venue reports them), so every
        # entry outside the window is dropped, not only the oldest-inserted ones.
        if any(end - t > self.window_seconds for t in self._times):
            self._times = deque(t for t in self._times if end - t <= self.window_seconds)
        return len(self._times) >= self.count

    def clear(self) -> None:
        self._times.clear()


def lift_quarantine(log_dir: Path, surface: str, reason: str = "operator resume") -> bool:
    """Append a quarantine reset for ``surface`` if it is quarantined (``tbot resume SURFACE`` calls this)."""
    board = BreakerBoard(log_dir, surface)
    try:
        return board.lift_quarantine(utcnow(), reason) is not None
    finally:
        board.close()
