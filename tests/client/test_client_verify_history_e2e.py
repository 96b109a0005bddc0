"""``verify-history`` and the public /demo line against the real dashboard: an intact history, and one with an
edited, a deleted or an inserted signal (the operator holds the key, so every forged copy is properly signed)."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from client.store import StatePaths
from shared.signing import chain, sign_signal
from shared.timeutil import to_iso, utcnow


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_vh_harness", Path(__file__).with_name("e2e_harness.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _harness()


def _cli(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    from client.cli import main

    capsys.readouterr()
    code = main(["--config", str(config), *args])
    return code, capsys.readouterr().out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("tamper", ["none", "edited", "deleted", "inserted"])
def test_verify_history_and_demo_catch_tampering(tmp_path: Path, operator_key: Any, make_signal: Any,
                                                 make_config: Any, capsys: pytest.CaptureFixture[str],
                                                 tamper: str) -> None:
    start = utcnow() - timedelta(days=2)
    honest: list[Any] = []
    for n in range(4):
        raw = make_signal(published_at=start + timedelta(minutes=10 * n), instrument=f"KX-CHAIN-{n}")
        honest.append(chain(raw, honest[-1] if honest else None, operator_key))
    served = list(honest)
    bad_id = None
    if tamper == "edited":  # a loser turned into a better price, re-signed with the operator's own key
        served[1] = sign_signal(honest[1].model_copy(update={"limit_price": Decimal("0.05")}), operator_key)
        bad_id = honest[1].id
    elif tamper == "deleted":
        served.pop(2)
    elif tamper == "inserted":  # a winner back-filled after the fact
        extra = make_signal(published_at=start + timedelta(minutes=15), instrument="KX-BACKFILLED")
        served.insert(2, chain(extra, honest[1], operator_key))
        bad_id = served[2].id

    server = H.RealDashboard(tmp_path / "operator", operator_key)
    for signal in served:
        server.publish(signal)
        server.resolve(signal, pnl_cents=100, fill_price="0.40", exit_price=None,
                       resolved_at=to_iso(signal.published_at + timedelta(hours=1)))
    server.start()
    try:
        config = make_config(url=f"http://127.0.0.1:{server.port}", feed={"token": server.token})
        # The client received the first two signals when they were published (run keeps them in signals.jsonl).
        seen = StatePaths(config.state_dir)
        seen.ensure()
        for signal in honest[:2]:
            seen.log("signals").append({"signal_id": signal.id, "verdict": "accepted", "final": False,
                                        "signal": signal.to_json_dict()})
        code, out = _cli(capsys, config.source, "--json", "verify-history")
        report = json.loads(out)
        demo = httpx.get(f"http://127.0.0.1:{server.port}/api/demo", timeout=10).json()["history"]
    finally:
        server.stop()

    if tamper == "none":
        assert code == 0 and report["ok"] and report["gaps"] == []
        assert report["summary"] == "history verified: 4 signals, chain intact"
        assert demo == {"verified": True, "signals": 4, "summary": "history verified: 4 signals, chain intact",
                        "first_break": None}
    elif tamper == "deleted":
        # The subscriber's view holds resolved signals only: the hole is a gap (open, or removed) it reports;
        # the operator's whole log, checked for /demo, shows it is a removal.
        assert code == 0 and report["gaps"] == [{"surface": "kalshi_st", "signal_id": honest[3].id}]
        assert demo["verified"] is False and demo["first_break"]["signal_id"] == honest[3].id
    else:
        assert code == 1 and report["first_break"]["signal_id"] == bad_id, report
        assert demo["verified"] is False
        assert demo["first_break"]["signal_id"] == (bad_id if tamper == "inserted" else honest[2].id)
