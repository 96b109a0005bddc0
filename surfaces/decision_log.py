"""Writes a surface's decision records, folding a streak of repeated denials into one summary line.

A loop re-decides a proposal whenever its price or probability moves, and a candidate that an open position, a
tripped breaker or a thin edge keeps out is denied again and again by the same gate for the same reason: on the
paper fleet that was most of ``decisions.jsonl`` (over 1 GB a day). Such a denial adds nothing but a count, so:

- the first denial of a streak is written in full, like every other decision;
- a denial whose (instrument, side, sub-strategy) was last decided with the same outcome (denied, same gate,
  same reason code) is not written: it is counted;
- the count is written as ONE summary line: the streak's latest decision record with ``repeats`` = the number of
  evaluations it stands for and ``first_at`` / ``last_at`` = the span they were decided in (plus the range of
  their edges in ``context["repeat_edge_range"]``; the strategy's features and the models' answers are left to
  the streak's first line). It is written when the streak ends (the next different
  decision for that key goes in the same locked write, summary first), when the oldest pending repeat is
  ``summary_seconds`` old (checked at the start of every tick) and at shutdown.

A denial that says nothing about the candidate, only about the account (a STOP file, a tripped loss or drawdown
breaker, the quarantine, the open-positions cap, the API cost cap, a suspended sub-strategy: ``ACCOUNT_REASONS``),
is keyed by the sub-strategy alone: while the daily-loss breaker holds, the first candidate it denies is written in
full and every other market's denial is counted into the same streak (the summary says how many distinct
instruments, ``context["repeat_instruments"]``). An accepted decision for that sub-strategy, or another account
reason, ends such a streak; denials about single markets in between do not (an earlier gate stopped them).

Accepted decisions are always written, and end their key's streak. Readers count ``repeats`` (a missing field
reads as 1), so the audit's gate funnel and the dashboard's gate counts keep their totals. What a crash can lose
is the count of repeats not yet summarised (at most ``summary_seconds`` of them), never a decision that changed
anything. ``summary_seconds=0`` turns folding off: every decision is written as before.

A write that fails (e.g. a full disk) leaves the streaks as they were: nothing counted is dropped, and the
summary is written by the next write that succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.bus import JsonlLog
from shared.records import Decision

StreakKey = tuple[str, str, str]  # (instrument, side, sub_strategy); ("*", "*", sub_strategy) for the account
Outcome = tuple[str | None, str | None]  # (stopped_by, reason_code) of the last decision written or counted

# Reason codes that hold for every candidate of a surface (or sub-strategy) alike, whatever the market.
ACCOUNT_REASONS = frozenset({
    "stop_file", "quarantined", "daily_loss_breaker", "weekly_loss_breaker", "max_drawdown", "max_open_positions",
    "api_cost_cap", "sub_strategy_suspended",
})
ANY = "*"
_MAX_INSTRUMENTS = 10_000  # distinct instruments remembered per account streak (a count, bounded)
# Bulky context a summary line leaves to the streak's first line (a strategy's features, the models' answers).
_SUMMARY_LEAVES_OUT = frozenset({"sub_strategy_context", "model_answers", "ensemble"})


@dataclass(slots=True)
class _Pending:
    """Repeats counted since the key's last written line."""

    count: int
    first_at: datetime
    last: Decision
    edge_min: float | None
    edge_max: float | None
    instruments: set[str] | None = None  # account streaks: the markets whose denials were counted

    def add(self, decision: Decision) -> None:
        self.count += 1
        self.last = decision
        if self.instruments is not None and len(self.instruments) < _MAX_INSTRUMENTS:
            self.instruments.add(decision.instrument)
        if decision.edge is not None:
            self.edge_min = decision.edge if self.edge_min is None else min(self.edge_min, decision.edge)
            self.edge_max = decision.edge if self.edge_max is None else max(self.edge_max, decision.edge)

    def summary(self) -> Decision:
        if self.count == 1:
            return self.last  # one repeat is its own line, whole (e.g. a backtest, whose wall clock moves in hours)
        # The streak's first line holds the full features and model answers; the summary keeps the numbers.
        context = {k: v for k, v in self.last.context.items() if k not in _SUMMARY_LEAVES_OUT}
        if self.edge_min is not None and self.edge_max is not None:
            context["repeat_edge_range"] = [self.edge_min, self.edge_max]
        if self.instruments is not None:
            context["repeat_instruments"] = len(self.instruments)
        return self.last.model_copy(update={
            "repeats": self.count, "first_at": self.first_at, "last_at": self.last.decided_at, "context": context,
        })


class DecisionWriter:
    """The decision log of one surface loop, with repeated denials folded into counts (see the module doc)."""

    def __init__(self, log: JsonlLog, *, summary_seconds: float = 300.0) -> None:
        self.log = log
        self.summary_seconds = summary_seconds
        self._last: dict[StreakKey, Outcome] = {}
        self._pending: dict[StreakKey, _Pending] = {}
        self.written = 0  # lines appended (decisions and summaries)
        self.folded = 0  # decisions counted into a summary instead of written

    @property
    def enabled(self) -> bool:
        return self.summary_seconds > 0

    def write(self, decision: Decision) -> bool:
        """Record one decision; True if a line was appended now, False if it was counted into its streak.

        Raises what the bus raises (e.g. ``DiskFullError``); the streaks are then unchanged.
        """
        if not self.enabled:
            self.log.append(decision)
            self.written += 1
            return True
        account = (ANY, ANY, decision.sub_strategy)
        is_account = not decision.accepted and decision.reason_code in ACCOUNT_REASONS
        key = account if is_account else (decision.instrument, decision.side, decision.sub_strategy)
        outcome = None if decision.accepted else (decision.stopped_by, decision.reason_code)
        if outcome is not None and self._last.get(key) == outcome:
            pending = self._pending.get(key)
            if pending is None:
                self._pending[key] = _Pending(1, decision.decided_at, decision, decision.edge, decision.edge,
                                              {decision.instrument} if is_account else None)
            else:
                pending.add(decision)
            self.folded += 1
            return False
        # What this line ends: its key's streak and, if accepted, the account streak (the account let it through).
        ended = [key, account] if decision.accepted and account in self._last else [key]
        lines = [self._pending[k].summary() for k in ended if k in self._pending]
        lines.append(decision)
        self.log.append_many(lines)  # one locked write: the streaks' summaries, then what ended them
        self.written += len(lines)
        for k in ended:
            self._pending.pop(k, None)
            self._last.pop(k, None)
        if outcome is not None:
            self._last[key] = outcome
        return True

    def flush_due(self, now: datetime) -> int:
        """Summarise every streak whose first pending repeat is ``summary_seconds`` old at ``now`` (wall time);
        the streaks go on counting from zero. Returns the summary lines written."""
        if not self._pending:
            return 0
        horizon = now - timedelta(seconds=self.summary_seconds)
        return self._flush([k for k, p in self._pending.items() if p.first_at <= horizon])

    def flush(self) -> int:
        """Summarise every pending streak (at shutdown). Returns the summary lines written."""
        return self._flush(list(self._pending))

    def forget(self, alive: Callable[[StreakKey], bool]) -> int:
        """Summarise and forget the streaks of keys ``alive`` says are gone (markets that closed): the map stays
        small on a loop that runs for months. Returns the summary lines written."""
        gone = [k for k in self._last if not alive(k)]
        written = self._flush([k for k in gone if k in self._pending])
        for key in gone:
            self._last.pop(key, None)
        return written

    def _flush(self, keys: list[StreakKey]) -> int:
        if not keys:
            return 0
        self.log.append_many([self._pending[k].summary() for k in keys])
        for key in keys:
            del self._pending[key]
        self.written += len(keys)
        return len(keys)

    @property
    def pending_repeats(self) -> int:
        """Repeats counted and not yet written in a summary."""
        return sum(p.count for p in self._pending.values())
