"""Every gate is wired into the chain and trips with its reason code; the chain fails closed; exits bypass it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.killswitch import halt, resume
from shared.money.fees import kalshi_fee_cents
from shared.money.sizing import binary_cost_cents
from shared.paths import open_stream, stop_file
from shared.records import Decision, parse_record
from shared.risk.candidate import Candidate, CandidateError, ExitRequest
from shared.risk.chain import GATE_ERROR, NOT_EVALUATED
from shared.risk.gates import GATE_NAMES, candidate_pricing

MakeCandidate = Callable[..., Candidate]

EXPECTED_ORDER = (
    "stop_file",
    "dedup",
    "market_cap",
    "direction_filter",
    "category_suspension",
    "risk_validation",
    "slippage",
    "min_edge",
    "min_confidence",
    "api_cost_cap",
)


def assert_stopped(decision: Decision, gate: str, code: str) -> None:
    assert not decision.accepted
    assert decision.stopped_by == gate and decision.reason_code == code
    names = tuple(g.gate for g in decision.gates)
    assert names == EXPECTED_ORDER
    at = names.index(gate)
    for i, outcome in enumerate(decision.gates):
        if i < at:
            assert outcome.passed and outcome.reason_code is None
        elif i == at:
            assert not outcome.passed and outcome.reason_code == code and outcome.detail
        else:
            assert not outcome.passed and outcome.reason_code == NOT_EVALUATED


def test_gate_order_is_the_architectures() -> None:
    assert GATE_NAMES == EXPECTED_ORDER


def test_clean_candidate_passes_every_gate(rig: Any, make_candidate: MakeCandidate) -> None:
    decision = rig.chain.evaluate(make_candidate())
    assert decision.accepted and decision.stopped_by is None and decision.reason_code is None
    assert [g.passed for g in decision.gates] == [True] * 10


def test_decision_is_written_and_valid(rig: Any, make_candidate: MakeCandidate) -> None:
    decision = rig.chain.evaluate(make_candidate())
    entries = open_stream(rig.log_dir, "kalshi_st", "decisions").read_all()
    assert len(entries) == 1
    read = parse_record(Decision, entries[0].data, entries[0].ts)
    assert read.id == decision.id and read.gates == decision.gates and read.accepted
    assert read.context["price"] == "0.40" and read.context["cost_cents"] == 400


# 1 -------------------------------------------------------------------------------------------------------------
def test_stop_file_gate(rig: Any, make_candidate: MakeCandidate) -> None:
    halt(rig.log_dir, "kalshi_st", "test")
    assert_stopped(rig.chain.evaluate(make_candidate()), "stop_file", "stop_file")
    resume(rig.log_dir, "kalshi_st")
    halt(rig.log_dir, None, "global")
    assert_stopped(rig.chain.evaluate(make_candidate(candidate_id="SIG-1")), "stop_file", "stop_file")
    resume(rig.log_dir, None)
    assert rig.chain.evaluate(make_candidate(candidate_id="SIG-2")).accepted


def test_stop_is_honoured_within_one_tick_even_with_a_cached_check(
    rig_factory: Any, make_candidate: MakeCandidate
) -> None:
    rig = rig_factory()
    rig.chain.stop_check_seconds = 3600.0  # the cache alone would never re-stat
    assert rig.chain.evaluate(make_candidate()).accepted
    halt(rig.log_dir, "kalshi_st")
    rig.chain.begin_tick()  # the next tick re-stats
    assert_stopped(rig.chain.evaluate(make_candidate(candidate_id="SIG-1", instrument="M2")), "stop_file", "stop_file")


def test_stop_check_fails_closed(rig: Any, make_candidate: MakeCandidate, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(*_: object, **__: object) -> bool:
        raise PermissionError("denied")

    monkeypatch.setattr(type(stop_file(rig.log_dir)), "exists", unreadable)
    rig.chain.begin_tick()
    assert_stopped(rig.chain.evaluate(make_candidate()), "stop_file", "stop_file")


# 2 -------------------------------------------------------------------------------------------------------------
def test_dedup_same_signal(rig: Any, make_candidate: MakeCandidate) -> None:
    assert rig.chain.evaluate(make_candidate()).accepted
    assert_stopped(rig.chain.evaluate(make_candidate(instrument="OTHER")), "dedup", "duplicate_signal")


def test_dedup_market_open_or_pending(rig: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    rig.ledger.apply(make_trade("OLD", "placed", instrument="KXHIGHNY-25MAR03-B50"))
    assert_stopped(rig.chain.evaluate(make_candidate()), "dedup", "market_open")
    # Two candidates on one market in the same tick: the reservation of the first blocks the second.
    assert rig.chain.evaluate(make_candidate(candidate_id="A", instrument="M-A")).accepted
    assert_stopped(rig.chain.evaluate(make_candidate(candidate_id="B", instrument="M-A")), "dedup", "market_open")


def test_dedup_reentry_cooldown(rig: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    now = rig.clock.now()
    closed = make_trade(
        "OLD", "resolved", instrument="KXHIGHNY-25MAR03-B50", pnl=10, resolved_at=now - timedelta(seconds=60)
    )
    rig.ledger.apply(closed)
    assert_stopped(rig.chain.evaluate(make_candidate()), "dedup", "reentry_cooldown")
    rig.clock.advance(timedelta(seconds=900))
    assert rig.chain.evaluate(make_candidate()).accepted


# 3 -------------------------------------------------------------------------------------------------------------
def test_market_cap(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(per_market_cap_cents=300)
    assert_stopped(rig.chain.evaluate(make_candidate()), "market_cap", "per_market_cap")


# 4 -------------------------------------------------------------------------------------------------------------
def test_direction_allowed_sides(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(allowed_sides="no,long,short")
    assert_stopped(rig.chain.evaluate(make_candidate()), "direction_filter", "side_not_allowed")


def test_direction_per_sub_strategy(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(strategy_sides="weather:no,btc15:yes")
    assert_stopped(rig.chain.evaluate(make_candidate()), "direction_filter", "side_not_allowed")
    assert rig.chain.evaluate(make_candidate(candidate_id="B", sub_strategy="btc15", category="crypto")).accepted


def test_direction_contradictory_position(rig: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    # NO on one threshold of the event, then YES on another threshold of the same event.
    rig.ledger.apply(
        make_trade("OLD", "filled", instrument="KXHIGHNY-25MAR03-B55", underlying="KXHIGHNY-25MAR03", side="no")
    )
    assert_stopped(rig.chain.evaluate(make_candidate()), "direction_filter", "contradictory_position")
    assert rig.chain.evaluate(make_candidate(candidate_id="B", side="no", price=Decimal("0.40"))).accepted


# 5 -------------------------------------------------------------------------------------------------------------
def test_category_suspension(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(suspended_categories="politics,weather")
    assert_stopped(rig.chain.evaluate(make_candidate()), "category_suspension", "category_suspended")


def test_sub_strategy_suspension(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(suspended_sub_strategies="weather")
    assert_stopped(rig.chain.evaluate(make_candidate()), "category_suspension", "sub_strategy_suspended")


# 6 -------------------------------------------------------------------------------------------------------------
def test_risk_daily_loss_breaker(rig: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    now = rig.clock.now()
    rig.ledger.apply(make_trade("L", "resolved", pnl=-50_000, resolved_at=now - timedelta(hours=1)))
    assert_stopped(rig.chain.evaluate(make_candidate()), "risk_validation", "daily_loss_breaker")


def test_risk_weekly_loss_breaker(rig_factory: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    rig = rig_factory(weekly_loss_limit_cents=60_000, daily_loss_limit_cents=50_000)
    now = rig.clock.now()
    rig.clock.advance(timedelta(days=2))  # Wednesday: Monday's loss is not today's
    rig.ledger.apply(make_trade("L", "resolved", pnl=-49_000, resolved_at=now))
    rig.ledger.apply(make_trade("M", "resolved", pnl=-11_000, resolved_at=now + timedelta(days=1)))
    assert_stopped(rig.chain.evaluate(make_candidate()), "risk_validation", "weekly_loss_breaker")


def test_risk_max_drawdown(rig_factory: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    rig = rig_factory(max_drawdown_pct="0.10", daily_loss_limit_cents=10**9, weekly_loss_limit_cents=10**9)
    long_ago = rig.clock.now() - timedelta(days=30)
    rig.ledger.apply(make_trade("W", "resolved", pnl=100_000, resolved_at=long_ago))  # peak 1,100,000
    rig.ledger.apply(make_trade("L", "resolved", pnl=-110_000, resolved_at=long_ago + timedelta(days=1)))
    assert_stopped(rig.chain.evaluate(make_candidate()), "risk_validation", "max_drawdown")


def test_risk_insufficient_bankroll(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(
        bankroll_cents=410, max_position_pct="1", underlying_concentration_pct="1", category_concentration_pct="1"
    )
    assert_stopped(rig.chain.evaluate(make_candidate()), "risk_validation", "insufficient_bankroll")


def test_risk_position_cap(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(max_position_cents=399)
    assert_stopped(rig.chain.evaluate(make_candidate()), "risk_validation", "position_cap")


def test_risk_max_open_positions(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(max_open_positions=2)
    for i in range(2):
        assert rig.chain.evaluate(make_candidate(candidate_id=f"S{i}", instrument=f"M{i}", underlying=f"U{i}")).accepted
    assert_stopped(rig.chain.evaluate(make_candidate()), "risk_validation", "max_open_positions")


def test_risk_category_concentration(rig_factory: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    rig = rig_factory(
        bankroll_cents=10_000, max_position_pct="1", category_concentration_pct="0.05", underlying_concentration_pct="1"
    )
    rig.ledger.apply(make_trade("OLD", "filled", category="weather", cost_cents=200))
    assert_stopped(rig.chain.evaluate(make_candidate()), "risk_validation", "category_concentration")


def test_risk_underlying_concentration(rig_factory: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    rig = rig_factory(bankroll_cents=10_000, max_position_pct="1", underlying_concentration_pct="0.05")
    rig.ledger.apply(make_trade("OLD", "filled", underlying="KXHIGHNY-25MAR03", category="x", cost_cents=200))
    assert_stopped(rig.chain.evaluate(make_candidate()), "risk_validation", "underlying_concentration")


def test_risk_rejects_empty_size_and_wrong_surface(rig: Any, make_candidate: MakeCandidate) -> None:
    assert_stopped(rig.chain.evaluate(make_candidate(quantity=0, cost_cents=0)), "risk_validation", "invalid_size")
    foreign = make_candidate(candidate_id="FX", surface="fx", side="long", instrument="EUR_USD", underlying="EUR_USD")
    assert_stopped(rig.chain.evaluate(foreign), "risk_validation", "wrong_surface")


# 7 -------------------------------------------------------------------------------------------------------------
def test_slippage(rig: Any, make_candidate: MakeCandidate) -> None:
    assert_stopped(rig.chain.evaluate(make_candidate(current_price=Decimal("0.42"))), "slippage", "slippage")
    # A favourable move, or one within 2%, passes.
    assert rig.chain.evaluate(
        make_candidate(candidate_id="B", instrument="B", underlying="UB", current_price=Decimal("0.35"))
    ).accepted
    assert rig.chain.evaluate(
        make_candidate(candidate_id="C", instrument="C", underlying="UC", current_price=Decimal("0.408"))
    ).accepted


def test_slippage_short_side(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory(
        "stocks",
        max_position_cents=10**6,
        max_position_pct="1",
        underlying_concentration_pct="1",
        category_concentration_pct="1",
    )
    short = make_candidate(
        surface="stocks",
        side="short",
        instrument="AAPL",
        underlying="AAPL",
        category="tech",
        price=Decimal("200"),
        current_price=Decimal("195"),
        quantity=2,
        cost_cents=40_000,
        fee_cents=200,
        take_profit=Decimal("190"),
        stop_loss=Decimal("204"),
        p_model=0.6,
    )
    assert_stopped(rig.chain.evaluate(short), "slippage", "slippage")


# 8 -------------------------------------------------------------------------------------------------------------
def test_min_edge(rig: Any, make_candidate: MakeCandidate) -> None:
    assert_stopped(rig.chain.evaluate(make_candidate(p_model=0.41)), "min_edge", "min_edge")


def test_min_edge_bracket(rig_factory: Any, make_candidate: MakeCandidate) -> None:
    rig = rig_factory("fx", underlying_concentration_pct="1", category_concentration_pct="1")
    base: dict[str, Any] = {
        "surface": "fx",
        "side": "long",
        "instrument": "EUR_USD",
        "underlying": "EUR",
        "category": "fx_major",
        "price": Decimal("1.1000"),
        "current_price": Decimal("1.1000"),
        "quantity": 10_000,
        "cost_cents": 22_000,
        "fee_cents": 120,
    }
    assert_stopped(rig.chain.evaluate(make_candidate(**base)), "min_edge", "missing_bracket")
    weak = make_candidate(
        candidate_id="W", take_profit=Decimal("1.1020"), stop_loss=Decimal("1.0980"), p_model=0.5, **base
    )
    assert_stopped(rig.chain.evaluate(weak), "min_edge", "min_edge")
    strong = make_candidate(
        candidate_id="S", take_profit=Decimal("1.1030"), stop_loss=Decimal("1.0980"), p_model=0.55, **base
    )
    assert rig.chain.evaluate(strong).accepted


def _binary_at(make_candidate: MakeCandidate, cents: int, p_model: float, count_centi: int) -> Candidate:
    """A YES candidate of ``count_centi`` centi-contracts at ``cents``, charged the real Kalshi taker fee."""
    price = Decimal(cents) / 100
    return make_candidate(candidate_id=f"C{cents}", instrument=f"M{cents}", price=price, current_price=price,
                          p_model=p_model, quantity=count_centi, cost_cents=binary_cost_cents(count_centi, price),
                          fee_cents=kalshi_fee_cents(count_centi, Decimal(cents)))


def test_min_edge_is_in_points_a_longshot_on_a_one_cent_edge_is_denied(rig: Any, make_candidate: MakeCandidate) -> None:
    """MIN_EDGE=0.03 means 3¢ a contract after fees: a 2¢ contract with p = 0.03 (1¢ raw edge, about 40 % return on
    stake) is denied, while a 50¢ contract with p = 0.56 (6¢ raw, 4.25¢ after the 1.75¢ fee) passes."""
    assert rig.chain.settings.min_edge == Decimal("0.03")
    longshot = _binary_at(make_candidate, 2, 0.03, 10_000)
    pricing = candidate_pricing(longshot)
    assert pricing is not None
    assert pricing.fee_per_contract == Decimal("0.0014")  # ceil(0.07 × 100 × 0.02 × 0.98) = 14¢ on 100 contracts
    assert pricing.edge == Decimal("0.0086") and pricing.roi > Decimal("0.4")  # the old ratio would have passed it
    decision = rig.chain.evaluate(longshot)
    assert_stopped(decision, "min_edge", "min_edge")
    assert decision.gates[7].detail == "edge 0.0086 < 0.03"

    even = _binary_at(make_candidate, 50, 0.56, 10_000)
    pricing = candidate_pricing(even)
    assert pricing is not None and pricing.fee_per_contract == Decimal("0.0175")
    assert pricing.edge == Decimal("0.0425") and pricing.roi < Decimal("0.09")
    assert rig.chain.evaluate(even).accepted


def test_min_edge_in_points_for_a_bracket_is_p_above_break_even(
    rig_factory: Any, make_candidate: MakeCandidate
) -> None:
    """A bracket's edge is p − p_breakeven; a 2.9-point edge is denied at 0.03 and a 3.1-point one passes."""
    rig = rig_factory("fx", underlying_concentration_pct="1", category_concentration_pct="1")
    base: dict[str, Any] = {"surface": "fx", "side": "long", "instrument": "EUR_USD", "underlying": "EUR",
                            "category": "fx_major", "price": Decimal("1.1000"), "current_price": Decimal("1.1000"),
                            "quantity": 10_000, "cost_cents": 22_000, "fee_cents": 100,
                            "take_profit": Decimal("1.1030"), "stop_loss": Decimal("1.0980")}
    # reward $30, risk $20, costs $1: p_breakeven = 2100 / 5000 = 0.42.
    assert_stopped(rig.chain.evaluate(make_candidate(candidate_id="A", p_model=0.449, **base)), "min_edge", "min_edge")
    assert rig.chain.evaluate(make_candidate(candidate_id="B", p_model=0.451, **base)).accepted


# 9 -------------------------------------------------------------------------------------------------------------
def test_min_confidence(rig: Any, make_candidate: MakeCandidate) -> None:
    assert_stopped(rig.chain.evaluate(make_candidate(confidence=0.5)), "min_confidence", "low_confidence")


def test_max_model_spread(rig: Any, make_candidate: MakeCandidate) -> None:
    assert_stopped(rig.chain.evaluate(make_candidate(model_spread=0.3)), "min_confidence", "model_disagreement")


# 10 ------------------------------------------------------------------------------------------------------------
def test_api_cost_cap(rig: Any, make_candidate: MakeCandidate) -> None:
    # Cap 500c: at the cap the ensemble stops paying, and the gate stops the surface with it.
    assert_stopped(rig.chain.evaluate(make_candidate(), api_spend_cents=500), "api_cost_cap", "api_cost_cap")
    assert rig.chain.evaluate(make_candidate(), api_spend_cents=499).accepted


def test_a_zero_cost_cap_stops_llm_spend_not_a_surface_that_spends_nothing(
    rig: Any, make_candidate: MakeCandidate, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.chain._overrides.apply("api_cost_cap_cents", 0)
    rig.chain._refresh_settings()
    assert rig.chain.evaluate(make_candidate(), api_spend_cents=0).accepted
    other = make_candidate(instrument="KXHIGHNY-25MAR03-B54", candidate_id="01OTHER0000000000000000000")
    assert_stopped(rig.chain.evaluate(other, api_spend_cents=1), "api_cost_cap", "api_cost_cap")


# fail closed ---------------------------------------------------------------------------------------------------
def test_a_gate_that_raises_denies(rig: Any, make_candidate: MakeCandidate, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(instrument: str) -> int:
        raise RuntimeError("exposure index corrupted")

    monkeypatch.setattr(rig.ledger, "market_exposure", broken)
    decision = rig.chain.evaluate(make_candidate())
    assert_stopped(decision, "market_cap", GATE_ERROR)
    assert "RuntimeError" in decision.gates[2].detail
    assert not rig.ledger.is_open(make_candidate().instrument)  # nothing reserved for a denied candidate


def test_candidate_validation() -> None:
    with pytest.raises(CandidateError):
        Candidate("X", "kalshi_st", "s", "sim", "M", "up", Decimal("0.4"), Decimal("0.4"), 1, 1, 0, 0.5, 0.5, 0.5)
    with pytest.raises(CandidateError):
        Candidate("X", "kalshi_st", "s", "sim", "M", "yes", 0.4, Decimal("0.4"), 1, 1, 0, 0.5, 0.5, 0.5)  # type: ignore[arg-type]
    with pytest.raises(CandidateError):
        Candidate("X", "kalshi_st", "s", "sim", "M", "yes", Decimal("0.4"), Decimal("0.4"), 1, 1, 0, 1.5, 0.5, 0.5)


# exits ---------------------------------------------------------------------------------------------------------
def test_exits_bypass_stop_and_breakers(rig: Any, make_candidate: MakeCandidate, make_trade: Any) -> None:
    halt(rig.log_dir, None)
    rig.ledger.apply(make_trade("L", "resolved", pnl=-60_000, resolved_at=rig.clock.now()))
    rig.chain.begin_tick()
    assert not rig.chain.evaluate(make_candidate()).accepted
    exit_decision = rig.chain.allow_exit(ExitRequest("kalshi_st", "MKT-X", "yes", trade_id="T1", reason="stop hit"))
    cancel = rig.chain.allow_exit(ExitRequest("kalshi_st", "MKT-Y", "no", kind="cancel"))
    assert exit_decision.accepted and cancel.accepted
    assert [g.gate for g in exit_decision.gates] == ["exit"] and exit_decision.gates[0].passed
    with pytest.raises(ValueError):
        rig.chain.allow_exit(ExitRequest("fx", "EUR_USD", "long"))


def test_decision_records_are_valid_records(rig: Any, make_candidate: MakeCandidate, monkeypatch: Any) -> None:
    """Decisions are built without validation (records.prevalidated): prove every kind validates as a Decision."""
    decisions = [
        rig.chain.evaluate(make_candidate()),  # accepted
        rig.chain.evaluate(make_candidate(candidate_id="B", p_model=0.41, instrument="B")),  # denied
        rig.chain.allow_exit(ExitRequest("kalshi_st", "M", "yes", trade_id="T")),
    ]

    def broken(instrument: str) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(rig.ledger, "market_exposure", broken)
    decisions.append(rig.chain.evaluate(make_candidate(candidate_id="C", instrument="C")))  # gate error
    for decision in decisions:
        assert Decision.model_validate(decision.model_dump()) == decision
        again = Decision.model_validate_json(decision.model_dump_json())
        assert again.gates == decision.gates and again.id == decision.id and again.surface == decision.surface
    assert len({d.id for d in decisions}) == len(decisions)


@pytest.mark.parametrize(
    "changes",
    [
        {"sub_strategy": None},
        {"candidate_id": ""},
        {"models": ["a"]},
        {"quantity": 1.5},
        {"p_model": float("nan")},
        {"confidence": "high"},
    ],
)
def test_candidate_rejects_what_a_record_could_not_hold(make_candidate: MakeCandidate, changes: dict[str, Any]) -> None:
    with pytest.raises(CandidateError):
        make_candidate(**changes)
