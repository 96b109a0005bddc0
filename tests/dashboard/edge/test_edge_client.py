"""The open-source client's own HTTP layer (client/feed.py), unchanged, against two edges behind the proxy: key,
feed, callbacks, commission and history all answer as the dashboard does."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from client.feed import FeedApi
from dashboard.edge.localrig import free_port, proxy_proc, wait_port

pytestmark = [pytest.mark.nats, pytest.mark.timeout(120)]


def test_the_subscriber_client_works_through_the_edges_unchanged(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    _, headers = rig.subscriber("alice")
    rig.until_authorized(a, headers)
    rig.until_authorized(b, headers)
    listen = free_port()
    proxy = proxy_proc(listen, [a, b], rig.work / "proxy.log").start()
    api = FeedApi(f"http://127.0.0.1:{listen}", headers["Authorization"].split(" ", 1)[1])
    try:
        wait_port(listen, 15)
        assert api.public_key_pem() == rig.public_key.read_text()
        api.check_token()
        cursor = api.poll(None, wait=0, limit=10).next_cursor
        signal = rig.publish("fx")
        batch = api.poll(cursor, wait=10, limit=10)
        assert [s["id"] for s in batch.signals] == [signal.id]
        assert api.post(f"/api/signals/{signal.id}/ack", {}) == 201
        assert api.post(f"/api/signals/{signal.id}/executed",
                        {"fill_price": "1.08412", "quantity": 1000, "fees_cents": 7}) == 201
        assert api.post(f"/api/signals/{signal.id}/executed",
                        {"fill_price": "1.08412", "quantity": 1000, "fees_cents": 7}) == 200
        assert api.post("/api/commission", {"id": "c-1", "amount_cents": 45,
                                            "crystallized_at": "2026-12-05T12:00:00Z"}) == 201
        rig.resolve(signal, pnl=321)
        deadline = time.monotonic() + 10
        while not (items := api.history_all(date(2000, 1, 1))):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert [(i["signal"]["id"], i["pnl_cents"], i["outcome"]) for i in items] == [(signal.id, 321, "win")]
    finally:
        api.close()
        proxy.stop(5)
