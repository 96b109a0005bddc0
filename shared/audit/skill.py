"""Skill against the market: the strategy's forecasts beside the market's own, and realized against claimed edge.

Every resolved trade with its signal gives one scored pair. The outcome is "the side bought won" (pnl > 0, the
calibration section's convention), and both forecasts are of that outcome:
- ``p_model``: the strategy's probability that the side bought wins;
- ``p_market``: the market's, as the strategy recorded it at decision time (surfaces/strategy.py). For a binary
  that is the price of the side bought (YES ask, or 1 − YES bid for NO); for an FX/stock bracket the no-edge
  probability that the take-profit comes first, sl / (sl + tp).

Skill is ``1 − Brier(p_model) / Brier(p_market)``: above 0 the strategy forecast better than the price did.
Its interval comes from the paired per-trade difference of squared errors (mean ± 1.96·s/√n, divided by the
market's Brier, whose own noise it leaves out: an approximation, stated where it is shown).

Edge is in probability points, i.e. dollars per $1 of payoff range: a binary contract pays $1 or $0, so a
trade's realized edge is pnl / (contracts × $1) = outcome − price paid − fee per contract. A bracket wins
tp or loses sl, so its payoff range is units × (tp + sl) in account money and pnl / range = outcome − sl/(sl+tp)
− costs (gaps through a level show as they happened). Claimed edge is ``p_model − p_market − fees / range``:
what the strategy said it would make on the same scale. The difference of the two is the forecast error plus
slippage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.ai.calibration import brier_score
from shared.audit.pnl import sub_strategy_of
from shared.audit.provenance import REAL_KINDS, result_kind, result_label
from shared.audit.stats import MeanInterval, mean_interval
from shared.money.fx import ACCOUNT_CURRENCY, is_pair, quote_unit_usd, split_pair, usd_rate_pair
from shared.records import Signal, Trade

ALL = "*"
REAL = "real"  # real-data paper and live together: the evidence the live gate reads
KIND_LABELS = {REAL: "real data (real-data paper + live)"}
BINARY_SIDES = frozenset({"yes", "no"})
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Scored:
    """One resolved trade scored against the market. Edges in probability points (dollars per $1 of range)."""

    kind: str
    surface: str
    sub_strategy: str
    p_model: float
    p_market: float
    won: bool
    realized: float | None  # None: the trade's payoff range is unknown (no count, or a bracket without levels)
    claimed: float | None


def quote_to_account(trade: Trade) -> Decimal | None:
    """Account (USD) value of one unit of the trade's quote currency, as the resolver valued its P&L.

    FX pairs are ``BASE_QUOTE`` (``shared.money.fx``); anything else (a stock symbol) is quoted in USD. A USD-based
    pair converts at its exit price; a cross is read off the trade's own P&L, which the resolver took from the fills
    (entry fill to exit fill, converted at the exit, less commissions: FX commissions are 0 on OANDA's standard
    pricing, and the spread is inside the fill prices, so ``pnl`` is the converted price move).
    """
    if not is_pair(trade.instrument):
        return Decimal(1)
    if usd_rate_pair(trade.instrument) is None:
        if trade.exit_price is None or trade.exit_price <= 0:
            return None if split_pair(trade.instrument)[0] == ACCOUNT_CURRENCY else Decimal(1)
        return quote_unit_usd(trade.instrument, trade.exit_price)
    if trade.fill_price is None or trade.exit_price is None or not trade.units or trade.pnl is None:
        return None
    sign = Decimal(1) if trade.side == "long" else Decimal(-1)
    move = sign * Decimal(trade.units) * (trade.exit_price - trade.fill_price)
    if move == 0:
        return None
    return Decimal(trade.pnl) / (move * _HUNDRED)


def payoff_range_cents(trade: Trade, signal: Signal) -> Decimal | None:
    """Cents between the trade's winning and losing outcome: the scale that turns its P&L into probability points."""
    if trade.side in BINARY_SIDES:
        # count is in centi-contracts and a contract's range is $1 = 100 cents: the range in cents is the count.
        return Decimal(trade.count) if trade.count else None
    entry = trade.fill_price
    stop = trade.stop_loss if trade.stop_loss is not None else signal.stop_loss
    target = trade.take_profit if trade.take_profit is not None else signal.take_profit
    if not trade.units or entry is None or stop is None or target is None:
        return None
    rate = quote_to_account(trade)
    if rate is None or rate <= 0:
        return None
    span = abs(target - entry) + abs(entry - stop)
    return Decimal(trade.units) * span * rate * _HUNDRED if span > 0 else None


def score(trade: Trade, signal: Signal, signals: Mapping[str, Signal] | None = None) -> Scored:
    """A resolved trade and its signal as one scored pair."""
    pnl = trade.pnl or 0
    realized = claimed = None
    scale = payoff_range_cents(trade, signal)
    if scale is not None:
        try:
            realized = float(Decimal(pnl) / scale)
            claimed = signal.p_model - signal.p_market - float(Decimal(trade.fees) / scale)
        except (InvalidOperation, ZeroDivisionError):
            realized = claimed = None
    sub = sub_strategy_of(trade, dict(signals) if signals is not None else {trade.signal_id: signal})
    return Scored(result_kind(trade), trade.surface, sub, signal.p_model, signal.p_market, pnl > 0, realized,
                  claimed)


def score_all(trades: Iterable[Trade], signals: Mapping[str, Signal]) -> tuple[list[Scored], int]:
    """Every resolved trade that has its signal, scored; and how many had none."""
    scored: list[Scored] = []
    missing = 0
    for trade in trades:
        signal = signals.get(trade.signal_id)
        if signal is None:
            missing += 1
            continue
        scored.append(score(trade, signal, signals))
    return scored, missing


@dataclass(frozen=True, slots=True)
class SkillStats:
    """One group's forecast skill against the market and its edge, realized vs claimed, in probability points."""

    kind: str  # sim | real_data_paper | live | real (the last two together)
    surface: str
    sub_strategy: str
    n: int
    win_rate: float
    mean_p_model: float
    mean_p_market: float
    brier_model: float
    brier_market: float
    skill: float | None  # None when the market's Brier is 0 (it was never wrong): nothing to beat
    skill_low: float | None
    skill_high: float | None
    edge_n: int  # trades whose payoff range is known (the edge figures are over these)
    realized_edge: float | None
    realized_edge_low: float | None
    realized_edge_high: float | None
    claimed_edge: float | None

    @property
    def label(self) -> str:
        """Where these figures come from, in words: "synthetic (sim)", "real-data paper", "live" or real data."""
        return KIND_LABELS.get(self.kind) or result_label(self.kind)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label
        return data


def summarize(kind: str, surface: str, sub_strategy: str, scored: Sequence[Scored]) -> SkillStats | None:
    """The figures for one group; None for an empty group."""
    if not scored:
        return None
    n = len(scored)
    model_pairs = [(s.p_model, s.won) for s in scored]
    market_pairs = [(s.p_market, s.won) for s in scored]
    brier_model, brier_market = brier_score(model_pairs), brier_score(market_pairs)
    skill = low = high = None
    if brier_market > 0:
        skill = 1.0 - brier_model / brier_market
        # Paired difference of squared errors: its interval, scaled by the market's Brier, bounds the skill.
        diffs = [(s.p_model - s.won) ** 2 - (s.p_market - s.won) ** 2 for s in scored]
        interval = mean_interval(diffs)
        if interval is not None and interval.low is not None and interval.high is not None:
            low, high = -interval.high / brier_market, -interval.low / brier_market
    realized = mean_interval([s.realized for s in scored if s.realized is not None])
    claimed = [s.claimed for s in scored if s.claimed is not None]
    return SkillStats(
        kind=kind, surface=surface, sub_strategy=sub_strategy, n=n, win_rate=sum(s.won for s in scored) / n,
        mean_p_model=math.fsum(s.p_model for s in scored) / n, mean_p_market=math.fsum(s.p_market for s in scored) / n,
        brier_model=brier_model, brier_market=brier_market, skill=skill, skill_low=low, skill_high=high,
        edge_n=0 if realized is None else realized.n, realized_edge=_mean(realized),
        realized_edge_low=None if realized is None else realized.low,
        realized_edge_high=None if realized is None else realized.high,
        claimed_edge=math.fsum(claimed) / len(claimed) if claimed else None,
    )


def _mean(interval: MeanInterval | None) -> float | None:
    return None if interval is None else interval.mean


def skill_table(scored: Iterable[Scored]) -> list[SkillStats]:
    """Per result kind and surface (sub-strategy ``*``), then per kind, surface and sub-strategy; sim never
    shares a row with real data."""
    per_surface: dict[tuple[str, str], list[Scored]] = {}
    per_sub: dict[tuple[str, str, str], list[Scored]] = {}
    for item in scored:
        per_surface.setdefault((item.kind, item.surface), []).append(item)
        per_sub.setdefault((item.kind, item.surface, item.sub_strategy), []).append(item)
    rows = [summarize(kind, surface, ALL, group) for (kind, surface), group in sorted(per_surface.items())]
    rows += [summarize(*key, group) for key, group in sorted(per_sub.items())]
    return [row for row in rows if row is not None]


def skill_by_surface(trades: Iterable[Trade], signals: Mapping[str, Signal]) -> list[SkillStats]:
    """Resolved trades (with their signals by id) -> the skill rows a report or the dashboard shows.

    Pure: no I/O. Each row carries ``kind`` and ``label`` so a view can never show a sim figure unlabelled.
    """
    scored, _ = score_all(trades, signals)
    return skill_table(scored)


def real_evidence(scored: Iterable[Scored], surface: str) -> tuple[SkillStats | None, int]:
    """One surface's figures over real-data results only (real-data paper and live); and how many sim results
    were left out. What the live gate judges."""
    real: list[Scored] = []
    sim = 0
    for item in scored:
        if item.surface != surface:
            continue
        if item.kind in REAL_KINDS:
            real.append(item)
        else:
            sim += 1
    return summarize(REAL, surface, ALL, real), sim


def points(value: float | None, digits: int = 1) -> str:
    """A probability-point edge as cents per $1 of payoff: 0.043 -> "+4.3¢" (never a percentage return)."""
    return "-" if value is None else f"{value * 100:+.{digits}f}¢"
