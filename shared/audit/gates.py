"""Gates section: how selective each gate of the risk chain is, per surface, and the funnel it makes.

Per gate: ``evaluated`` (decisions that record an outcome for it), ``passed``, ``denied`` and ``stopped``
(decisions it was the *first* to stop). The funnel counts the candidates still alive after each gate in
chain order: a candidate survives a gate unless that gate or an earlier one stopped it.
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


def surface_gates(surface: str, decisions: list[Decision]) -> SurfaceGates:
    """Gate figures for one surface's decisions; gate order is the chain order the records show."""
    position: dict[str, float] = {}
    evaluated: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    for decision in decisions:
        for index, outcome in enumerate(decision.gates):
            position[outcome.gate] = min(position.get(outcome.gate, index), index)
            evaluated[outcome.gate] += 1
            if outcome.passed:
                passed[outcome.gate] += 1
            else:
                reasons.setdefault(outcome.gate, Counter())[outcome.reason_code or "(none)"] += 1
        stop = first_stop(decision)
        if stop is not None:
            stopped[stop] += 1
            position.setdefault(stop, float(len(decision.gates)))
    order = sorted(position, key=lambda g: (position[g], g))
    alive = len(decisions)
    rows = []
    for gate in order:
        alive -= stopped[gate]
        rows.append(GateStats(
            gate=gate, evaluated=evaluated[gate], passed=passed[gate], denied=evaluated[gate] - passed[gate],
            stopped=stopped[gate], survivors=alive,
            top_reasons=reasons.get(gate, Counter()).most_common(TOP_REASONS),
        ))
    accepted = sum(1 for d in decisions if d.accepted)
    return SurfaceGates(surface=surface, decisions=len(decisions), accepted=accepted, gates=rows)


def build_gates(decisions: Iterable[Decision]) -> GatesSection:
    by_surface: dict[str, list[Decision]] = {}
    for decision in decisions:
        by_surface.setdefault(decision.surface, []).append(decision)
    return GatesSection([surface_gates(s, group) for s, group in sorted(by_surface.items())])
