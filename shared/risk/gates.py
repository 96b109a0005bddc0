"""The ten risk gates, in order. Each is a small pure function ``gate(candidate, ctx) -> Denial | None``.

``None`` is a pass; a :class:`Denial` carries a reason code (stable, machine-readable) and a human detail. Gates
read the :class:`GateContext` the chain keeps up to date for each evaluation (effective settings, the surface's
ledger and its :class:`Standing`, venue time, the STOP state, tripped breakers, today's API spend) and change
nothing.

| # | gate | reason codes |
|---|---|---|
| 1 | ``stop_file`` | ``stop_file`` |
| 2 | ``dedup`` | ``duplicate_signal``, ``market_open``, ``reentry_cooldown`` |
| 3 | ``market_cap`` | ``per_market_cap`` |
| 4 | ``direction_filter`` | ``side_not_allowed``, ``contradictory_position`` |
| 5 | ``category_suspension`` | ``category_suspended``, ``sub_strategy_suspended`` |
| 6 | ``risk_validation`` | ``wrong_surface``, ``invalid_size``, ``quarantined``, ``daily_loss_breaker``, ``weekly_loss_breaker``, ``max_drawdown``, ``insufficient_bankroll``, ``position_cap``, ``max_open_positions``, ``category_concentration``, ``underlying_concentration`` |
| 7 | ``slippage`` | ``slippage`` |
| 8 | ``min_edge`` | ``min_edge``, ``missing_bracket`` |
| 9 | ``min_confidence`` | ``low_confidence``, ``model_disagreement`` |
| 10 | ``api_cost_cap`` | ``api_cost_cap`` |
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from shared.config import SurfaceSettings
from shared.money.edge import ONE, BinaryEdge, BracketEV, binary_edge, bracket_ev
from shared.money.ledger import Ledger, opposite_side
from shared.money.periods import trading_day, week_of
from shared.risk.candidate import BINARY_SIDES, Candidate

ZERO = Decimal(0)
DAILY_LOSS = "daily_loss"
WEEKLY_LOSS = "weekly_loss"
DRAWDOWN = "drawdown"
QUARANTINE = "quarantine"


class Denial(NamedTuple):
    """A gate's typed refusal (immutable; a NamedTuple because it is built on the hot path)."""

    reason_code: str
    detail: str = ""


def parse_strategy_sides(entries: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """``("weather:no", "btc15:yes", "btc15:no")`` -> ``{"weather": {"no"}, "btc15": {"yes", "no"}}``."""
    by_strategy: dict[str, set[str]] = {}
    for entry in entries:
        strategy, sep, side = entry.partition(":")
        if not sep or not strategy or side not in ("yes", "no", "long", "short"):
            raise ValueError(f"STRATEGY_SIDES entry {entry!r}: expected 'strategy:side' (yes|no|long|short)")
        by_strategy.setdefault(strategy, set()).add(side)
    return {strategy: frozenset(sides) for strategy, sides in by_strategy.items()}


@dataclass(frozen=True, slots=True)
class Limits:
    """Settings pre-digested for the hot path (sets instead of tuples); rebuilt when settings change."""

    settings: SurfaceSettings
    allowed_sides: frozenset[str]
    strategy_sides: dict[str, frozenset[str]]
    suspended_categories: frozenset[str]
    suspended_sub_strategies: frozenset[str]
    # Fractions as exact integer ratios (numerator, denominator): the hot path compares integers, not Decimals.
    max_position: tuple[int, int]
    category_concentration: tuple[int, int]
    underlying_concentration: tuple[int, int]
    max_drawdown: tuple[int, int]
    slippage: tuple[int, int]
    min_edge: Decimal  # MIN_EDGE, probability points after fees (0.03 = 3¢ a binary contract)

    @classmethod
    def from_settings(cls, settings: SurfaceSettings) -> Limits:
        """Digest ``settings``; a malformed ``STRATEGY_SIDES`` entry raises ValueError."""
        by_strategy = parse_strategy_sides(settings.strategy_sides)
        return cls(
            settings=settings,
            allowed_sides=frozenset(settings.allowed_sides),
            strategy_sides=by_strategy,
            suspended_categories=frozenset(settings.suspended_categories),
            suspended_sub_strategies=frozenset(settings.suspended_sub_strategies),
            max_position=settings.max_position_pct.as_integer_ratio(),
            category_concentration=settings.category_concentration_pct.as_integer_ratio(),
            underlying_concentration=settings.underlying_concentration_pct.as_integer_ratio(),
            max_drawdown=settings.max_drawdown_pct.as_integer_ratio(),
            slippage=settings.slippage_tolerance.as_integer_ratio(),
            min_edge=settings.min_edge,
        )


class Standing(NamedTuple):
    """Account-level facts the gates need, derived from the ledger's realized P&L and peak (not from its open
    positions), so the chain derives them once per ledger state rather than once per candidate."""

    denial: Denial | None  # quarantine, a loss breaker or the drawdown limit: no new risk at all
    position_cap_cents: int  # min(MAX_POSITION_PCT of equity, MAX_POSITION_CENTS)
    category_cap_cents: int  # CATEGORY_CONCENTRATION_PCT of equity, rounded down
    underlying_cap_cents: int  # UNDERLYING_CONCENTRATION_PCT of equity, rounded down


def account_standing(limits: Limits, ledger: Ledger, day: date, week: date, tripped: frozenset[str]) -> Standing:
    """The :class:`Standing` of ``ledger`` on trading ``day`` (whose week starts on ``week``)."""
    s = limits.settings
    equity = ledger.equity_cents
    denial: Denial | None = None
    today = ledger.realized_on(day)
    this_week = ledger.realized_in_week(week)
    peak = ledger.peak_equity_cents
    num, den = limits.max_drawdown
    if QUARANTINE in tripped:
        denial = Denial("quarantined", "rapid exits quarantined the surface; `tbot resume SURFACE` lifts it")
    elif DAILY_LOSS in tripped or -today >= s.daily_loss_limit_cents:
        denial = Denial("daily_loss_breaker", f"today's P&L {today}c, limit -{s.daily_loss_limit_cents}c")
    elif WEEKLY_LOSS in tripped or -this_week >= s.weekly_loss_limit_cents:
        denial = Denial("weekly_loss_breaker", f"this week's P&L {this_week}c, limit -{s.weekly_loss_limit_cents}c")
    elif DRAWDOWN in tripped or (peak - equity) * den >= peak * num:
        denial = Denial("max_drawdown", f"drawdown {ledger.drawdown:.4f} >= {s.max_drawdown_pct}")
    num, den = limits.max_position
    # For an integer total, total × den > equity × num  <=>  total > floor(equity × num / den): caps in cents.
    return Standing(
        denial=denial,
        position_cap_cents=max(0, min(equity * num // den, s.max_position_cents)),
        category_cap_cents=_share(equity, limits.category_concentration),
        underlying_cap_cents=_share(equity, limits.underlying_concentration),
    )


def _share(equity: int, fraction: tuple[int, int]) -> int:
    return equity * fraction[0] // fraction[1]


@dataclass(slots=True)
class GateContext:
    """What the gates see for one evaluation: gates read it, never change it.

    Build it with :meth:`at`, which derives the trading day, the week and the standing. The chain keeps one per
    surface and updates it between evaluations (``now``, ``halted``, ``api_spend_cents`` each time; the rest when
    the ledger, the day, the settings or a breaker changes) rather than building one per decision.
    """

    limits: Limits
    ledger: Ledger
    now: datetime  # venue time: day boundaries, cooldowns
    day: date  # trading day of ``now`` in the surface's day-boundary zone
    week: date  # the Monday that starts it
    halted: bool
    tripped: frozenset[str]
    api_spend_cents: int
    standing: Standing

    @classmethod
    def at(
        cls,
        limits: Limits,
        ledger: Ledger,
        now: datetime,
        *,
        halted: bool = False,
        tripped: frozenset[str] = frozenset(),
        api_spend_cents: int = 0,
    ) -> GateContext:
        """The context for an evaluation at venue time ``now``."""
        day = trading_day(now, limits.settings.day_boundary_tz)
        week = week_of(day)
        standing = account_standing(limits, ledger, day, week, tripped)
        return cls(limits, ledger, now, day, week, halted, tripped, api_spend_cents, standing)


Gate = Callable[[Candidate, GateContext], Denial | None]


def stop_file(c: Candidate, ctx: GateContext) -> Denial | None:
    """1. ``logs/STOP`` or ``logs/STOP.<surface>`` halts new risk (an unreadable check counts as halted)."""
    if ctx.halted:
        return Denial("stop_file", f"STOP file present for {c.surface}")
    return None


def dedup(c: Candidate, ctx: GateContext) -> Denial | None:
    """2. The same signal twice, a market already open or pending, or a re-entry inside the cooldown."""
    ledger = ctx.ledger
    if ledger.has_signal(c.candidate_id):
        return Denial("duplicate_signal", f"signal {c.candidate_id} already traded")
    if ledger.is_open(c.instrument):
        return Denial("market_open", f"{c.instrument} already open or pending")
    cooldown = ctx.limits.settings.reentry_cooldown_seconds
    if cooldown:
        last = ledger.last_exit(c.instrument)
        if last is not None:
            elapsed = (ctx.now - last).total_seconds()
            if elapsed < cooldown:
                return Denial("reentry_cooldown", f"{c.instrument} closed {elapsed:.0f}s ago (< {cooldown}s)")
    return None


def market_cap(c: Candidate, ctx: GateContext) -> Denial | None:
    """3. Exposure on this one market, including the candidate, within ``PER_MARKET_CAP_CENTS``."""
    cap = ctx.limits.settings.per_market_cap_cents
    total = ctx.ledger.market_exposure(c.instrument) + c.cost_cents
    if total > cap:
        return Denial("per_market_cap", f"{c.instrument} exposure {total}c > cap {cap}c")
    return None


def direction_filter(c: Candidate, ctx: GateContext) -> Denial | None:
    """4. Sides allowed for the surface and sub-strategy; no position against one already held on the underlying."""
    limits = ctx.limits
    if c.side not in limits.allowed_sides:
        return Denial("side_not_allowed", f"side {c.side} not in ALLOWED_SIDES")
    scoped = limits.strategy_sides.get(c.sub_strategy)
    if scoped is not None and c.side not in scoped:
        return Denial("side_not_allowed", f"side {c.side} not allowed for {c.sub_strategy}")
    if c.underlying and ctx.ledger.holds_side(c.underlying, opposite_side(c.side)):
        return Denial("contradictory_position", f"{c.underlying} already held {opposite_side(c.side)}")
    return None


def category_suspension(c: Candidate, ctx: GateContext) -> Denial | None:
    """5. Categories and sub-strategies the operator suspended (env file or a live override)."""
    if c.category and c.category in ctx.limits.suspended_categories:
        return Denial("category_suspended", f"category {c.category} suspended")
    if c.sub_strategy in ctx.limits.suspended_sub_strategies:
        return Denial("sub_strategy_suspended", f"sub-strategy {c.sub_strategy} suspended")
    return None


def risk_validation(c: Candidate, ctx: GateContext) -> Denial | None:
    """6. Breakers, drawdown, bankroll, position cap, open-position count and concentration per category and
    underlying (the account-level checks come precomputed in ``ctx.standing``)."""
    ledger = ctx.ledger
    if c.surface != ledger.surface:
        return Denial("wrong_surface", f"candidate for {c.surface} on the {ledger.surface} ledger")
    cost = c.cost_cents
    if c.quantity <= 0 or cost <= 0:
        return Denial("invalid_size", f"quantity {c.quantity}, cost {cost}c")
    standing = ctx.standing
    if standing.denial is not None:
        return standing.denial
    need = cost + c.fee_cents
    cash = ledger.cash_cents
    if need > cash:
        return Denial("insufficient_bankroll", f"needs {need}c, free cash {cash}c")
    if cost > standing.position_cap_cents:
        return Denial("position_cap", f"cost {cost}c > position cap {standing.position_cap_cents}c")
    s = ctx.limits.settings
    if ledger.open_positions >= s.max_open_positions:
        return Denial("max_open_positions", f"{ledger.open_positions} open >= {s.max_open_positions}")
    if c.category:
        total = ledger.category_exposure(c.category) + cost
        if total > standing.category_cap_cents:
            return Denial("category_concentration", f"{c.category} {total}c > {s.category_concentration_pct} of equity")
    if c.underlying:
        total = ledger.underlying_exposure(c.underlying) + cost
        if total > standing.underlying_cap_cents:
            return Denial(
                "underlying_concentration", f"{c.underlying} {total}c > {s.underlying_concentration_pct} of equity"
            )
    return None


def slippage(c: Candidate, ctx: GateContext) -> Denial | None:
    """7. The price now against the signal's price: an adverse move beyond ``SLIPPAGE_TOLERANCE`` (a fraction).

    Adverse is up for a buy (yes, no, long) and down for a short.
    """
    if c.price <= 0:
        return Denial("slippage", f"signal price {c.price} is not positive")
    move = c.price - c.current_price if c.side == "short" else c.current_price - c.price
    if move <= 0:
        return None
    num, den = ctx.limits.slippage
    if move * den > c.price * num:
        tolerance = ctx.limits.settings.slippage_tolerance
        return Denial("slippage", f"price moved {move} against {c.price} (> {tolerance:%})")
    return None


def candidate_pricing(c: Candidate) -> BinaryEdge | BracketEV | None:
    """The candidate's edge after fees re-derived from its own fields (``.edge`` in probability points, ``.roi``
    beside it); None if a bracket lacks its take-profit or stop-loss, or a binary has no quantity or price."""
    if c.is_binary:
        if c.quantity <= 0 or not ZERO < c.price < ONE:
            return None
        return binary_edge(c.side, c.p_model_decimal, c.price, c.fee_cents, c.quantity)  # type: ignore[arg-type]
    if c.take_profit is None or c.stop_loss is None:
        return None
    return bracket_ev(
        c.side,  # type: ignore[arg-type]
        c.p_model_decimal,
        c.price,
        c.take_profit,
        c.stop_loss,
        c.quantity,
        c.fee_cents,
        quote_to_account=c.quote_to_account,
    )


def candidate_edge(c: Candidate) -> Decimal | None:
    """Edge after fees in probability points, re-derived from the candidate; None if a bracket lacks TP or SL.

    A binary without a quantity or a price strictly inside (0, 1) cannot be priced and counts as -1 (denied).
    """
    if c.is_binary and (c.quantity <= 0 or not ZERO < c.price < ONE):
        return Decimal(-1)
    pricing = candidate_pricing(c)
    return None if pricing is None else pricing.edge


def min_edge(c: Candidate, ctx: GateContext) -> Denial | None:
    """8. Edge after fees at least ``MIN_EDGE``, in probability points (binary: ``p − price − fee per contract``;
    bracket: ``p − p_breakeven``; see ``shared.money.edge``). Return on stake is never the test: it would let a
    2¢ contract through on a 1¢ edge."""
    floor = ctx.limits.min_edge
    quantity = c.quantity
    if c.side in BINARY_SIDES and quantity > 0 and ZERO < c.price < ONE:
        # edge = p − price − fee_cents / quantity (fee per contract in dollars). Times quantity (> 0):
        # edge >= floor  <=>  (p − price − floor) × quantity >= fee_cents: exact, and no division unless denied.
        if (c.p_model_decimal - c.price - floor) * quantity >= c.fee_cents:
            return None
        points = c.p_model_decimal - c.price - Decimal(c.fee_cents) / Decimal(quantity)
        return Denial("min_edge", f"edge {points:.4f} < {floor}")
    edge = candidate_edge(c)
    if edge is None:
        return Denial("missing_bracket", f"{c.side} candidate without take_profit / stop_loss")
    if edge < floor:
        return Denial("min_edge", f"edge {edge:.4f} < {floor}")
    return None


def min_confidence(c: Candidate, ctx: GateContext) -> Denial | None:
    """9. Confidence at least ``MIN_CONFIDENCE``; the models' spread at most ``MAX_MODEL_SPREAD``.

    A candidate resting on one opinion (a strategy alone, a single model) has no spread (``None``): there is no
    disagreement to check, and nothing here counts that as agreement; its confidence alone is tested.
    """
    s = ctx.limits.settings
    if c.confidence < s.min_confidence:
        return Denial("low_confidence", f"confidence {c.confidence:.3f} < {s.min_confidence}")
    if c.model_spread is not None and c.model_spread > s.max_model_spread:
        return Denial("model_disagreement", f"model spread {c.model_spread:.3f} > {s.max_model_spread}")
    return None


def api_cost_cap(c: Candidate, ctx: GateContext) -> Denial | None:
    """10. Today's LLM spend on this surface below ``API_COST_CAP_CENTS``.

    At the cap the ensemble stops paying for calls, so the gate stops the surface there too (``>=``); a surface
    that has spent nothing is never stopped, so a cap of 0 means "no LLM spend", not "no trading".
    """
    cap = ctx.limits.settings.api_cost_cap_cents
    spent = ctx.api_spend_cents
    if spent > 0 and spent >= cap:
        return Denial("api_cost_cap", f"LLM spend today {spent}c reached the cap {cap}c")
    return None


GATES: tuple[tuple[str, Gate], ...] = (
    ("stop_file", stop_file),
    ("dedup", dedup),
    ("market_cap", market_cap),
    ("direction_filter", direction_filter),
    ("category_suspension", category_suspension),
    ("risk_validation", risk_validation),
    ("slippage", slippage),
    ("min_edge", min_edge),
    ("min_confidence", min_confidence),
    ("api_cost_cap", api_cost_cap),
)
"""The chain, in the order the architecture fixes. Every decision record names all ten."""

GATE_NAMES: tuple[str, ...] = tuple(name for name, _ in GATES)
