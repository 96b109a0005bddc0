"""The follower in-process: verification, expiry, dedup, sizing, the order lifecycle, recovery, resolution."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from client.brokers import PaperBroker
from client.config import ClientConfig
from client.engine import Follower
from client.ledger import Ledger
from client.store import StatePaths
from shared.bus import Durability, JsonlLog
from shared.ids import derive_id
from shared.records import Signal
from shared.signing import load_public_key, public_key_pem
from shared.timeutil import to_iso, utcnow
from shared.venues.base import OrderRequest, OrderResult


class Crash(BaseException):
    """Stands in for SIGKILL inside one process: nothing after it runs, no handler catches it."""


class CrashingBroker:
    """Wraps the paper broker and dies just before or just after the order reaches it."""

    def __init__(self, inner: PaperBroker, when: str) -> None:
        self.inner, self.when, self.name = inner, when, "paper"

    def place(self, request: OrderRequest, signal: Signal) -> OrderResult:
        if self.when == "before":
            raise Crash
        self.inner.place(request, signal)
        raise Crash

    def lookup(self, client_order_id: str) -> OrderResult | None:
        return self.inner.lookup(client_order_id)


def paper(config: ClientConfig) -> PaperBroker:
    StatePaths(config.state_dir).ensure()
    return PaperBroker(JsonlLog(config.state_dir / "paper_orders.jsonl", Durability.FSYNC), config.broker)


def follower(config: ClientConfig, broker: Any = None, **kwargs: Any) -> Follower:
    key = load_public_key(config.public_key_path.read_text())
    result = Follower(config, broker or paper(config), key, **kwargs)
    result.recover()
    return result


def wire(signal: Signal) -> dict[str, Any]:
    return signal.to_json_dict()


def orders(config: ClientConfig) -> list[dict[str, Any]]:
    return [e.data for e in StatePaths(config.state_dir).log("orders").read_all()]


def keys(f: Follower) -> list[str]:
    return [m.key for m in f.outbox.pending()]


def rebuilt(config: ClientConfig) -> Ledger:
    paths = StatePaths(config.state_dir)
    entries = [*paths.log("orders").read_all(), *paths.log("money").read_all()]
    return Ledger.rebuild(entries, config.commission_rate)


def test_a_good_signal_is_sized_ordered_and_called_back(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    signal = make_signal(limit_price=Decimal("0.40"))
    outcome = f.handle(wire(signal))
    assert outcome.verdict == "traded", outcome
    # $10 fixed stake at the worst acceptable $0.42 -> 23 contracts, filled at 0.40 + 0.01 paper slippage.
    assert outcome.detail["quantity"] == 2_300 and outcome.detail["fill_price"] == "0.41"
    states = [o["status"] for o in orders(config)]
    assert states == ["intent", "filled"]
    assert {o["client_order_id"] for o in orders(config)} == {derive_id("coid", signal.id)}
    assert keys(f) == [f"ack:{signal.id}", f"executed:{signal.id}"]
    assert f.ledger.snapshot() == rebuilt(config).snapshot()
    assert f.ledger.cash_cents == 100_000 - 943 - 39  # 23 × $0.41, fee 0.07 × 23 × .41 × .59 = 38.9 → 39¢


def test_tampered_signal_is_rejected_and_the_genuine_one_still_trades(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    signal = make_signal()
    tampered = wire(signal) | {"limit_price": "0.05"}
    assert f.handle(tampered).verdict == "bad_signature"
    assert orders(config) == [] and keys(f) == []
    logged = [e.data for e in StatePaths(config.state_dir).log("signals").read_all()]
    assert logged[-1]["verdict"] == "bad_signature" and logged[-1]["raw"]["limit_price"] == "0.05"
    assert f.handle(wire(signal)).verdict == "traded"


def test_a_signal_signed_by_another_key_is_rejected(make_config, make_signal) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from shared.signing import sign_signal

    config = make_config()
    f = follower(config)
    forged = sign_signal(make_signal(), Ed25519PrivateKey.generate())
    assert f.handle(wire(forged)).verdict == "bad_signature"
    assert f.handle(wire(make_signal()) | {"signature": ""}).verdict == "bad_signature"
    assert f.handle({"id": "x", "surface": "nowhere"}).verdict == "malformed"
    assert orders(config) == []


def test_expired_duplicate_and_unfollowed_signals_never_trade(make_config, make_signal) -> None:
    config = make_config(feed={"surfaces": ["kalshi_st", "fx"]})
    f = follower(config)
    old = make_signal(published_at=utcnow() - timedelta(seconds=601))
    assert f.handle(wire(old)).verdict == "expired"
    stock = make_signal(surface="stocks", instrument="AAPL", side="long", limit_price=Decimal("200"))
    assert f.handle(wire(stock)).verdict == "filtered"
    good = make_signal()
    assert f.handle(wire(good)).verdict == "traded"
    assert f.handle(wire(good)).verdict == "duplicate"
    again = follower(config)  # a restart: dedup comes from the records
    assert again.handle(wire(good)).verdict == "duplicate"
    assert [o["status"] for o in orders(config)] == ["intent", "filled"]


def test_the_per_day_cap_holds_across_signals(make_config, make_signal) -> None:
    config = make_config(sizing={"fixed_cents": 1_000, "max_cents_per_day": 2_500})
    f = follower(config)
    verdicts = [f.handle(wire(make_signal())).verdict for _ in range(4)]
    assert verdicts == ["traded", "traded", "traded", "skipped"]
    costs = [o["cost_cents"] for o in orders(config) if o["status"] == "filled"]
    assert len(costs) == 3 and sum(costs) <= 2_500
    assert f.ledger.staked_on(utcnow().date()) == sum(costs)


def test_operator_dry_run_signals_are_not_traded_with_a_live_broker(make_config, make_signal) -> None:
    config = make_config(feed={"trade_dry_run_signals": False})
    f = follower(config)
    assert f.handle(wire(make_signal(dry_run=True))).verdict == "skipped"
    assert f.handle(wire(make_signal(dry_run=False))).verdict == "traded"


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_around_the_send_never_doubles_the_order(make_config, make_signal, when: str) -> None:
    config = make_config()
    signal = make_signal()
    inner = paper(config)
    crashing = follower(config, CrashingBroker(inner, when))
    with pytest.raises(Crash):
        crashing.handle(wire(signal))
    assert [o["status"] for o in orders(config)] == ["intent"]
    restarted = follower(config)  # recover() runs inside: reconcile by client order id
    assert [o["status"] for o in orders(config)] == ["intent", "filled"]
    paper_orders = JsonlLog(config.state_dir / "paper_orders.jsonl").read_all()
    assert len(paper_orders) == 1  # sent once in all, whichever side of the send the crash fell
    assert keys(restarted) == [f"ack:{signal.id}", f"executed:{signal.id}"]
    assert restarted.handle(wire(signal)).verdict == "duplicate"
    assert restarted.ledger.snapshot() == rebuilt(config).snapshot()


def test_an_intent_never_sent_is_cancelled_once_the_signal_expires(make_config, make_signal) -> None:
    config = make_config()
    signal = make_signal()
    crashing = follower(config, CrashingBroker(paper(config), "before"))
    with pytest.raises(Crash):
        crashing.handle(wire(signal))
    later = follower(config, now=lambda: utcnow() + timedelta(seconds=700))
    assert [o["status"] for o in orders(config)] == ["intent", "cancelled"]
    assert later.ledger.positions == {}
    assert JsonlLog(config.state_dir / "paper_orders.jsonl").read_all() == []


def test_outcomes_from_history_resolve_positions(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    win = make_signal(limit_price=Decimal("0.40"))
    fx = make_signal(surface="fx", instrument="EUR_USD", side="long", limit_price=Decimal("1.10000"),
                     stop_loss=Decimal("1.09500"), take_profit=Decimal("1.11000"))
    f.handle(wire(win))
    f.handle(wire(fx))
    fx_fill = Decimal(next(o for o in orders(config) if o["signal_id"] == fx.id and o["status"] == "filled")
                      ["fill_price"])
    resolved_at = to_iso(utcnow())
    history = [
        {"signal": wire(win), "status": "resolved", "outcome": "win", "resolved_at": resolved_at,
         "resolution_source": "sim", "pnl_cents": 123},
        {"signal": wire(fx), "status": "resolved", "outcome": "loss", "exit_price": None,
         "resolved_at": resolved_at, "resolution_source": "sim", "pnl_cents": -50},
        {"signal": wire(make_signal()), "status": "resolved", "outcome": "win"},  # not ours: ignored
    ]
    outcomes = f.apply_history(history)
    assert [o.verdict for o in outcomes] == ["resolved", "resolved"]
    # Binary: 23 contracts at $0.41 win $1 each: 2300 − 943 − 39 fee = +1318.
    assert outcomes[0].detail["pnl_cents"] == 2_300 - 943 - 39
    # FX: the loss closes at the stop: (1.09500 − fill) × units.
    fx_units = next(o for o in orders(config) if o["signal_id"] == fx.id and o["status"] == "filled")["units"]
    expected = int(((Decimal("1.09500") - fx_fill) * fx_units * 100).to_integral_value())
    assert outcomes[1].detail["pnl_cents"] == expected
    assert f.apply_history(history) == []  # already resolved: nothing twice
    assert f.ledger.positions == {}
    assert keys(f)[-2:] == [f"resolved:{win.id}", f"resolved:{fx.id}"]
    assert f.ledger.snapshot() == rebuilt(config).snapshot()
    assert f.ledger.realized_pnl_cents == outcomes[0].detail["pnl_cents"] + expected


def test_history_with_a_bad_signature_resolves_nothing(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    signal = make_signal()
    f.handle(wire(signal))
    forged = {"signal": wire(signal) | {"title": "changed"}, "outcome": "win", "resolved_at": to_iso(utcnow())}
    assert f.apply_history([forged]) == []
    assert list(f.ledger.positions) == [signal.id]


def test_public_key_pem_round_trip(operator_key) -> None:
    assert "BEGIN PUBLIC KEY" in public_key_pem(operator_key)
    assert Path  # the helpers above use pathlib through the config fixtures


class FlakyBroker:
    """The broker is unreachable for the first send, then back."""

    def __init__(self, inner: PaperBroker) -> None:
        self.inner, self.name, self.failures = inner, "paper", 1

    def place(self, request: OrderRequest, signal: Signal) -> OrderResult:
        if self.failures:
            self.failures -= 1
            from shared.venues.base import VenueError

            raise VenueError("paper", "connection refused", retryable=True)
        return self.inner.place(request, signal)

    def lookup(self, client_order_id: str) -> OrderResult | None:
        return self.inner.lookup(client_order_id)


def test_a_failed_send_is_reconciled_in_the_same_session(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config, FlakyBroker(paper(config)))
    signal = make_signal()
    assert f.handle(wire(signal)).verdict == "error"
    assert [o["status"] for o in orders(config)] == ["intent"]
    assert [o.verdict for o in f.retry_unconfirmed()] == ["traded"]
    assert f.retry_unconfirmed() == []
    assert [o["status"] for o in orders(config)] == ["intent", "filled"]
    assert len(JsonlLog(config.state_dir / "paper_orders.jsonl").read_all()) == 1


def test_a_crash_after_the_fill_record_still_sends_the_executed_callback(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    original = f._enqueue

    def crash_on_executed(signal_id: str, kind: str, body: dict[str, Any]) -> None:
        if kind == "executed":
            raise Crash
        original(signal_id, kind, body)

    f._enqueue = crash_on_executed  # type: ignore[method-assign]
    signal = make_signal()
    with pytest.raises(Crash):
        f.handle(wire(signal))
    assert [o["status"] for o in orders(config)] == ["intent", "filled"]
    restarted = follower(config)
    assert keys(restarted) == [f"ack:{signal.id}", f"executed:{signal.id}"]
    assert restarted.handle(wire(signal)).verdict == "duplicate"
    assert len(JsonlLog(config.state_dir / "paper_orders.jsonl").read_all()) == 1
