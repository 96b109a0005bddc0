"""The dashboard over logs written by the fleet's own code (surfaces.replay: every loop and the resolver on sim
venues and stepped clocks): every record folds without a parse error, and the views agree with the trades."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from shared.records import SURFACES

pytestmark = pytest.mark.slow


def test_dashboard_reads_the_fleets_real_records(tools: Any, tmp_path: Path) -> None:
    replay_module = pytest.importorskip("surfaces.replay")
    log_dir = tmp_path / "fleet" / "logs"
    replay = replay_module.FleetReplay(log_dir)
    try:
        replay.run(8)
    finally:
        replay.close()
    settings = tools.settings_with(log_dir=log_dir, signal_key_path=log_dir / "keys" / "operator_ed25519.pem")
    app = asgi_app(settings)
    state = app.state
    assert state.index.invalid_records == 0 and state.tailer.corrupt_lines() == 0
    assert sum(state.index.per_surface) > 0
    for view in state.surfaces.values():
        assert view.invalid_records == 0, view.name
        assert view.heartbeats, view.name
    expected_pnl = 0
    for surface in SURFACES:
        path = log_dir / surface / "trades.jsonl"
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if record["status"] == "resolved":
                    expected_pnl += record["pnl"]
    headers = {"Authorization": f"Bearer {tools.operator_token}"}
    with TestClient(app) as client:
        overview = client.get("/api/operator/overview", headers=headers).json()
        assert overview["total"]["realized_cents"] == expected_pnl
        signals = client.get("/api/operator/signals", headers=headers).json()["items"]
        assert signals
        audit = client.get(f"/api/operator/audit/signal/{signals[0]['id']}", headers=headers).json()
        assert audit["decision"] is not None and audit["decision"]["accepted"] is True
        assert audit["decision"]["gates"][0]["gate"] == "stop_file"
        assert audit["signal"]["signature"]
