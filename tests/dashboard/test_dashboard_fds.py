"""The dashboard keeps one descriptor per log it appends to: thousands of callbacks leave the count flat.

Before, every callback, commission report and override opened its log anew and never closed it (198 callbacks left
198 more descriptors; under the default soft limit of 1,024 the feed stopped accepting connections).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from shared.paths import open_stream
from shared.timeutil import to_iso, utcnow

CALLBACK_SIGNALS = 700  # x 3 callbacks each (ack, executed, resolved) = 2,100 appends to the callbacks log


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_descriptor_count_stays_flat_over_thousands_of_appends(tools: Any, operator_headers: dict[str, str]) -> None:
    headers = tools.subscriber("alice")
    start = utcnow() - timedelta(seconds=CALLBACK_SIGNALS + 10)
    signals = [tools.signal("fx", published=start + timedelta(seconds=i)) for i in range(CALLBACK_SIGNALS + 1)]
    with open_stream(tools.log_dir, "fx", "signals") as log:  # one descriptor, closed: the count below is the app's
        log.append_many(signals)
    executed = {"fill_price": "1.08420", "quantity": 1000, "fees_cents": 3}
    resolved = {"pnl_cents": -120, "resolved_at": to_iso(utcnow())}

    def report(client: TestClient, signal_id: str) -> None:
        for kind, body in (("ack", {}), ("executed", executed), ("resolved", resolved)):
            reply = client.post(f"/api/signals/{signal_id}/{kind}", headers=headers, json=body)
            assert reply.status_code == 201, reply.text

    before_app = _open_fds()
    with TestClient(asgi_app(tools.settings)) as client:
        # Warm up once per endpoint, so every log the dashboard appends to is open before the baseline.
        report(client, signals[0].id)
        commission = {"id": "wd-0", "amount_cents": 100, "crystallized_at": to_iso(utcnow())}
        assert client.post("/api/commission", headers=headers, json=commission).status_code == 201
        override = {"surface": "kalshi_lt", "key": "min_edge", "value": "0.05"}
        assert client.post("/api/operator/overrides", headers=operator_headers, json=override).status_code == 201
        baseline = _open_fds()

        for signal in signals[1:]:
            report(client, signal.id)
        for i in range(1, 301):
            commission = {"id": f"wd-{i}", "amount_cents": 100 + i, "crystallized_at": to_iso(utcnow())}
            assert client.post("/api/commission", headers=headers, json=commission).status_code == 201
        for i in range(100):
            override = {"surface": "kalshi_lt", "key": "min_edge", "value": f"0.{5 + i % 3:02d}"}
            assert client.post("/api/operator/overrides", headers=operator_headers, json=override).status_code == 201

        after = _open_fds()
        assert after - baseline <= 5, f"{after - baseline} descriptors leaked over {3 * CALLBACK_SIGNALS} callbacks"
        lines = (tools.log_dir / "feed" / "callbacks.jsonl").read_text().splitlines()
        assert len(lines) == 3 * (CALLBACK_SIGNALS + 1)  # every callback was appended, none lost to the cache
    # Shutdown closes the logs the app held open (the tailer's descriptors close with it).
    assert _open_fds() - before_app <= 2
