"""Gates section: how selective each gate of the risk chain is, per surface, and the funnel it makes.

Per gate: ``evaluated`` (decisions that record an outcome for it), ``passed``, ``denied`` and ``stopped``
(decisions it was the *first* to stop). The funnel counts the candidates still alive after each gate in
chain order: a candidate survives a gate unless that gate or an earlier one stopped it.

A decision line stands for ``repeats`` evaluations (a loop writes a streak of identical denials as one summary
line; older lines read as 1), and every count here weighs it so: the totals are evaluations, not lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from shared.records import Decision

TOP_REASONS = 3


@dataclass(frozen=True, slots=True)
class GateStats:
    gate: str
    evaluated: int
    passed: int
    denied: int
    stopped: int
    survivors: int
    top_reasons: list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class SurfaceGates:
    surface: str
    decisions: int
    accepted: int
    gates: list[GateStats]


@dataclass(frozen=True, slots=True)
class GatesSection:
    surfaces: list[SurfaceGates]


def first_stop(decision: Decision) -> str | None:
    """The gate that stopped a candidate: ``stopped_by``, else its first failed gate; None if accepted."""
    if decision.accepted:
        return None
    if decision.stopped_by:
        return decision.stopped_by
    for outcome in decision.gates:
        if not outcome.passed:
            return outcome.gate
    return "(unnamed)"


class GateTally:
    """Streaming counts for one surface: decisions are added one by one and never kept (logs can be huge)."""

    def __init__(self, surface: str) -> None:
        self.surface = surface
        self.decisions = self.accepted = 0
        self.position: dict[str, float] = {}
        self.evaluated: Counter[str] = Counter()
        self.passed: Counter[str] = Counter()
        self.stopped: Counter[str] = Counter()
        self.reasons: dict[str, Counter[str]] = {}

    def add(self, decision: Decision) -> None:
        weight = decision.repeats
        self.decisions += weight
        self.accepted += weight if decision.accepted else 0
        for index, outcome in enumerate(decision.gates):
            self.position[outcome.gate] = min(self.position.get(outcome.gate, index), index)
            self.evaluated[outcome.gate] += weight
            if outcome.passed:
                self.passed[outcome.gate] += weight
            else:
                self.reasons.setdefault(outcome.gate, Counter())[outcome.reason_code or "(none)"] += weight
        stop = first_stop(decision)
        if stop is not None:
            self.stopped[stop] += weight
            self.position.setdefault(stop, float(len(decision.gates)))

    def result(self) -> SurfaceGates:
        """Gate rows in the chain order the records show, with the funnel."""
        order = sorted(self.position, key=lambda g: (self.position[g], g))
        alive = self.decisions
        rows = []
        for gate in order:
            alive -= self.stopped[gate]
            rows.append(GateStats(
                gate=gate, evaluated=self.evaluated[gate], passed=self.passed[gate],
                denied=self.evaluated[gate] - self.passed[gate], stopped=self.stopped[gate], survivors=alive,
                top_reasons=self.reasons.get(gate, Counter()).most_common(TOP_REASONS),
            ))
        return SurfaceGates(surface=self.surface, decisions=self.decisions, accepted=self.accepted, gates=rows)


def build_gates(decisions: Iterable[Decision]) -> GatesSection:
    """Tally decisions (a stream) per surface."""
    tallies: dict[str, GateTally] = {}
    for decision in decisions:
        tally = tallies.get(decision.surface)
        if tally is None:
            tally = tallies[decision.surface] = GateTally(decision.surface)
        tally.add(decision)
    return GatesSection([tallies[s].result() for s in sorted(tallies)])
