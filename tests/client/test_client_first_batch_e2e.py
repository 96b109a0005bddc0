"""A brand-new client (no cursor) SIGKILLed inside its first batch, against the real dashboard process.

Before the fix the restarted client followed from a new "now": the rest of the batch and everything published
while it was down were skipped. Now the first cursor is saved before any signal is handled.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.bus import JsonlLog


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_fb_harness", Path(__file__).with_name("e2e_harness.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _harness()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", ["in_batch", "after_place"])
def test_a_kill_inside_the_first_batch_skips_nothing(tmp_path: Path, operator_key: Any, make_signal: Any,
                                                     make_config: Any, fault: str) -> None:
    server = H.RealDashboard(tmp_path / "operator", operator_key)
    server.start()
    config = make_config(url=f"http://127.0.0.1:{server.port}",
                         feed={"token": server.token, "poll_wait_seconds": 2})
    state = config.state_dir
    client = H.ClientProcess(config.source)
    try:
        client.start(TBOT_CLIENT_FAULT=fault)
        H.wait_until(lambda: (state / "cursor.json").exists(), 30, "the anchor cursor, saved before any signal")
        first_batch = [make_signal(instrument=f"KX-FIRST-{n}") for n in range(3)]
        for signal in first_batch:
            server.publish(signal)
        assert client.wait_exit(30) == -9, client.lines
        while_down = make_signal(instrument="KX-WHILE-DOWN")
        server.publish(while_down)

        client = H.ClientProcess(config.source)
        client.start()
        for signal in [*first_batch, while_down]:
            H.wait_until(lambda s=signal: set(client.verdicts(s.id)) & {"traded", "duplicate"}, 30,
                         f"{signal.instrument} handled after the restart")
    finally:
        client.stop()
        server.stop()
    paper = [e.data["client_order_id"] for e in JsonlLog(state / "paper_orders.jsonl").read_all()]
    assert len(paper) == len(set(paper)) == 4, "every signal ordered, none twice"
    filled = {e.data["signal_id"] for e in JsonlLog(state / "orders.jsonl").read_all() if e.data["status"] == "filled"}
    assert filled == {s.id for s in [*first_batch, while_down]}
