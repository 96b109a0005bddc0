"""Assembling a report: which logs each section needs, one windowed read of each, and the joins."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from shared.audit.calibration import DEFAULT_MIN_SAMPLES, DEFAULT_TOLERANCE, CalibrationSection, build_calibration
from shared.audit.eta import EtaSection, build_eta
from shared.audit.gates import GatesSection, build_gates
from shared.audit.load import Loader, answers_of
from shared.audit.pnl import REAL_SOURCES, SIM_SOURCE, PnlSection, build_pnl, source_of
from shared.audit.progress import Progress
from shared.audit.scan import FileStats
from shared.audit.subscribers import DEFAULT_MIN_COHORT, SubscribersSection, aggregate, digest
from shared.audit.window import Window
from shared.records import SURFACES, Decision, Signal, Trade
from shared.timeutil import to_iso, utcnow

SECTIONS: tuple[str, ...] = ("pnl", "calibration", "eta", "gates", "subscribers")
TRADE_SECTIONS = frozenset({"pnl", "calibration", "eta"})
SOURCE_NAMES: tuple[str, ...] = ("real", "sim", *sorted(REAL_SOURCES))


class BadOption(ValueError):
    """A report option with a value the report cannot use (named in the message)."""


@dataclass(frozen=True, slots=True)
class ReportOptions:
    log_dir: Path
    window: Window
    surfaces: tuple[str, ...] = SURFACES
    source: str | None = None
    tolerance: float = DEFAULT_TOLERANCE
    min_samples: int = DEFAULT_MIN_SAMPLES
    min_cohort: int = DEFAULT_MIN_COHORT

    def __post_init__(self) -> None:
        unknown = [s for s in self.surfaces if s not in SURFACES]
        if unknown:
            raise BadOption(f"--surface: unknown surface {unknown[0]!r}; expected one of {', '.join(SURFACES)}")
        if self.source is not None and self.source not in SOURCE_NAMES:
            raise BadOption(f"--source: unknown source {self.source!r}; expected one of {', '.join(SOURCE_NAMES)}")
        if not 0 < self.tolerance < 1:
            raise BadOption(f"--tolerance: {self.tolerance} is not in (0, 1)")
        if self.min_samples < 1 or self.min_cohort < 1:
            raise BadOption("--min-samples and --min-cohort must be at least 1")


def source_matches(selector: str | None, trade: Trade) -> bool:
    """``real``: any venue or observation source; ``sim``: the sim venue; a name: that source only."""
    if selector is None:
        return True
    source = source_of(trade)
    if selector == "real":
        return source in REAL_SOURCES
    if selector == "sim":
        return source == SIM_SOURCE
    return source == selector


@dataclass(slots=True)
class AuditReport:
    generated_at: str
    since: str
    until: str | None
    surfaces: list[str]
    source: str | None
    sections: list[str]
    notes: list[str] = field(default_factory=list)
    pnl: PnlSection | None = None
    calibration: CalibrationSection | None = None
    eta: EtaSection | None = None
    gates: GatesSection | None = None
    subscribers: SubscribersSection | None = None
    files: list[FileStats] = field(default_factory=list)
    signals_missing: int = 0
    elapsed_seconds: float = 0.0

    @property
    def corrupt_lines(self) -> int:
        return sum(f.corrupt_lines for f in self.files)

    @property
    def invalid_records(self) -> int:
        return sum(f.invalid_records for f in self.files)

    @property
    def bytes_scanned(self) -> int:
        return sum(f.bytes_scanned for f in self.files)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (money stays integer cents)."""
        data: dict[str, Any] = dataclasses.asdict(self)
        data["files"] = [f.summary() for f in self.files]
        data["corrupt_lines"] = self.corrupt_lines
        data["invalid_records"] = self.invalid_records
        data["bytes_scanned"] = self.bytes_scanned
        if self.calibration is not None:
            data["calibration"]["flagged"] = self.calibration.flagged
            # Each skill row with its source in words, so no reader shows a sim figure unlabelled.
            data["calibration"]["skill"] = [row.to_json() for row in self.calibration.skill]
        return data


def _wanted_signals(trades: Iterable[Trade], sections: set[str]) -> set[str]:
    wanted: set[str] = set()
    for trade in trades:
        need = ("calibration" in sections or ("pnl" in sections and not trade.sub_strategy)
                or ("eta" in sections and trade.eta_hours is None))
        if need:
            wanted.add(trade.signal_id)
    return wanted


def build_report(options: ReportOptions, sections: Iterable[str] = SECTIONS, *, now: datetime | None = None,
                 progress_stream: TextIO | None = None) -> AuditReport:
    """Read what the chosen sections need from ``options.log_dir`` and build them."""
    started = time.perf_counter()
    chosen = [s for s in SECTIONS if s in set(sections)]
    window = options.window
    report = AuditReport(
        generated_at=to_iso(now or utcnow()), since=to_iso(window.since),
        until=None if window.until is None else to_iso(window.until), surfaces=list(options.surfaces),
        source=options.source, sections=chosen,
    )
    moment = now or utcnow()
    if window.since > moment:
        report.notes.append(f"--since {window.since:%Y-%m-%d} is in the future (now {to_iso(moment)}): "
                            "nothing has been logged in this window yet, so the report is empty")
    if options.source is not None and ({"gates", "subscribers"} & set(chosen)):
        report.notes.append("--source filters resolved trades only (pnl, calibration, eta), not gates or callbacks")
    loader = Loader(options.log_dir, window, options.surfaces)
    streams = ["trades"] if TRADE_SECTIONS & set(chosen) else []
    streams += ["decisions"] if "gates" in chosen else []
    feeds = ["callbacks"] if "subscribers" in chosen else []
    progress = Progress(loader.window_bytes(streams, feeds), stream=progress_stream)
    loader.progress = progress
    try:
        _fill(report, loader, options, set(chosen))
    finally:
        progress.finish()
    report.files = list(loader.sources.files.values())
    report.elapsed_seconds = time.perf_counter() - started
    return report


def _capture(decisions: Iterable[Decision], wanted: set[str],
             answers: dict[str, list[dict[str, Any]]]) -> Iterator[Decision]:
    for decision in decisions:
        if decision.accepted and decision.candidate_id in wanted:
            answers[decision.candidate_id] = answers_of(decision.context)
        yield decision


def _fill(report: AuditReport, loader: Loader, options: ReportOptions, chosen: set[str]) -> None:
    trades: list[Trade] = []
    if TRADE_SECTIONS & chosen:
        trades = [t for t in loader.resolved_trades() if source_matches(options.source, t)]
        if loader.duplicate_resolutions:
            report.notes.append(f"{loader.duplicate_resolutions} repeated resolved records of the same trade "
                                "were counted once")
    reduced = digest(loader.callbacks()) if "subscribers" in chosen else None
    wanted = _wanted_signals(trades, chosen)
    if reduced is not None:
        # A callback's surface is its signal's, so callbacks need their signals too.
        wanted |= reduced.signal_ids
    signals: dict[str, Signal] = loader.signals(wanted)
    report.signals_missing = len(wanted - set(signals))
    if "pnl" in chosen:
        report.pnl = build_pnl(trades, signals)
    scored = [signals[t.signal_id] for t in trades if t.signal_id in signals] if "calibration" in chosen else []
    answers: dict[str, list[dict[str, Any]]] = {}
    if "gates" in chosen:
        # The gates pass reads every decision in the window anyway: take the model answers it passes over.
        report.gates = build_gates(_capture(loader.decisions(), {s.id for s in scored}, answers))
    if "calibration" in chosen:
        answers.update(loader.model_answers(s for s in scored if s.id not in answers))
        report.calibration = build_calibration(trades, signals, answers, options.tolerance, options.min_samples)
    if "eta" in chosen:
        report.eta = build_eta(trades, signals)
    if reduced is not None:
        report.subscribers = aggregate(reduced, signals, options.min_cohort)
