"""The whole operator side, run for a bounded (sim) time: every surface trades, the resolver resolves, fees are
the fee functions', and every ledger equals a fresh rebuild from the logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from shared.bus import JsonlLog
from shared.execution import latest_states, read_trades
from shared.money.fees import ibkr_commission_cents, kalshi_fee_cents
from shared.money.ledger import Ledger
from shared.paths import stream_path
from shared.records import Signal, parse_record
from shared.signing import load_or_create_key, verify_signal
from surfaces.replay import FleetReplay

SURFACES = ("kalshi_st", "kalshi_lt", "fx", "stocks")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetReplay]:
    # Without LLM keys the long-term surface's only model is the offline baseline, which is the market itself and
    # never trades. This rig is about the machinery, not skill: it gives the baseline an explicit
    # favourite-longshot slope and enough confidence, so LT markets are priced, traded and settled.
    lt_machinery = {"llm_offline_slope": 3.0, "llm_offline_confidence": 0.6}
    replay = FleetReplay(tmp_path_factory.mktemp("fleet") / "logs", overrides={"kalshi_lt": lt_machinery})
    replay.run(45)
    yield replay
    replay.close()


def _signals(log_dir: Path, surface: str) -> list[Signal]:
    log = JsonlLog(stream_path(log_dir, surface, "signals"))
    return [parse_record(Signal, e.data, e.ts) for e in log.reader().read()]


def _sim_orders(log_dir: Path, surface: str) -> dict[str, dict[str, object]]:
    orders: dict[str, dict[str, object]] = {}
    path = log_dir / "sim" / surface / "orders.jsonl"
    for line in path.read_text().splitlines():
        record = json.loads(line)
        orders.setdefault(str(record["client_order_id"]), record)
    return orders


@pytest.mark.parametrize("surface", SURFACES)
def test_every_surface_publishes_signed_signals_fills_and_resolutions(fleet: FleetReplay, surface: str) -> None:
    signals = _signals(fleet.log_dir, surface)
    latest = latest_states(read_trades(JsonlLog(stream_path(fleet.log_dir, surface, "trades"))))
    resolved = [t for t in latest.values() if t.status == "resolved"]
    assert signals, f"{surface} published no signal"
    assert resolved, f"{surface} has no resolved trade"
    public = load_or_create_key(fleet.log_dir / "keys" / "operator_ed25519.pem").public_key()
    traded = {t.signal_id for t in latest.values() if t.status in ("filled", "resolved")}
    for signal in signals:
        assert verify_signal(signal, public)
        assert signal.dry_run and signal.surface == surface
        assert signal.id in traded  # a signal is published only for a trade that filled
    for trade in resolved:
        assert trade.resolution_source == "sim" and trade.resolved_at is not None and trade.pnl is not None


def test_kalshi_fees_equal_the_fee_function_level_by_level(fleet: FleetReplay) -> None:
    checked = 0
    for surface in ("kalshi_st", "kalshi_lt"):
        orders = _sim_orders(fleet.log_dir, surface)
        for trade in latest_states(read_trades(JsonlLog(stream_path(fleet.log_dir, surface, "trades")))).values():
            if trade.status not in ("filled", "resolved"):
                continue
            fills = orders[trade.client_order_id]["fills"]
            assert isinstance(fills, list)
            expected = sum(kalshi_fee_cents(int(f["quantity"]), Decimal(f["price"]) * 100) for f in fills)
            assert trade.fees == expected
            assert trade.count == sum(int(f["quantity"]) for f in fills)
            checked += 1
    assert checked > 0


def test_stock_entry_fees_are_ibkr_commissions_and_exits_add_their_own(fleet: FleetReplay) -> None:
    trades = latest_states(read_trades(JsonlLog(stream_path(fleet.log_dir, "stocks", "trades"))))
    for trade in trades.values():
        if trade.status == "filled":
            assert trade.units and trade.fill_price
            assert trade.fees == ibkr_commission_cents(trade.units, trade.fill_price)
        if trade.status == "resolved":
            assert trade.units and trade.fill_price and trade.exit_price
            assert trade.fees == ibkr_commission_cents(trade.units, trade.fill_price) + ibkr_commission_cents(
                trade.units, trade.exit_price)


def test_binary_pnl_is_payout_minus_cost_minus_fees(fleet: FleetReplay) -> None:
    for surface in ("kalshi_st", "kalshi_lt"):
        for trade in latest_states(read_trades(JsonlLog(stream_path(fleet.log_dir, surface, "trades")))).values():
            if trade.status != "resolved":
                continue
            assert trade.count is not None and trade.cost_cents is not None and trade.pnl is not None
            won = trade.exit_price == Decimal(1)
            assert trade.pnl == (trade.count if won else 0) - trade.cost_cents - trade.fees


@pytest.mark.parametrize("surface", SURFACES)
def test_live_ledger_equals_a_fresh_rebuild(fleet: FleetReplay, surface: str) -> None:
    member = fleet.members[surface]
    live = member.loop.decider.ledger
    live.sync()
    rebuilt = Ledger.rebuild(fleet.log_dir, surface, "paper", bankroll_cents=member.settings.bankroll_cents)
    assert live.state() == rebuilt.state()
    assert live.realized_cents == rebuilt.realized_cents


def test_every_decision_names_all_ten_gates_in_order(fleet: FleetReplay) -> None:
    path = stream_path(fleet.log_dir, "kalshi_st", "decisions")
    first = json.loads(path.read_text().splitlines()[0])
    assert [g["gate"] for g in first["gates"]] == [
        "stop_file", "dedup", "market_cap", "direction_filter", "category_suspension", "risk_validation",
        "slippage", "min_edge", "min_confidence", "api_cost_cap"]


@pytest.mark.parametrize("surface", SURFACES)
def test_decisions_record_edge_in_points_roi_beside_it_and_what_p_stands_on(
    fleet: FleetReplay, surface: str
) -> None:
    """Every priced decision's edge is in probability points after fees (binary: p − price − fee per contract),
    nothing is accepted below MIN_EDGE in points, the return on stake rides along as ``edge_roi``, and a
    probability resting on one opinion has no model spread (None, not 0) and says what it stands on."""
    min_edge = fleet.members[surface].settings.min_edge
    decisions = [json.loads(line) for line in stream_path(fleet.log_dir, surface, "decisions").read_text().splitlines()]
    priced = [d for d in decisions if d["edge"] is not None]
    assert priced, f"{surface} priced no candidate"
    for d in priced:
        ctx = d["context"]
        assert ctx["edge_roi"] is not None
        if surface.startswith("kalshi"):
            fee_per_contract = Decimal(ctx["fee_cents"]) / Decimal(ctx["quantity"])
            points = Decimal(repr(d["p_model"])) - Decimal(ctx["price"]) - fee_per_contract
            assert d["edge"] == pytest.approx(float(points), abs=1e-12)
            assert ctx["edge_roi"] == pytest.approx(float(points / (Decimal(ctx["price"]) + fee_per_contract)))
        if d["accepted"]:
            assert Decimal(repr(d["edge"])) >= min_edge
        if d["model_spread"] is None:
            assert ctx["opinions"] in ("strategy only", "offline baseline only", "single model")
    # No LLM key in this rig: nothing here has a second opinion, so no decision reports a spread.
    if surface != "kalshi_st":
        assert all(d["model_spread"] is None for d in priced)
