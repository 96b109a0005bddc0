"""The tracking-error report on a paper session: the subscriber's result beside the operator's, signal by signal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from client.brokers import PaperBroker
from client.engine import Follower
from client.store import StatePaths
from client.tracking import render, tracking_report
from shared.bus import Durability, JsonlLog
from shared.signing import load_public_key
from shared.timeutil import to_iso, utcnow


def _item(signal: Any, fill: str, outcome: str, pnl: int, exit_price: str | None = None) -> dict[str, Any]:
    return {"signal": signal.to_json_dict(), "status": "resolved", "fill_price": fill, "exit_price": exit_price,
            "resolved_at": to_iso(utcnow()), "resolution_source": "sim", "result_kind": "sim", "pnl_cents": pnl,
            "outcome": outcome}


def test_a_paper_session_compared_signal_by_signal(make_config, make_signal) -> None:
    config = make_config(sizing={"rule": "fixed", "fixed_cents": 1_000, "max_cents_per_signal": 30_000,
                                 "min_one_unit": False})
    paths = StatePaths(config.state_dir)
    paths.ensure()
    broker = PaperBroker(JsonlLog(config.state_dir / "paper_orders.jsonl", Durability.FSYNC), config.broker)
    follower = Follower(config, broker, load_public_key(config.public_key_path.read_text()))
    follower.recover()
    win = make_signal(instrument="KX-WIN", limit_price=Decimal("0.40"))
    loss = make_signal(instrument="KX-LOSS", limit_price=Decimal("0.60"), side="no")
    stock = make_signal(surface="stocks", sub_strategy="stk", instrument="AAPL", side="long",
                        limit_price=Decimal("185.00"), stop_loss=Decimal("180.00"), take_profit=Decimal("190.00"))
    missed = make_signal(instrument="KX-MISSED", published_at=utcnow() - timedelta(hours=2))
    for signal in (win, loss, stock):
        follower.handle(signal.to_json_dict())
    # The paper broker filled at the signal's price + $0.01 (no sim quote): the operator at the signal's price.
    history = [_item(win, "0.40", "win", 1_380), _item(loss, "0.60", "loss", -1_000),
               _item(stock, "185.00", "win", 500, exit_price="190.00"), _item(missed, "0.40", "loss", -900)]
    follower.apply_history(history)
    report = tracking_report(history, paths)
    rows = {r.instrument: r for r in report.rows}
    assert [rows[k].status for k in ("KX-WIN", "KX-LOSS", "AAPL", "KX-MISSED")] == [
        "traded", "traded", "skipped", "missed"]
    assert rows["AAPL"].reason == "stake_too_small"
    w = rows["KX-WIN"]
    # $10 sized at $0.42 buys 23 contracts; filled at $0.41: 23 × $0.01 = 23¢ of slippage against the operator.
    assert (w.quantity, w.fill, w.operator_fill, w.slippage) == (2_300, "0.41", "0.40", "0.01")
    assert w.slippage_cents == 23
    for row in (rows["KX-WIN"], rows["KX-LOSS"]):
        assert row.pnl_cents == (row.at_operator_prices_cents or 0) - row.slippage_cents - row.fees_cents
        assert row.operator_kind == "sim"
    totals = report.totals()
    assert totals["pnl_cents"] == totals["at_operator_prices_cents"] - totals["slippage_cents"] - totals["fees_cents"]
    assert totals["pnl_cents"] == follower.ledger.realized_pnl_cents
    text = render(report)
    assert "skip:stake_too_small" in text and "missed" in text
    assert "traded 2, open 0, skipped 1, missed 1" in text
