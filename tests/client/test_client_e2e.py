"""The client against the real dashboard process on loopback, through a proxy that can cut the network.

One session, in order: a good signal, a tampered one, an expired one, a duplicate delivery, a network drop in the
middle of a long poll, a dashboard restart (killed, signals published while it is down), the client SIGKILLed
between its order and its callback, outcomes, and a withdrawal that crystallizes commission. Afterwards: no
duplicate order, every callback delivered exactly once, the ledger equal to a rebuild from the client's own
records, and the commission exact to the cent.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from client.ledger import Ledger
from shared.bus import JsonlLog
from shared.timeutil import to_iso, utcnow


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_e2e_harness", Path(__file__).with_name("e2e_harness.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _harness()


@pytest.fixture
def dashboard(tmp_path: Path, operator_key: Any) -> Any:
    """The real dashboard process (``tbot dashboard``) on loopback."""
    server = H.RealDashboard(tmp_path / "operator", operator_key)
    server.start()
    yield server
    server.stop()


def _orders(state: Path) -> list[dict[str, Any]]:
    return [e.data for e in JsonlLog(state / "orders.jsonl").read_all()]


def _fill(state: Path, signal_id: str) -> dict[str, Any]:
    return next(o for o in _orders(state) if o["signal_id"] == signal_id and o["status"] == "filled")


@pytest.mark.timeout(180)
def test_client_session_survives_every_failure(tmp_path: Path, dashboard: Any, make_signal: Any,
                                               make_config: Any) -> None:
    server = dashboard
    proxy = H.Proxy(server.port)
    config = make_config(
        url=f"http://127.0.0.1:{proxy.port}",
        feed={"token": server.token, "poll_wait_seconds": 2, "resolve_every_seconds": 0.3},
        sizing={"fixed_cents": 1_000, "max_cents_per_day": 100_000},
    )
    state = config.state_dir
    client = H.ClientProcess(config.source)
    try:
        client.start()
        H.wait_until(lambda: (state / "cursor.json").exists(), 20, "the first poll's cursor")

        good = make_signal(instrument="KX-GOOD")
        server.publish(good)
        client.wait_verdict(good.id, "traded")

        # Tampered in the operator's log: the dashboard verifies every signal as it indexes it and never serves
        # this one (the client's own check of a signature it is served is test_client_engine.py's).
        tampered = make_signal(instrument="KX-TAMPER")
        server.publish(tampered, raw=tampered.to_json_dict() | {"limit_price": "0.02"})

        # Expired: the dashboard consumes it without delivering it (a server that did would meet the client's own
        # check, test_client_engine.py). Either way it is never traded.
        expired = make_signal(instrument="KX-OLD", published_at=utcnow() - timedelta(seconds=660))
        server.publish(expired)
        if server.delivers_expired:
            client.wait_verdict(expired.id, "expired")

        # Network drop in the middle of a long poll: the client retries with the same cursor, loses nothing.
        H.wait_until(lambda: proxy._open, 10, "a held poll")
        proxy.cut()
        during_drop = make_signal(instrument="KX-DROP")
        server.publish(during_drop)
        H.wait_until(lambda: any(d.get("status", "").startswith("feed unreachable") for d in client.lines), 20,
                     "the client noticing the drop")
        proxy.restore()
        client.wait_verdict(during_drop.id, "traded", timeout=40)
        assert client.verdicts(tampered.id) == []  # signals after it arrived; it never did

        # Dashboard restart: killed, a signal published while it is down, then back.
        failures_before = sum(d.get("status", "").startswith("feed") for d in client.lines)
        server.kill()
        while_down = make_signal(instrument="EUR_USD", surface="fx", side="long", limit_price=Decimal("1.10000"),
                                 stop_loss=Decimal("1.09000"), take_profit=Decimal("1.12000"))
        server.publish(while_down)
        H.wait_until(lambda: sum(d.get("status", "").startswith("feed") for d in client.lines) > failures_before,
                     20, "a failed poll while the server is down")
        server.start()
        client.wait_verdict(while_down.id, "traded", timeout=40)

        # SIGKILL between the order and its callback: the paper broker has filled; the client has not recorded it.
        assert client.stop() == 0
        crashing = H.ClientProcess(config.source)
        crashing.start(TBOT_CLIENT_FAULT="after_place")
        crash_signal = make_signal(instrument="KX-CRASH")
        server.publish(crash_signal)
        assert crashing.wait_exit(30) == -9
        paper = [e.data["client_order_id"] for e in JsonlLog(state / "paper_orders.jsonl").read_all()]
        assert len(paper) == 4  # good, during_drop, while_down, crash_signal
        assert [o["status"] for o in _orders(state) if o["signal_id"] == crash_signal.id] == ["intent"]

        client = H.ClientProcess(config.source)
        client.start()
        client.wait_verdict(crash_signal.id, "traded")  # recovered from the broker, not ordered again
        # The killed client never saved the cursor past that batch, so the feed delivers the signal again.
        client.wait_verdict(crash_signal.id, "duplicate")

        # Outcomes: the operator resolves everything the client traded.
        now = to_iso(utcnow())
        server.resolve(good, pnl_cents=500, fill_price="0.40", exit_price=None, resolved_at=now)
        server.resolve(during_drop, pnl_cents=-400, fill_price="0.40", exit_price=None, resolved_at=now)
        server.resolve(while_down, pnl_cents=900, fill_price="1.10000", exit_price="1.12000", resolved_at=now)
        server.resolve(crash_signal, pnl_cents=600, fill_price="0.40", exit_price=None, resolved_at=now)
        for signal in (good, during_drop, while_down, crash_signal):
            client.wait_verdict(signal.id, "resolved")

        traded = [good, during_drop, while_down, crash_signal]
        H.wait_until(lambda: len(server.callbacks()) == 3 * len(traded), 40, "every callback delivered")

        # A withdrawal crystallizes commission and reports the amount to the operator.
        status = json.loads(H.cli(config.source, "--json", "status").stdout)
        realized = status["realized_pnl_cents"]
        assert realized > 0
        done = H.cli(config.source, "--json", "withdraw", "10")
        assert done.returncode == 0, done.stderr
        expected = int((Decimal("0.15") * realized).to_integral_value(rounding=ROUND_FLOOR))
        assert json.loads(done.stdout)["commission_cents"] == expected
        H.wait_until(lambda: server.commissions(), 30, "the commission report")
        snapshot = state / "ledger.json"
        H.wait_until(lambda: json.loads(snapshot.read_text())["commission_cents"] == expected, 20,
                     "run's incremental ledger picking up the withdrawal")
    finally:
        client.stop()
        proxy.close()

    # ---- afterwards
    paper_orders = [e.data["client_order_id"] for e in JsonlLog(state / "paper_orders.jsonl").read_all()]
    assert len(paper_orders) == len(set(paper_orders)) == 4, "no duplicate order"
    filled = [o["signal_id"] for o in _orders(state) if o["status"] == "filled"]
    assert sorted(filled) == sorted(s.id for s in traded)

    delivered = Counter((sid, kind) for sid, kind, _ in server.callbacks())
    assert set(delivered.values()) == {1}, "every callback recorded once"
    assert set(delivered) == {(s.id, k) for s in traded for k in ("ack", "executed", "resolved")}
    assert not {sid for sid, _ in delivered} & {tampered.id, expired.id}
    for sid, kind, body in server.callbacks():
        if kind == "executed":
            fill = _fill(state, sid)
            assert body == {"fill_price": fill["fill_price"], "quantity": fill["count"] or fill["units"],
                            "fees_cents": fill["fees"]}

    entries = [*JsonlLog(state / "orders.jsonl").read_all(), *JsonlLog(state / "money.jsonl").read_all()]
    rebuilt = Ledger.rebuild(entries).snapshot()
    incremental = json.loads((state / "ledger.json").read_text())
    assert incremental == rebuilt, "the ledger run kept equals a rebuild from the client's own records"
    final = json.loads(H.cli(config.source, "--json", "status").stdout)
    assert final["commission_cents"] == expected == server.commissions()[0]["amount_cents"]
    assert final["hwm_cents"] == realized
    assert final["cash_cents"] == 100_000 + realized - expected - 1_000
    assert final["pending_callbacks"] == 0
    assert proxy.cuts >= 1
