"""``replay``: the subscriber's rules over the operator's resolved history, exact to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from client.replay import chart_title, render_table, simulate, write_chart
from shared.signing import load_public_key, public_key_pem
from shared.timeutil import to_iso

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _item(signal: Any, fill: str, outcome: str, exit_price: str | None = None, minutes: int = 120) -> dict[str, Any]:
    return {"signal": signal.to_json_dict(), "status": "resolved", "fill_price": fill, "exit_price": exit_price,
            "resolved_at": to_iso(signal.published_at + timedelta(minutes=minutes)), "resolution_source": "sim",
            "pnl_cents": 1 if outcome == "win" else -1, "outcome": outcome}


def test_replay_applies_sizing_fees_and_commission(make_config, make_signal, operator_key, tmp_path: Path) -> None:
    config = make_config(sizing={"fixed_cents": 5_000, "max_cents_per_signal": 5_000},
                         replay={"bankroll_cents": 100_000})
    yes_win = make_signal(published_at=T0, side="yes", limit_price=Decimal("0.40"))
    no_loss = make_signal(published_at=T0 + timedelta(minutes=1), side="no", limit_price=Decimal("0.70"))
    stock = make_signal(published_at=T0 + timedelta(minutes=2), surface="stocks", instrument="F", side="long",
                        limit_price=Decimal("20.00"), stop_loss=Decimal("19.00"), take_profit=Decimal("21.00"))
    tampered = make_signal(published_at=T0 + timedelta(minutes=3))
    items = [
        _item(yes_win, "0.40", "win"),
        _item(no_loss, "0.71", "loss"),
        _item(stock, "20.03", "win", exit_price="21.00"),
        {**_item(tampered, "0.40", "win"), "signal": tampered.to_json_dict() | {"limit_price": "0.01"}},
    ]
    result = simulate(config, items, load_public_key(public_key_pem(operator_key)))

    # 1. YES at $0.40 (sized at the worst acceptable $0.42): 119 contracts, cost $47.60, fee ⌈0.07·119·.4·.6⌉ = $2.00;
    #    it wins $119.00: P&L 11900 − 4760 − 200 = +6940.
    # 2. NO at $0.71 (sized at $0.72): 69 contracts, cost $48.99, fee ⌈0.07·69·.71·.29 = 0.9945⌉ = $1.00; it loses:
    #    −4899 − 100 = −4999.
    # 3. 2 shares at $20.03 (sized at the worst acceptable $20.04), out at $21.00: +$1.94 gross. IBKR's $1.00
    #    minimum is capped at 1% of the value (shared.money.fees): ⌈40.06⌉ = 41 cents in, 42 out: +194 − 83 = +111.
    #    (A fill at $20.05, beyond that limit, would not have filled: see below.)
    surfaces = result.rows
    assert (surfaces["kalshi_st"].traded, surfaces["kalshi_st"].wins, surfaces["kalshi_st"].losses) == (2, 1, 1)
    assert surfaces["kalshi_st"].pnl_cents == 6_940 - 4_999
    assert surfaces["kalshi_st"].fees_cents == 300
    assert (surfaces["stocks"].pnl_cents, surfaces["stocks"].fees_cents) == (111, 83)
    assert result.skipped_bad_signature == 1
    realized = 6_940 - 4_999 + 111
    assert result.equity_before_commission_cents == 100_000 + realized == 102_052
    assert result.commission_cents == 307  # ⌊0.15 × 2052 = 307.8⌋
    assert result.final_cents == 101_745
    # Equity marks open positions at cost, so entry fees of still-open positions are spent (NO $1.00, stock $0.41).
    assert [cents for _, cents in result.curve] == [100_000, 100_000 + 6_940 - 100 - 41, 100_000 + 1_941 - 41,
                                                       102_052]

    table = render_table(result, 30)
    assert "you would have $1,017.45" in table
    beyond = simulate(config, [_item(stock, "20.05", "win", exit_price="21.00")],
                      load_public_key(public_key_pem(operator_key)))
    assert beyond.rows["stocks"].traded == 0 and beyond.final_cents == 100_000
    chart = write_chart(result, tmp_path / "equity.png", 30)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_replay_respects_the_daily_cap(make_config, make_signal, operator_key) -> None:
    config = make_config(sizing={"fixed_cents": 1_000, "max_cents_per_day": 2_000})
    signals = [make_signal(published_at=T0 + timedelta(minutes=i)) for i in range(4)]
    result = simulate(config, [_item(s, "0.40", "loss", minutes=600) for s in signals],
                      load_public_key(public_key_pem(operator_key)))
    # $10 stakes sized at $0.42 cost $9.20 each at the $0.40 fill; the $20 day allows two, then a $1.60 remainder.
    assert result.rows["kalshi_st"].traded == 3
    assert result.commission_cents == 0 and result.final_cents < 100_000


def test_replay_follows_run_on_operator_paper_signals(make_config, make_signal, operator_key) -> None:
    key = load_public_key(public_key_pem(operator_key))
    items = [_item(make_signal(published_at=T0, dry_run=True), "0.40", "win"),
             _item(make_signal(published_at=T0, dry_run=False), "0.40", "win")]
    live = make_config(broker={"kind": "kalshi"})
    result = simulate(live, items, key)
    assert (result.skipped_dry_run, result.rows["kalshi_st"].traded) == (1, 1)
    assert "operator paper signals" in render_table(result, 30)
    opted_in = make_config(broker={"kind": "kalshi"}, feed={"trade_dry_run_signals": True})
    assert simulate(opted_in, items, key).rows["kalshi_st"].traded == 2


def test_replay_says_where_the_operator_results_come_from(make_config, make_signal, operator_key,
                                                          tmp_path: Path) -> None:
    key = load_public_key(public_key_pem(operator_key))
    config = make_config(sizing={"fixed_cents": 1_000})
    sim = make_signal(published_at=T0)
    sim_only = simulate(config, [_item(sim, "0.40", "win")], key)
    assert sim_only.source == "synthetic (sim)" and dict(sim_only.kinds) == {"sim": 1}
    table = render_table(sim_only, 30)
    assert table.startswith("Operator's results replayed: synthetic (sim).")
    assert "are not a track record" in table
    assert "replaying the operator's synthetic (sim) results." in table
    assert chart_title(sim_only, 30) == ("Replay of synthetic (sim) results, 2026-01-05 10:00 to 2026-01-05 12:00 "
                                         "UTC (2.0 h)\n(asked for the last 30 days); equity (USD), before commission")
    assert sim_only.as_json()["source"] == "synthetic (sim)"

    real = make_signal(published_at=T0 + timedelta(minutes=1), venue="kalshi")
    real_item = {**_item(real, "0.40", "loss"), "resolution_source": "kalshi_resolution",
                 "result_kind": "real_data_paper"}
    # An item that claims "live" for a sim-venue signal is not promoted: it stays synthetic.
    forged = make_signal(published_at=T0 + timedelta(minutes=2))
    forged_item = {**_item(forged, "0.40", "win"), "resolution_source": "kalshi_resolution", "result_kind": "live"}
    mixed = simulate(config, [_item(sim, "0.40", "win"), real_item, forged_item], key)
    assert dict(mixed.kinds) == {"sim": 2, "real_data_paper": 1}
    assert mixed.source == "synthetic (sim) + real-data paper"
    row = next(line for line in render_table(mixed, 7).splitlines() if line.startswith("kalshi_st"))
    assert row.endswith("synthetic (sim) + real-data paper")
    # An older server without result_kind: read from the signal (a dry-run signal on a live venue).
    old = simulate(config, [{**real_item, "result_kind": None}], key)
    assert old.source == "real-data paper"
    assert write_chart(mixed, tmp_path / "mixed.png", 7).read_bytes()[:4] == b"\x89PNG"
