"""Signals are verified against the operator's key as they are indexed: a tampered, forged or unsigned line is
counted and flagged to the operator, and never served (feed, history, operator views, callbacks)."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from dashboard.cursor import encode_cursor
from shared.ids import derive_id
from shared.paths import open_stream, stream_path
from shared.records import Signal, Trade
from shared.signing import sign_signal


def _resolved_trade(log_dir: Path, signal: Signal) -> None:
    open_stream(log_dir, signal.surface, "trades").append(Trade(
        id=derive_id("trade", signal.id), signal_id=signal.id, client_order_id=derive_id("coid", signal.id),
        status="resolved", surface=signal.surface, venue="sim", instrument=signal.instrument, side=signal.side,
        units=1000, fill_price=signal.limit_price, exit_price=signal.limit_price, fees=3, pnl=100,
        opened_at=signal.published_at, resolved_at=signal.published_at, resolution_source="sim"))


def _append_raw(log_dir: Path, signal: Signal, **changes: Any) -> None:
    """A line written around the bus's API, as someone with write access to logs/ could."""
    data = signal.to_json_dict()
    data.update(changes)
    open_stream(log_dir, signal.surface, "signals").append(data)


def test_a_tampered_line_is_never_served_and_is_counted(
    tools: Any, operator_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    headers = tools.subscriber("alice")
    app = asgi_app(tools.settings)
    with TestClient(app) as client, caplog.at_level(logging.ERROR, logger="dashboard.feed"):
        cursor = client.get("/api/signals/feed", params={"wait": 0}, headers=headers).json()["next_cursor"]
        genuine = tools.publish(tools.signal("fx"))
        # The genuine line, edited: same id and signature, a better price for whoever acts on it.
        _append_raw(tools.log_dir, genuine, limit_price="0.50000")
        forged = sign_signal(tools.signal("fx", key_path=None), Ed25519PrivateKey.generate())
        _append_raw(tools.log_dir, forged)
        _resolved_trade(tools.log_dir, forged)
        unsigned = tools.signal("fx", key_path=None)
        _append_raw(tools.log_dir, unsigned)
        last = tools.publish(tools.signal("fx"))  # the feed goes on past them

        got: list[dict[str, Any]] = []
        for _ in range(10):
            page = client.get("/api/signals/feed", params={"cursor": cursor, "wait": 2}, headers=headers).json()
            got.extend(page["signals"])
            cursor = page["next_cursor"]
            if last.id in {s["id"] for s in got}:
                break
        assert [s["id"] for s in got] == [genuine.id, last.id]
        assert Decimal(got[0]["limit_price"]) == genuine.limit_price
        assert client.get("/api/signals/feed", params={"cursor": cursor, "wait": 0},
                          headers=headers).json()["signals"] == []

        history = client.get("/api/signals/history", headers=headers).json()["items"]
        assert forged.id not in {item["signal"]["id"] for item in history}
        assert client.post(f"/api/signals/{forged.id}/ack", headers=headers, json={}).status_code == 404
        assert client.post(f"/api/signals/{unsigned.id}/ack", headers=headers, json={}).status_code == 404

        listed = client.get("/api/operator/signals", headers=operator_headers).json()["items"]
        assert [s["id"] for s in listed].count(genuine.id) == 1
        assert {forged.id, unsigned.id}.isdisjoint(s["id"] for s in listed)
        assert next(Decimal(s["limit_price"]) for s in listed if s["id"] == genuine.id) == genuine.limit_price
        assert client.get(f"/api/operator/audit/signal/{forged.id}", headers=operator_headers).status_code == 404

        health = client.get("/api/operator/health", headers=operator_headers).json()
        assert health["unverified_signals"] == 3
        metrics = client.get("/metrics", headers=operator_headers).text
        assert 'tbot_signals_unverified_total{surface="fx"} 3' in metrics
        assert 'tbot_signals_unverified_total{surface="stocks"} 0' in metrics
    flagged = [r for r in caplog.records if "does not verify" in r.getMessage()]
    assert len(flagged) == 3 and all(r.levelno == logging.ERROR for r in flagged)

    # After a restart, the whole log is verified again at boot: the same three are refused.
    with TestClient(asgi_app(tools.settings)) as client:
        assert client.get("/api/operator/health", headers=operator_headers).json()["unverified_signals"] == 3
        assert stream_path(tools.log_dir, "fx", "signals").read_text().count(genuine.id) == 2
        replay = client.get("/api/signals/feed", params={"cursor": encode_cursor((0, 0, 0, 0)), "wait": 0},
                            headers=headers).json()["signals"]
        assert [s["id"] for s in replay] == [genuine.id, last.id]
