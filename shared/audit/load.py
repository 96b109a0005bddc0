"""Loading what a report needs from the logs: windowed records, and the signals and decisions they refer to.

Selection rules (the bus ``ts`` is the ledger time):
- resolved trades are selected by the bus ts of their *resolved* record, so a trade opened before the window
  and resolved inside it counts in the window (that is when its P&L was realized);
- decisions and callbacks by their own bus ts;
- a selected trade's or callback's signal is looked up wherever it is, newest first from the window's end
  (signals precede their trades), and the decision that carried the model answers is looked up around the
  signal's bus ts, so neither lookup rescans the log.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.audit.progress import Progress
from shared.audit.scan import FileStats, Line, line_ts, scan_backward, scan_range, window_range
from shared.audit.window import Window
from shared.bus import JsonlLog
from shared.money.portfolio import Portfolio
from shared.paths import feed_path, stream_path
from shared.records import SURFACES, Callback, Decision, Record, Signal, Trade, parse_record

R = TypeVar("R", bound=Record)

# Byte prefilters: the bus writes compact JSON (no spaces after separators), so these are exact.
RESOLVED_MARK = b'"status":"resolved"'
# How far from its signal's bus ts a decision is looked for (the loop decides, then executes and publishes).
DECISION_SLACK = timedelta(minutes=10)


def parse_line(cls: type[R], offset: int, line: bytes, stats: FileStats) -> R | None:
    """A typed record from one bus line; a line that is JSON but not a valid record is counted and skipped."""
    try:
        # Fast path: pydantic parses and validates in one pass (the bus's ts is a field of every record).
        return cls.model_validate_json(line)
    except ValidationError:
        pass
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        # Slow path: tolerate fields a newer writer added.
        return parse_record(cls, data, line_ts(line))
    except json.JSONDecodeError:
        stats.corrupt_at.add(offset)
    except (ValueError, ValidationError):
        stats.invalid_at.add(offset)
    return None


@dataclass(slots=True)
class Sources:
    """Every log file a report read, with its cost and what it skipped."""

    files: dict[str, FileStats] = field(default_factory=dict)

    def stats(self, path: Path) -> FileStats:
        key = str(path)
        if key not in self.files:
            self.files[key] = FileStats(key)
        return self.files[key]

    @property
    def corrupt_lines(self) -> int:
        return sum(f.corrupt_lines for f in self.files.values())

    @property
    def invalid_records(self) -> int:
        return sum(f.invalid_records for f in self.files.values())

    @property
    def bytes_scanned(self) -> int:
        return sum(f.bytes_scanned for f in self.files.values())


class Loader:
    """Reads one log directory for one window; every read goes through here so its cost is accounted."""

    def __init__(self, log_dir: Path, window: Window, surfaces: Iterable[str] = SURFACES,
                 progress: Progress | None = None) -> None:
        self.log_dir = log_dir
        self.window = window
        self.surfaces = tuple(surfaces)
        self.progress = progress
        self.sources = Sources()
        self.duplicate_resolutions = 0

    def window_bytes(self, streams: Iterable[str], feeds: Iterable[str] = ()) -> int:
        """Bytes the windowed reads will cover (the progress bar's total)."""
        total = 0
        paths = [stream_path(self.log_dir, s, n) for s in self.surfaces for n in streams]
        paths += [feed_path(self.log_dir, n) for n in feeds]
        for path in paths:
            start, end = window_range(path, self.window)
            total += end - start
        return total

    def _windowed(self, path: Path) -> Iterator[Line]:
        start, end = window_range(path, self.window)
        yield from scan_range(path, start, end, self.sources.stats(path), self.progress)

    def resolved_trades(self) -> list[Trade]:
        """Trades whose resolved record was written inside the window, in ledger (bus ts) order.

        They go through the portfolio fold (shared/money/portfolio.py), as every other reader of a trade log does:
        a resolution written twice (a resolver restarted mid-settlement) counts once, as it does in the ledger.
        """
        trades: list[Trade] = []
        for surface in self.surfaces:
            path = stream_path(self.log_dir, surface, "trades")
            stats = self.sources.stats(path)
            portfolio = Portfolio(surface, None)  # both modes: the report partitions by resolution source
            for offset, line in self._windowed(path):
                if RESOLVED_MARK not in line:
                    continue
                trade = parse_line(Trade, offset, line, stats)
                if trade is None or trade.status != "resolved" or trade.pnl is None:
                    continue
                if portfolio.trade(trade.id) is not None:
                    self.duplicate_resolutions += 1
                    continue  # the first resolution stands, as in the loop's ledger order of arrival
                portfolio.apply(trade)
            trades.extend(t for t in portfolio.trades() if t.status == "resolved")
        trades.sort(key=_ts_key)
        return trades

    def decisions(self) -> Iterator[Decision]:
        """Decisions written inside the window, streamed (a busy surface writes millions)."""
        for surface in self.surfaces:
            path = stream_path(self.log_dir, surface, "decisions")
            stats = self.sources.stats(path)
            for offset, line in self._windowed(path):
                decision = parse_line(Decision, offset, line, stats)
                if decision is not None:
                    yield decision

    def callbacks(self) -> Iterator[Callback]:
        """Subscriber callbacks written inside the window, streamed."""
        path = feed_path(self.log_dir, "callbacks")
        stats = self.sources.stats(path)
        for offset, line in self._windowed(path):
            callback = parse_line(Callback, offset, line, stats)
            if callback is not None:
                yield callback

    def signals(self, wanted: set[str]) -> dict[str, Signal]:
        """The signals with the given ids, searched newest first from the window's end across the surfaces.

        A signal never comes after its trade or callback, so the search walks every surface's signal log
        backwards in one merged, newest-first order and stops as soon as every id is found: the cost is the
        distance back to the oldest signal wanted. Ids that are nowhere cost one scan of the signal logs.
        """
        missing = set(wanted)
        found: dict[str, Signal] = {}
        if not missing:
            return found
        walks = []
        for surface in self.surfaces:
            path = stream_path(self.log_dir, surface, "signals")
            log = JsonlLog(path)
            end = log.seek(self.window.until) if self.window.until is not None else log.size()
            stats = self.sources.stats(path)
            walks.append(_stamped(scan_backward(path, end, stats), stats))
        for _, (offset, line), stats in heapq.merge(*walks, key=lambda item: item[0], reverse=True):
            record_id = _signal_id(line)
            if record_id is None or record_id not in missing:
                continue
            signal = parse_line(Signal, offset, line, stats)
            if signal is None:
                continue
            found[signal.id] = signal
            missing.discard(signal.id)
            if not missing:
                break
        return found

    def model_answers(self, signals: Iterable[Signal]) -> dict[str, list[dict[str, Any]]]:
        """Signal id -> the ensemble's per-model answers, from the decision that accepted the candidate.

        Each signal's decision is looked for within DECISION_SLACK of the signal's bus ts; overlapping
        intervals are merged so each byte is read once.
        """
        by_surface: dict[str, list[Signal]] = {}
        for signal in signals:
            if signal.ts is not None:
                by_surface.setdefault(signal.surface, []).append(signal)
        answers: dict[str, list[dict[str, Any]]] = {}
        for surface, group in by_surface.items():
            wanted = {s.id for s in group}
            path = stream_path(self.log_dir, surface, "decisions")
            stats = self.sources.stats(path)
            for start, end in _merged_ranges(path, [s.ts for s in group if s.ts is not None]):
                for offset, line in scan_range(path, start, end, stats):
                    if b'"accepted":true' not in line:
                        continue
                    decision = parse_line(Decision, offset, line, stats)
                    if decision is None or decision.candidate_id not in wanted:
                        continue
                    answers[decision.candidate_id] = answers_of(decision.context)
        return answers


ENSEMBLE_MODEL = "(ensemble)"


def answers_of(context: dict[str, Any]) -> list[dict[str, Any]]:
    """Each model's answer, plus the ensemble's combined P(YES) scored as one more forecaster."""
    raw = context.get("model_answers")
    answers = [a for a in raw if isinstance(a, dict)] if isinstance(raw, list) else []
    ensemble = context.get("ensemble")
    if isinstance(ensemble, dict) and ensemble.get("p") is not None:
        answers.append({"model": ENSEMBLE_MODEL, "p": ensemble.get("p"), "abstained": False})
    return answers


def _stamped(lines: Iterator[Line], stats: FileStats) -> Iterator[tuple[str, Line, FileStats]]:
    for item in lines:
        yield line_ts(item[1]), item, stats


def _merged_ranges(path: Path, stamps: list[Any]) -> list[tuple[int, int]]:
    log = JsonlLog(path)
    intervals = sorted((t - DECISION_SLACK, t + DECISION_SLACK) for t in stamps)
    merged: list[list[Any]] = []
    for lo, hi in intervals:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(log.seek(lo), log.seek(hi)) for lo, hi in merged]


def _signal_id(line: bytes) -> str | None:
    """The ``id`` of a signal line, read without parsing the JSON (the first top-level "id" key)."""
    index = line.find(b'"id":"')
    if index < 0:
        return None
    start = index + 6
    stop = line.find(b'"', start)
    return line[start:stop].decode("ascii", "replace") if stop > start else None


def _ts_key(record: Record) -> str:
    return "" if record.ts is None else record.ts.isoformat()


def bus_day(record: Record) -> str:
    """The UTC day (YYYY-MM-DD) a record was written on the bus."""
    return "" if record.ts is None else record.ts.strftime("%Y-%m-%d")


__all__ = ["Loader", "Sources", "bus_day", "parse_line"]
