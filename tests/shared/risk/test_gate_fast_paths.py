"""The hot path's shortcuts answer exactly what the plain computations answer.

The chain keeps one gate context between evaluations, derives the account-level checks once per ledger state
(``Standing``), decides the binary edge without a division and scans reservations instead of aggregating them;
each test here pits one shortcut against the straightforward computation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.config import SurfaceSettings
from shared.money.edge import binary_edge
from shared.money.ledger import Holding, Ledger
from shared.risk.gates import GateContext, Limits, min_edge

from .conftest import BASE_CANDIDATE, VENUE_T0, _make_trade

LIMITS = {floor: Limits.from_settings(SurfaceSettings(min_edge=Decimal(floor))) for floor in ("0", "0.03", "0.15")}


@settings(max_examples=400, deadline=None)
@given(
    side=st.sampled_from(["yes", "no"]),
    cents=st.integers(1, 99),
    p_model=st.floats(0.0, 1.0),
    quantity=st.integers(1, 200_000),
    fee_cents=st.integers(0, 20_000),
    floor=st.sampled_from(sorted(LIMITS)),
)
def test_min_edge_agrees_with_binary_edge(
    side: str, cents: int, p_model: float, quantity: int, fee_cents: int, floor: str
) -> None:
    price = Decimal(cents) / 100
    candidate = replace(BASE_CANDIDATE, side=side, price=price, current_price=price, p_model=p_model,
                        quantity=quantity, cost_cents=max(1, cents * quantity // 100), fee_cents=fee_cents)
    ctx = GateContext.at(LIMITS[floor], Ledger("kalshi_st"), VENUE_T0)
    edge = binary_edge(side, candidate.p_model_decimal, price, fee_cents, quantity).edge  # type: ignore[arg-type]
    denial = min_edge(candidate, ctx)
    assert (denial is None) == (edge >= Decimal(floor))
    if denial is not None:
        assert denial.reason_code == "min_edge" and denial.detail.startswith(f"edge {edge:.4f} <")


def test_min_edge_is_exact_at_the_floor() -> None:
    """Points, exactly: 100 contracts at 50¢ with p = 0.5475 and a $1.75 fee have an edge of exactly 3¢ and pass
    MIN_EDGE=0.03; one more cent of fee is 2.99¢ a contract and is denied."""
    ctx = GateContext.at(LIMITS["0.03"], Ledger("kalshi_st"), VENUE_T0)
    at_floor = replace(BASE_CANDIDATE, price=Decimal("0.50"), current_price=Decimal("0.50"), p_model=0.5475,
                       quantity=10_000, cost_cents=5_000, fee_cents=175)
    assert binary_edge("yes", at_floor.p_model_decimal, at_floor.price, 175, 10_000).edge == Decimal("0.03")
    assert min_edge(at_floor, ctx) is None
    assert min_edge(replace(at_floor, fee_cents=176), ctx) == ("min_edge", "edge 0.0299 < 0.03")


holdings = st.builds(
    lambda i, market, underlying, category, side, cost, fees: Holding(
        f"R{i}", f"R{i}", f"M{market}", underlying, category, side, cost, fees
    ),
    st.integers(0, 10_000),
    st.integers(0, 3),
    st.sampled_from(["", "U0", "U1"]),
    st.sampled_from(["", "weather", "crypto"]),
    st.sampled_from(["yes", "no"]),
    st.integers(1, 5_000),
    st.integers(0, 200),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(holdings, max_size=6, unique_by=lambda h: h.key), st.lists(holdings, max_size=4))
def test_reservations_answer_like_the_trades_they_stand_for(reserved: list[Holding], booked: list[Holding]) -> None:
    """A ledger holding reservations answers every query as one that applied the same positions as intents."""
    with_reservations, with_trades = Ledger("kalshi_st"), Ledger("kalshi_st")
    for n, h in enumerate(booked):
        for ledger in (with_reservations, with_trades):
            ledger.apply(_trade(f"B{n}", h))
    for h in reserved:
        with_reservations.reserve(h)
        with_trades.apply(_trade(h.key, h))
    assert with_reservations.reservations() == reserved
    for ledger_query in ("committed_cents", "cash_cents", "exposure_cents", "open_positions"):
        assert getattr(with_reservations, ledger_query) == getattr(with_trades, ledger_query), ledger_query
    for market in ("M0", "M1", "M2", "M3", "M9"):
        assert with_reservations.is_open(market) == with_trades.is_open(market)
        assert with_reservations.market_exposure(market) == with_trades.market_exposure(market)
    for underlying in ("", "U0", "U1"):
        assert with_reservations.underlying_exposure(underlying) == with_trades.underlying_exposure(underlying)
        for side in ("yes", "no"):
            assert with_reservations.holds_side(underlying, side) == with_trades.holds_side(underlying, side)
    for category in ("", "weather", "crypto"):
        assert with_reservations.category_exposure(category) == with_trades.category_exposure(category)
    for h in reserved:
        assert with_reservations.release(h.key) and not with_reservations.has_signal(h.key)
    assert with_reservations.state() == Ledger("kalshi_st").state() or booked
    assert with_reservations.committed_cents == sum(
        h.cost_cents + h.fees_cents for h in {f"B{n}": h for n, h in enumerate(booked)}.values()
    )


def _trade(signal: str, h: Holding) -> Any:
    return _make_trade(signal, "intent", instrument=h.instrument, underlying=h.underlying, category=h.category,
                       side=h.side, cost_cents=h.cost_cents, fees=h.fees_cents)


def test_the_kept_context_follows_the_ledger_and_the_day(rig: Any, make_candidate: Any, make_trade: Any) -> None:
    """No begin_tick between evaluations: a loss applied in between is seen by the next one, and the next trading
    day (the breaker resets) is seen as soon as the venue clock reaches it."""
    assert rig.chain.evaluate(make_candidate()).accepted
    rig.ledger.apply(make_trade("L", "resolved", pnl=-50_000, resolved_at=rig.clock.now()))
    assert rig.chain.evaluate(make_candidate(candidate_id="B", instrument="B")).reason_code == "daily_loss_breaker"
    rig.clock.advance(timedelta(days=1))
    decision = rig.chain.evaluate(make_candidate(candidate_id="C", instrument="C"))
    assert decision.accepted and decision.context["venue_time"] == rig.clock.now()


def test_the_kept_context_follows_the_settings(rig_factory: Any, make_candidate: Any) -> None:
    rig = rig_factory(max_open_positions=1)
    assert rig.chain.evaluate(make_candidate()).accepted
    assert rig.chain.evaluate(make_candidate(candidate_id="B", instrument="B")).reason_code == "max_open_positions"
    rig.ledger.release("SIG-0")
    rig.chain._overrides.apply("min_edge", "0.9")  # what begin_tick does when an override arrives
    rig.chain._refresh_settings()
    assert rig.chain.evaluate(make_candidate(candidate_id="D", instrument="D")).reason_code == "min_edge"
