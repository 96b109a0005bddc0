"""Two feed edges on one NATS node, fed by the relay: fan-out, shared cursors, signatures, revocation, bad input."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from fastapi.testclient import TestClient

from dashboard.app import create_app
from dashboard.config import DashboardSettings
from dashboard.cursor import encode_cursor
from dashboard.state import DashboardState

pytestmark = [pytest.mark.nats, pytest.mark.timeout(120)]


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["signals"]]


def test_a_signal_reaches_subscribers_on_both_edges_and_cursors_move_between_edges(
    rig_factory: Callable[..., Any], tmp_path: Path
) -> None:
    rig = rig_factory()
    early = rig.publish("fx")  # relayed from the log as soon as the relay starts
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    _, alice = rig.subscriber("alice")
    _, bob = rig.subscriber("bob")
    cursor_a, cursor_b = rig.until_authorized(a, alice), rig.until_authorized(b, bob)
    assert cursor_a == cursor_b  # "now" is the same position on every edge

    # Held polls on both edges, then one publish on the operator box: both are answered with it.
    results: dict[str, list[str]] = {}

    def hold(name: str, port: int, headers: dict[str, str], cursor: str) -> None:
        results[name] = _ids(rig.poll(port, headers, cursor, wait=20))

    threads = [threading.Thread(target=hold, args=("a", a, alice, cursor_a)),
               threading.Thread(target=hold, args=("b", b, bob, cursor_b))]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    signal = rig.publish("kalshi_st")
    for thread in threads:
        thread.join(15)
    assert results == {"a": [signal.id], "b": [signal.id]}
    assert time.monotonic() - started < 3

    # A cursor from edge A continues on edge B (and back): nothing repeated, nothing skipped.
    first = rig.poll(a, alice, cursor_a)
    assert _ids(first) == [signal.id]
    more = [rig.publish("stocks"), rig.publish("fx")]
    time.sleep(0.5)
    on_b = rig.poll(b, alice, first.json()["next_cursor"], wait=5)
    assert _ids(on_b) == [s.id for s in more]
    assert _ids(rig.poll(a, alice, on_b.json()["next_cursor"])) == []
    # From the start of every log (an old cursor): everything, in publication order, once.
    zero = encode_cursor((0, 0, 0, 0))
    assert _ids(rig.poll(b, alice, zero)) == [early.id, signal.id, *(s.id for s in more)]

    # The same bytes mean the same position on the dashboard: an edge and the dashboard accept each other's cursors.
    settings = DashboardSettings(log_dir=rig.logs, signal_key_path=rig.key_path, env_dir=tmp_path,
                                 pm2_home=tmp_path / "nopm2")
    dashboard = DashboardState(settings)
    assert encode_cursor(dashboard.index.now_cursor()) == on_b.json()["next_cursor"]
    assert rig.poll(a, alice).json()["next_cursor"] == on_b.json()["next_cursor"]

    key = httpx.get(f"http://127.0.0.1:{a}/api/signals/public-key", timeout=5)
    assert key.status_code == 200 and key.text == rig.public_key.read_text()


def test_a_tampered_or_forged_signal_is_never_served(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    _, alice = rig.subscriber("alice")
    cursor = rig.until_authorized(a, alice)
    rig.until_authorized(b, alice)
    tampered = rig.publish("fx", tamper=True)  # on the operator's own log: the relay carries it, edges refuse it

    async def forge() -> None:
        # Straight into the stream, past the relay: an edge trusts the operator's key, not the bus or NATS.
        nc = await nats.connect(rig.cluster.urls.split(","))
        forged = json.loads(rig.publish("stocks").model_dump_json(by_alias=True))
        forged["id"] = "01FORGEDFORGEDFORGEDFORGED"
        forged["ts"] = forged["published_at"]
        await nc.jetstream().publish("tbot.signals.stocks", json.dumps(forged).encode(),
                                     headers={"Tbot-Offset": "100000", "Tbot-Next-Offset": "100900"})
        await nc.close()

    asyncio.run(forge())
    good = rig.publish("fx")
    for port in (a, b):
        ids = _ids(rig.poll(port, alice, cursor, wait=5))
        while good.id not in ids:
            ids += _ids(rig.poll(port, alice, cursor, wait=5))
        assert tampered.id not in ids and "01FORGEDFORGEDFORGEDFORGED" not in ids
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "tbot_signals_unverified_total 2" in metrics


def test_a_revocation_reaches_every_edge_within_a_second_and_ends_held_polls(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    edges = [rig.start_edge(), rig.start_edge()]
    _, mallory = rig.subscriber("mallory")
    cursors = [rig.until_authorized(port, mallory) for port in edges]
    answers: dict[int, tuple[int, float]] = {}

    def hold(port: int, cursor: str) -> None:
        response = rig.poll(port, mallory, cursor, wait=30)
        answers[port] = (response.status_code, time.monotonic())

    threads = [threading.Thread(target=hold, args=(p, c)) for p, c in zip(edges, cursors, strict=True)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    revoked_at = time.monotonic()
    rig.revoke("mallory")
    for thread in threads:
        thread.join(10)
    assert {port: status for port, (status, _) in answers.items()} == {edges[0]: 401, edges[1]: 401}
    assert max(at for _, at in answers.values()) - revoked_at < 1.0
    for port in edges:
        assert rig.poll(port, mallory).status_code == 401


def test_bad_input_gets_a_4xx_naming_the_field_and_never_echoes_it(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    port = rig.start_edge()
    _, alice = rig.subscriber("alice")
    rig.until_authorized(port, alice)
    secret = "tbs_not-a-real-token-but-echo-me"
    assert rig.poll(port, {"Authorization": f"Bearer {secret}"}).status_code == 401
    bad_cursor = rig.poll(port, alice, "zz<script>")
    assert bad_cursor.status_code == 400 and "<script>" not in bad_cursor.text and "cursor" in bad_cursor.text
    for params, field in (({"limit": "x9x"}, "limit"), ({"wait": "nan"}, "wait"), ({"surface": "moon"}, "surface")):
        response = rig.poll(port, alice, **params)
        assert response.status_code == 422 and field in response.text
        assert str(next(iter(params.values()))) not in response.json()["detail"][0]["msg"]
    signal = rig.publish("fx")
    base = f"http://127.0.0.1:{port}/api/signals"
    deadline = time.monotonic() + 5
    while httpx.post(f"{base}/{signal.id}/ack", headers=alice, json={}).status_code == 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cases = [
        (f"{base}/{signal.id}/executed", {"fill_price": "s3cr3t-value", "quantity": 1, "fees_cents": 0}, 422,
         "fill_price"),
        (f"{base}/{signal.id}/executed", None, 422, "body"),
        (f"{base}/{signal.id}/bogus", {}, 422, "kind"),
        (f"{base}/01UNKNOWNUNKNOWNUNKNOWN0000/ack", {}, 404, "unknown signal"),
    ]
    for url, body, status, named in cases:
        content = b"1e999" if body is None else json.dumps(body).encode()
        response = httpx.post(url, headers={**alice, "content-type": "application/json"}, content=content)
        assert response.status_code == status, (url, response.text)
        assert named in response.text and "s3cr3t-value" not in response.text and "1e999" not in response.text
    big = httpx.post(f"{base}/{signal.id}/ack", headers=alice, content=b"{" + b" " * 20_000 + b"}")
    assert big.status_code == 413


def test_history_on_an_edge_is_the_dashboards_page_for_page(rig_factory: Callable[..., Any], tmp_path: Path) -> None:
    rig = rig_factory()
    signals = [rig.publish(surface) for surface in ("fx", "stocks", "fx", "stocks")]
    for n, signal in enumerate(signals[:3]):
        rig.resolve(signal, pnl=(-1) ** n * (100 + n))
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    _, alice = rig.subscriber("alice")
    rig.until_authorized(a, alice)
    rig.until_authorized(b, alice)
    settings = DashboardSettings(log_dir=rig.logs, signal_key_path=rig.key_path, env_dir=tmp_path,
                                 pm2_home=tmp_path / "nopm2")

    def edge_history(port: int, **params: Any) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{port}/api/signals/history", params=params, headers=alice, timeout=10)

    with TestClient(create_app(settings)) as dashboard:
        def dashboard_history(**params: Any) -> Any:
            response = dashboard.get("/api/signals/history", params=params, headers=alice)
            assert response.status_code == 200, response.text
            return response.json()

        whole = dashboard_history()
        assert len(whole["items"]) == 3
        assert edge_history(a).json() == whole
        # Page by page, alternating edges, with the dashboard's cursors: the same pages.
        cursor, ports = None, [a, b]
        for page in range(4):
            params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            expected = dashboard_history(**params)
            got = edge_history(ports[page % 2], **params)
            assert got.status_code == 200 and got.json() == expected
            cursor = expected["next_cursor"]
        assert edge_history(b, surface="stocks").json() == dashboard_history(surface="stocks")
        assert edge_history(a, since="2999-01-01").json() == dashboard_history(since="2999-01-01")
        # A resolution after the edges started reaches them too.
        rig.resolve(signals[3], pnl=5)
        deadline = time.monotonic() + 10
        while len(edge_history(b).json()["items"]) < 4:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert edge_history(b).json() == dashboard_history()
    bad = edge_history(a, since="yesterday")
    assert bad.status_code == 422 and "since" in bad.text and "yesterday" not in bad.text
    assert edge_history(a, cursor="nope!").status_code == 400
    assert httpx.get(f"http://127.0.0.1:{a}/api/signals/history", timeout=5).status_code == 401


def test_commission_reports_through_edges_are_recorded_once(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    sub_id, alice = rig.subscriber("alice")
    rig.until_authorized(a, alice)
    rig.until_authorized(b, alice)

    def post(port: int, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"http://127.0.0.1:{port}/api/commission", headers=alice, json=body, timeout=10)

    report = {"id": "w-2026-12-05T12:00:00.1", "amount_cents": 450, "crystallized_at": "2026-12-05T12:00:00Z"}
    first = post(a, report)
    assert first.status_code == 201 and first.json() == {"status": "recorded", "id": report["id"]}
    assert post(b, report).json() == {"status": "duplicate", "id": report["id"]}
    assert post(b, {**report, "amount_cents": 451}).status_code == 409
    bad = post(a, {**report, "amount_cents": -7})
    assert bad.status_code == 422 and "amount_cents" in bad.text and "-7" not in bad.text
    assert post(b, {"id": "w-2", "amount_cents": 0, "crystallized_at": "2026-12-05T13:00:00Z"}).status_code == 201
    path = rig.logs / "feed" / "commission.jsonl"
    deadline = time.monotonic() + 10
    while (not path.exists() or len(path.read_text().splitlines()) < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    rig.relay.kill()
    rig.start_relay()  # a restart redelivers nothing twice
    time.sleep(1.0)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["subscriber_id"], r["report_id"], r["amount_cents"]) for r in lines] == [
        (sub_id, report["id"], 450), (sub_id, "w-2", 0)]
