"""P&L section: per resolution source, surface and sub-strategy; real and simulated outcomes never share a row.

A trade counts on the venue day it resolved (its ``resolved_at`` in the surface's ``DAY_BOUNDARY_TZ``, UTC unless
given), the same day the portfolio fold and the breakers give it, so a replay or backtest has one row per venue day
and a real daily Sharpe. ``pnl`` is after fees, so net = pnl, gross = pnl + fees. A trade won iff pnl > 0.

What ``fees`` holds (the resolver's convention, surfaces/resolver/service.py): commissions, plus for FX the spread
cost (each fill's half-spread against the mid). ``pnl`` runs from the entry fill to the exit fill and subtracts
the commissions; the spread is already inside those fill prices, so it is not charged twice. Gross is therefore
what a trade made at the mid before any cost, fees what the venue's prices and commissions took, and net what the
account kept: net equals the venue's cash movement, which the reconciliation line (shared/audit/reconcile.py)
checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.audit.stats import annualize, daily_series, max_drawdown_cents, ratio, sharpe
from shared.money.portfolio import venue_day
from shared.records import Signal, Trade

if TYPE_CHECKING:  # the reconciliation renders with the report's helpers, which import this module
    from shared.audit.reconcile import Reconciliation

SIM_SOURCE = "sim"
UNKNOWN = "unknown"
REAL_SOURCES: frozenset[str] = frozenset({"kalshi_resolution", "nws_observation", "oanda_candles", "ibkr_position"})
ALL = "*"


def source_of(trade: Trade) -> str:
    return trade.resolution_source or UNKNOWN


def source_class(source: str) -> str:
    """``real`` (a venue or an observation settled it), ``sim`` (the sim venue did) or ``unknown``."""
    if source == SIM_SOURCE:
        return "sim"
    return "real" if source in REAL_SOURCES else UNKNOWN


@dataclass(frozen=True, slots=True)
class PnlRow:
    """One group's results. Money in integer cents."""

    source: str
    surface: str
    sub_strategy: str
    trades: int
    wins: int
    win_rate: float | None
    gross_cents: int
    fees_cents: int
    net_cents: int
    max_drawdown_cents: int
    days: int
    sharpe_daily: float | None
    sharpe_annualized: float | None


@dataclass(frozen=True, slots=True)
class PnlSection:
    rows: list[PnlRow]
    surfaces: list[PnlRow]
    summary: list[PnlRow]
    # "source/surface" -> [(bus ts ISO, cumulative net cents)], for the equity curves of the HTML report.
    equity: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # Per surface, the whole log's P&L beside the venue's cash movement (filled in by ``tbot audit pnl``).
    reconciliation: list[Reconciliation] = field(default_factory=list)


MAX_CURVE_POINTS = 2000


def thin(curve: list[tuple[str, int]], limit: int = MAX_CURVE_POINTS) -> list[tuple[str, int]]:
    """At most about ``limit`` evenly spaced points of a curve, always keeping its last (the final equity)."""
    if len(curve) <= limit:
        return curve
    step = -(-len(curve) // limit)
    kept = curve[::step]
    return kept if kept[-1] == curve[-1] else [*kept, curve[-1]]


def summarize(source: str, surface: str, sub_strategy: str, trades: Sequence[Trade],
              day_tz: Mapping[str, str] | None = None) -> PnlRow:
    """Figures for one group of resolved trades given in ledger order; days are venue days (``day_tz`` maps a
    surface to its DAY_BOUNDARY_TZ, UTC when absent)."""
    pnls = [t.pnl or 0 for t in trades]
    fees = sum(t.fees for t in trades)
    net = sum(pnls)
    wins = sum(1 for p in pnls if p > 0)
    by_day: dict[str, int] = {}
    for trade, pnl in zip(trades, pnls, strict=True):
        when = venue_day(trade, (day_tz or {}).get(trade.surface, "UTC"))
        if when is None and trade.ts is not None:
            when = trade.ts.date()  # a record without venue times: the day it was written is all there is
        if when is None:
            continue
        day = when.isoformat()
        by_day[day] = by_day.get(day, 0) + pnl
    daily = daily_series(by_day)
    daily_sharpe = sharpe(daily)
    return PnlRow(
        source=source, surface=surface, sub_strategy=sub_strategy, trades=len(trades), wins=wins,
        win_rate=ratio(wins, len(trades)), gross_cents=net + fees, fees_cents=fees, net_cents=net,
        max_drawdown_cents=max_drawdown_cents(pnls), days=len(daily), sharpe_daily=daily_sharpe,
        sharpe_annualized=annualize(daily_sharpe),
    )


def sub_strategy_of(trade: Trade, signals: dict[str, Signal]) -> str:
    if trade.sub_strategy:
        return trade.sub_strategy
    signal = signals.get(trade.signal_id)
    return signal.sub_strategy if signal is not None and signal.sub_strategy else "(none)"


def build_pnl(trades: Iterable[Trade], signals: dict[str, Signal],
              day_tz: Mapping[str, str] | None = None) -> PnlSection:
    """Group resolved trades (ledger order) and summarize every group, plus the real-vs-sim summary."""
    ordered = list(trades)
    groups: dict[tuple[str, str, str], list[Trade]] = {}
    per_surface: dict[tuple[str, str], list[Trade]] = {}
    per_class: dict[str, list[Trade]] = {"real": [], "sim": []}
    for trade in ordered:
        source = source_of(trade)
        groups.setdefault((source, trade.surface, sub_strategy_of(trade, signals)), []).append(trade)
        per_surface.setdefault((source, trade.surface), []).append(trade)
        per_class.setdefault(source_class(source), []).append(trade)
    rows = [summarize(*key, group, day_tz) for key, group in sorted(groups.items())]
    surfaces = [summarize(src, surface, ALL, group, day_tz) for (src, surface), group in sorted(per_surface.items())]
    summary = [summarize(cls, ALL, ALL, group, day_tz) for cls, group in per_class.items()]
    equity: dict[str, list[tuple[str, int]]] = {}
    for (src, surface), group in sorted(per_surface.items()):
        total = 0
        curve = []
        for trade in group:
            total += trade.pnl or 0
            curve.append(("" if trade.ts is None else trade.ts.isoformat(), total))
        equity[f"{src}/{surface}"] = thin(curve)
    return PnlSection(rows=rows, surfaces=surfaces, summary=summary, equity=equity)
