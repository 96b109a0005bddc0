"""ETA section: the ``eta_hours`` promised at execute against the actual ``resolved_at - opened_at``.

Both ends are venue time (a sim venue's compressed clock included), so the ratio compares like with like.
The ETA is the trade's own (recorded at execute); a trade without one falls back to its signal's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.audit.stats import quantile
from shared.records import Signal, Trade

# Ratio (actual / ETA) histogram edges: early, on time, late, very late.
RATIO_EDGES: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 4.0)
QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
MAX_POINTS = 2000


@dataclass(frozen=True, slots=True)
class EtaStats:
    surface: str
    n: int
    unusable: int
    median_ratio: float | None
    late_rate: float | None
    quantiles: dict[str, float | None]
    histogram: list[tuple[str, int]]
    points: list[tuple[float, float]]  # (eta hours, actual hours), thinned to MAX_POINTS for the scatter


@dataclass(frozen=True, slots=True)
class EtaSection:
    surfaces: list[EtaStats]


def _bucket_label(index: int) -> str:
    low = RATIO_EDGES[index]
    if index + 1 < len(RATIO_EDGES):
        return f"{low:g}-{RATIO_EDGES[index + 1]:g}x"
    return f">={low:g}x"


def _histogram(ratios: Iterable[float]) -> list[tuple[str, int]]:
    counts = [0] * len(RATIO_EDGES)
    for value in ratios:
        index = 0
        for i, edge in enumerate(RATIO_EDGES):
            if value >= edge:
                index = i
        counts[index] += 1
    return [(_bucket_label(i), c) for i, c in enumerate(counts)]


def eta_of(trade: Trade, signals: dict[str, Signal]) -> float | None:
    if trade.eta_hours is not None:
        return trade.eta_hours
    signal = signals.get(trade.signal_id)
    return None if signal is None else signal.eta_hours


def surface_eta(surface: str, trades: Iterable[Trade], signals: dict[str, Signal]) -> EtaStats:
    """ETA figures for one surface's resolved trades."""
    points: list[tuple[float, float]] = []
    unusable = 0
    for trade in trades:
        eta = eta_of(trade, signals)
        if eta is None or eta <= 0 or trade.opened_at is None or trade.resolved_at is None:
            unusable += 1
            continue
        actual = (trade.resolved_at - trade.opened_at).total_seconds() / 3600
        if actual < 0:
            unusable += 1
            continue
        points.append((eta, actual))
    ratios = sorted(actual / eta for eta, actual in points)
    late = sum(1 for eta, actual in points if actual > eta)
    step = max(1, len(points) // MAX_POINTS)
    return EtaStats(
        surface=surface, n=len(points), unusable=unusable, median_ratio=quantile(ratios, 0.5),
        late_rate=late / len(points) if points else None,
        quantiles={f"p{round(q * 100)}": quantile(ratios, q) for q in QUANTILES},
        histogram=_histogram(ratios), points=points[::step],
    )


def build_eta(trades: Iterable[Trade], signals: dict[str, Signal]) -> EtaSection:
    by_surface: dict[str, list[Trade]] = {}
    for trade in trades:
        by_surface.setdefault(trade.surface, []).append(trade)
    return EtaSection([surface_eta(s, group, signals) for s, group in sorted(by_surface.items())])
