"""Faults on loopback: the relay SIGKILLed and restarted, an edge SIGKILLed mid-poll, a NATS node SIGKILLed in a
three-node R3 cluster, callbacks across edges and relay restarts. Afterwards: every signal delivered once, in order;
every callback in ``logs/feed/callbacks.jsonl`` exactly once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import nats
import pytest

from dashboard.edge.localrig import free_port, proxy_proc, wait_port

pytestmark = [pytest.mark.nats, pytest.mark.timeout(180)]


class Follower:
    """A subscriber that follows the feed across edges: on a failed poll it moves to the next edge, same cursor."""

    def __init__(self, rig: Any, ports: list[int], headers: dict[str, str], cursor: str) -> None:
        self.rig, self.ports, self.headers, self.cursor = rig, ports, headers, cursor
        self.ids: list[str] = []
        self.failovers = 0
        self.current = 0

    def poll_once(self, wait: float = 2) -> None:
        port = self.ports[self.current % len(self.ports)]
        try:
            response = self.rig.poll(port, self.headers, self.cursor, wait=wait)
        except httpx.HTTPError:
            self.failovers += 1
            self.current += 1
            return
        if response.status_code != 200:
            self.failovers += 1
            self.current += 1
            return
        body = response.json()
        self.ids.extend(s["id"] for s in body["signals"])
        self.cursor = body["next_cursor"]

    def until(self, ids: list[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not set(ids) <= set(self.ids) and time.monotonic() < deadline:
            self.poll_once()


def _publisher(rig: Any, count: int, every: float, out: list[str]) -> threading.Thread:
    surfaces = ("fx", "kalshi_st", "stocks", "kalshi_lt")

    def run() -> None:
        for i in range(count):
            out.append(rig.publish(surfaces[i % 4]).id)
            time.sleep(every)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _stream_messages(urls: str, stream: str) -> int:
    async def count() -> int:
        nc = await nats.connect(urls.split(","))
        try:
            info = await nc.jetstream().stream_info(stream)
        except nats.js.errors.NotFoundError:
            return 0  # the relay has not created it yet
        finally:
            await nc.close()
        return int(info.state.messages)

    return asyncio.run(count())


def test_relay_killed_and_restarted_loses_and_repeats_nothing(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    port = rig.start_edge()
    _, alice = rig.subscriber("alice")
    follower = Follower(rig, [port], alice, rig.until_authorized(port, alice))
    published: list[str] = []
    thread = _publisher(rig, 60, 0.05, published)
    time.sleep(1.0)
    rig.relay.kill()  # SIGKILL mid-stream: whatever it had read but not published is simply re-read
    time.sleep(0.8)
    rig.start_relay()
    thread.join()
    follower.until(published)
    assert follower.ids == published  # every signal, once, in publication order
    assert _stream_messages(rig.cluster.urls, "TBOT_SIGNALS") == 60
    # And again, with nothing new in between: a restart relays nothing twice.
    rig.relay.kill()
    rig.start_relay()
    time.sleep(1.5)
    assert _stream_messages(rig.cluster.urls, "TBOT_SIGNALS") == 60


def test_an_edge_killed_mid_poll_the_cursor_resumes_on_the_other_edge(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    _, alice = rig.subscriber("alice")
    cursor = rig.until_authorized(a, alice)
    rig.until_authorized(b, alice)
    before = [rig.publish("fx").id for _ in range(3)]
    follower = Follower(rig, [a, b], alice, cursor)
    follower.until(before)
    errors: list[str] = []

    def held_poll() -> None:
        try:
            rig.poll(a, alice, follower.cursor, wait=30)
            errors.append("answered")
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)

    holder = threading.Thread(target=held_poll)
    holder.start()
    time.sleep(0.5)
    rig.edges[a].kill()  # mid-poll
    holder.join(10)
    assert errors and errors[0] != "answered"
    during = [rig.publish("stocks").id for _ in range(3)]
    follower.until(during)  # the follower's next poll on A fails, and it moves to B with the same cursor
    assert follower.failovers >= 1
    # A restarted edge rebuilds the same index from the stream: the same cursor is valid there too.
    rig.start_edge(a)
    after = [rig.publish("kalshi_lt").id for _ in range(2)]
    follower.ports, follower.current = [a], 0
    follower.until(after)
    assert follower.ids == before + during + after


def test_a_nats_node_killed_in_a_three_node_cluster(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory(nodes=3)
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    _, alice = rig.subscriber("alice")
    cursor = rig.until_authorized(a, alice)
    rig.until_authorized(b, alice)
    on_a = Follower(rig, [a], alice, cursor)
    on_b = Follower(rig, [b], alice, cursor)
    published: list[str] = []
    thread = _publisher(rig, 40, 0.05, published)
    time.sleep(0.6)
    rig.cluster.nodes[0].kill()  # the first seed URL: the relay and both edges are likely connected to it
    thread.join()
    on_a.until(published, 60)
    on_b.until(published, 60)
    assert on_a.ids == published and on_b.ids == published
    assert _stream_messages(",".join(rig.cluster.urls.split(",")[1:]), "TBOT_SIGNALS") == 40


def test_callbacks_are_recorded_exactly_once_across_edges_and_relay_restarts(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    sub_id, alice = rig.subscriber("alice")
    rig.until_authorized(a, alice)
    rig.until_authorized(b, alice)
    signals = [rig.publish("fx") for _ in range(5)]
    Follower(rig, [a], alice, rig.until_authorized(a, alice)).until([])
    time.sleep(0.5)

    def post(port: int, signal_id: str, kind: str, body: dict[str, Any]) -> int:
        url = f"http://127.0.0.1:{port}/api/signals/{signal_id}/{kind}"
        return httpx.post(url, headers=alice, json=body, timeout=10).status_code

    executed = {"fill_price": "1.0842", "quantity": 1000, "fees_cents": 12}
    resolved = {"pnl_cents": 250, "resolved_at": "2026-12-05T12:00:00Z"}
    first = signals[0].id
    # The same callback on both edges at once: one is recorded, the other is a duplicate.
    statuses: list[int] = []
    racers = [threading.Thread(target=lambda p=p: statuses.append(post(p, first, "ack", {}))) for p in (a, b)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(statuses) == [200, 201]
    assert post(b, first, "ack", {}) == 200
    assert post(a, first, "resolved", resolved) == 409  # before executed
    assert post(a, first, "executed", executed) == 201
    assert post(b, first, "resolved", resolved) == 201
    # The relay down (SIGKILL): edges still take callbacks; they wait in the stream.
    rig.relay.kill()
    for signal in signals[1:]:
        assert post(a, signal.id, "ack", {}) == 201
        assert post(b, signal.id, "executed", executed) == 201
    rig.start_relay()
    path = rig.logs / "feed" / "callbacks.jsonl"
    want = 3 + 2 * 4
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (not path.exists() or len(path.read_text().splitlines()) < want):
        time.sleep(0.1)
    time.sleep(0.5)
    rig.relay.kill()  # and once more: a redelivery after a restart appends nothing twice
    rig.start_relay()
    time.sleep(1.5)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    keys = [(r["subscriber_id"], r["signal_id"], r["callback"]) for r in lines]
    assert len(keys) == want and len(set(keys)) == want
    assert {r["subscriber_id"] for r in lines} == {sub_id}
    assert next(r for r in lines if r["callback"] == "resolved")["body"]["pnl_cents"] == 250


def test_a_replaced_log_stops_the_relay_instead_of_breaking_every_cursor(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    for _ in range(3):
        rig.publish("fx")
    deadline = time.monotonic() + 10
    while _stream_messages(rig.cluster.urls, "TBOT_SIGNALS") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    rig.relay.stop()
    path = rig.logs / "fx" / "signals.jsonl"
    path.rename(path.with_suffix(".old"))  # logs/ wiped: a new, shorter log under the same name
    rig.publish("fx")
    relay = rig.start_relay()
    assert relay.process is not None and relay.process.wait(30) == 2
    assert "was replaced" in relay.output() and "signals.jsonl" in relay.output()
    assert _stream_messages(rig.cluster.urls, "TBOT_SIGNALS") == 3  # nothing relayed under old offsets


def test_through_the_round_robin_proxy_an_edge_lost_costs_a_reconnect(rig_factory: Callable[..., Any]) -> None:
    rig = rig_factory()
    rig.start_relay()
    a, b = rig.start_edge(), rig.start_edge()
    _, alice = rig.subscriber("alice")
    rig.until_authorized(a, alice)
    rig.until_authorized(b, alice)
    listen = free_port()
    proxy = proxy_proc(listen, [a, b], rig.work / "proxy.log").start()
    try:
        wait_port(listen, 15)
        cursor = rig.poll(listen, alice).json()["next_cursor"]
        follower = Follower(rig, [listen], alice, cursor)
        first = [rig.publish("fx").id for _ in range(4)]
        follower.until(first)
        rig.edges[a].kill()
        second = [rig.publish("stocks").id for _ in range(4)]
        follower.until(second)  # each poll is a new connection: the proxy skips the dead edge
        assert follower.ids == first + second
    finally:
        proxy.stop(5)
