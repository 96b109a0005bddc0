"""Chaos: the client SIGKILLed at random moments while signals flow from the real dashboard.

Afterwards every signal was handled (no gap), none was ordered twice, every callback is recorded once, and the
ledger equals a rebuild from the client's records.
"""

from __future__ import annotations

import importlib.util
import json
import random
import signal as signals
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from client.ledger import Ledger
from shared.bus import JsonlLog
from shared.timeutil import to_iso, utcnow


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_chaos_harness", Path(__file__).with_name("e2e_harness.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _harness()
KILLS = 4


@pytest.mark.timeout(180)
def test_random_sigkills_lose_nothing_and_double_nothing(tmp_path: Path, operator_key: Any, make_signal: Any,
                                                         make_config: Any) -> None:
    rng = random.Random(20261121)
    server = H.RealDashboard(tmp_path / "operator", operator_key)
    server.start()
    config = make_config(
        url=f"http://127.0.0.1:{server.port}",
        feed={"token": server.token, "poll_wait_seconds": 1, "resolve_every_seconds": 0.3},
        sizing={"fixed_cents": 500, "max_cents_per_day": 1_000_000},
    )
    state = config.state_dir
    published: list[Any] = []
    client = H.ClientProcess(config.source)
    try:
        client.start()
        H.wait_until(lambda: (state / "cursor.json").exists(), 30, "the first poll's cursor")
        for _ in range(KILLS):
            deadline = time.monotonic() + rng.uniform(0.4, 1.5)
            while time.monotonic() < deadline:
                signal = make_signal(instrument=f"KX-CHAOS-{len(published)}")
                server.publish(signal)
                published.append(signal)
                time.sleep(rng.uniform(0.05, 0.3))
            assert client.proc is not None
            client.proc.send_signal(signals.SIGKILL)
            client.proc.wait(10)
            client = H.ClientProcess(config.source)
            client.start()
        # The last client runs undisturbed: every signal must end up handled exactly once.
        seen_path = state / "signals.jsonl"

        def handled() -> set[str]:
            return {str(e.data["signal_id"]) for e in JsonlLog(seen_path).read_all() if e.data.get("final")}

        H.wait_until(lambda: {s.id for s in published} <= handled(), 60, "every published signal handled")
        now = to_iso(utcnow())
        traded = [s for s in published if any(o["signal_id"] == s.id and o["status"] == "filled"
                                              for o in (e.data for e in JsonlLog(state / "orders.jsonl").read_all()))]
        for index, signal in enumerate(traded):
            server.resolve(signal, pnl_cents=100 if index % 2 else -100, fill_price="0.40", exit_price=None,
                           resolved_at=now)
        H.wait_until(lambda: len(server.callbacks()) == 3 * len(traded), 60, "every callback delivered")
        snapshot = state / "ledger.json"
        H.wait_until(lambda: json.loads(snapshot.read_text())["open_positions"] == [], 30, "all positions resolved")
    finally:
        client.stop()
        server.stop()

    assert len(published) >= KILLS
    paper = [e.data["client_order_id"] for e in JsonlLog(state / "paper_orders.jsonl").read_all()]
    assert len(paper) == len(set(paper)) == len(traded), "one order per traded signal, never two"
    statuses = Counter((e.data["signal_id"], e.data["status"]) for e in JsonlLog(state / "orders.jsonl").read_all())
    assert all(count == 1 for count in statuses.values()), "no state of any order written twice"
    # Every signal was published with a $5 stake and plenty of cash: all of them trade (none lost to a gap).
    assert len(traded) == len(published)
    delivered = Counter((sid, kind) for sid, kind, _ in server.callbacks())
    assert set(delivered) == {(s.id, k) for s in traded for k in ("ack", "executed", "resolved")}
    entries = [*JsonlLog(state / "orders.jsonl").read_all(), *JsonlLog(state / "money.jsonl").read_all()]
    assert json.loads((state / "ledger.json").read_text()) == Ledger.rebuild(entries).snapshot()
