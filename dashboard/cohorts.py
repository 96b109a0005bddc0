"""Subscriber figures as the operator sees them (the subscribers view, ``/metrics``): aggregates only, each one
withheld unless the subscribers it aggregates number at least ``MIN_COHORT``.

The rule and its default are the audit's (:func:`shared.audit.subscribers.shown`), so ``tbot audit`` and the
dashboard withhold the same figures. Per figure, because a cohort is not one group: of five subscribers who acked
a surface's signals, the one who reported a resolution would otherwise have their P&L shown as the surface's.
"""

from __future__ import annotations

from typing import Any

from dashboard.callbacks import SurfaceCallbackStats
from dashboard.state import DashboardState
from shared.audit.subscribers import shown
from shared.records import SURFACES

# Each figure of a surface row, and whose callbacks it sums (the keys of SurfaceCallbackStats.contributors).
FIGURES: dict[str, str] = {
    "acks": "ack",
    "executions": "executed",
    "fees_cents": "executed",
    "avg_slippage_bps": "slippage",
    "resolved": "resolved",
    "wins": "resolved",
    "pnl_cents": "resolved",
}


def _values(stats: SurfaceCallbackStats) -> dict[str, Any]:
    slippage = stats.slippage_sum / stats.slippage_n if stats.slippage_n else None
    return {
        "acks": stats.acks,
        "executions": stats.executions,
        "fees_cents": stats.fees_cents,
        "avg_slippage_bps": None if slippage is None else float(round(slippage * 10_000, 2)),
        "resolved": stats.resolved,
        "wins": stats.wins,
        "pnl_cents": stats.pnl_cents,
    }


def surface_row(surface: str, stats: SurfaceCallbackStats | None, minimum: int) -> dict[str, Any]:
    """One surface's figures; those aggregating too few subscribers are None and named in ``suppressed_figures``.

    A surface whose subscribers are all too few shows no figure at all (``suppressed``).
    """
    cohort = len(stats.subscribers) if stats is not None else 0
    if stats is None or shown(cohort, cohort, minimum) is None:
        return {"surface": surface, "suppressed": True}
    values = _values(stats)
    row: dict[str, Any] = {"surface": surface, "suppressed": False, "subscribers": cohort}
    withheld = []
    for name, group in FIGURES.items():
        row[name] = shown(values[name], len(stats.contributors.get(group, ())), minimum)
        if row[name] is None and values[name] is not None:
            withheld.append(name)
    row["suppressed_figures"] = withheld
    return row


def active_subscribers(state: DashboardState) -> int | None:
    """How many subscriber tokens are active, or None when that count is below the minimum."""
    active = len(state.subscribers.active())
    return shown(active, active, state.settings.min_cohort)


def subscriber_view(state: DashboardState) -> dict[str, Any]:
    """``GET /api/operator/subscribers``: per-surface aggregates, active tokens and commission, never a name or id."""
    minimum = state.settings.min_cohort
    payers = len(state.commission.payers)
    total = shown(state.commission.total_cents, payers, minimum)
    return {
        "min_cohort": minimum,
        "active_subscribers": active_subscribers(state),
        "held_connections": state.hub.held,
        "commission": (
            {"suppressed": False, "total_cents": total, "reports": len(state.commission.seen)}
            if total is not None
            else {"suppressed": True}
        ),
        "surfaces": [surface_row(name, state.callbacks.by_surface.get(name), minimum) for name in SURFACES],
    }
