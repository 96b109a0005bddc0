"""The durable outbox: enqueue once, deliver in order per signal, back off on failure, survive restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client.feed import FeedUnavailable
from client.outbox import MAX_NOT_FOUND_ATTEMPTS, Outbox
from shared.bus import Durability, JsonlLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _outbox(tmp_path: Path, clock: Clock) -> Outbox:
    return Outbox(JsonlLog(tmp_path / "outbox.jsonl", Durability.FSYNC), tmp_path / "outbox.lock", monotonic=clock)


def test_enqueue_is_idempotent_and_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    box = _outbox(tmp_path, clock)
    assert box.enqueue("ack:S1", "/api/signals/S1/ack", {}, group="S1")
    assert not box.enqueue("ack:S1", "/api/signals/S1/ack", {}, group="S1")
    reopened = _outbox(tmp_path, clock)
    assert [m.key for m in reopened.pending()] == ["ack:S1"]
    assert not reopened.enqueue("ack:S1", "/api/signals/S1/ack", {}, group="S1")


def test_delivery_in_order_per_signal_with_backoff(tmp_path: Path) -> None:
    clock = Clock()
    box = _outbox(tmp_path, clock)
    box.enqueue("ack:S1", "/api/signals/S1/ack", {}, group="S1")
    box.enqueue("executed:S1", "/api/signals/S1/executed", {"quantity": 1}, group="S1")
    box.enqueue("ack:S2", "/api/signals/S2/ack", {}, group="S2")
    sent: list[str] = []
    answers = {"/api/signals/S1/ack": [503, 201], "/api/signals/S2/ack": [201]}

    def post(path: str, body: dict[str, Any]) -> int:
        sent.append(path)
        if answers.get(path):
            return answers[path].pop(0)
        return 201

    report = box.deliver(post)
    # S1's ack failed (503): its executed waits behind it; S2 is independent and goes through.
    assert sent == ["/api/signals/S1/ack", "/api/signals/S2/ack"]
    assert report.delivered == ["ack:S2"]
    box.deliver(post)  # still backing off: nothing sent
    assert len(sent) == 2
    clock.now += 60
    report = box.deliver(post)
    assert report.delivered == ["ack:S1", "executed:S1"]
    assert box.pending() == []
    assert _outbox(tmp_path, clock).pending() == []  # delivery marks are durable too


def test_network_down_stops_the_pass_and_keeps_everything(tmp_path: Path) -> None:
    clock = Clock()
    box = _outbox(tmp_path, clock)
    for n in range(3):
        box.enqueue(f"ack:S{n}", f"/api/signals/S{n}/ack", {}, group=f"S{n}")
    calls = 0

    def down(path: str, body: dict[str, Any]) -> int:
        nonlocal calls
        calls += 1
        raise FeedUnavailable("connection refused")

    report = box.deliver(down)
    assert report.network_down and calls == 1 and len(box.pending()) == 3


def test_permanent_refusals_and_unknown_signals_end_as_dead(tmp_path: Path) -> None:
    clock = Clock()
    box = _outbox(tmp_path, clock)
    box.enqueue("executed:S1", "/api/signals/S1/executed", {"bad": True}, group="S1")
    box.enqueue("ack:S9", "/api/signals/S9/ack", {}, group="S9")
    box.enqueue("commission:C1", "/api/commission", {"id": "C1"}, group="commission:C1")

    def post(path: str, body: dict[str, Any]) -> int:
        return {"/api/signals/S1/executed": 422, "/api/signals/S9/ack": 404, "/api/commission": 409}[path]

    report = box.deliver(post)
    assert sorted(report.dead) == ["commission:C1", "executed:S1"]
    for _ in range(MAX_NOT_FOUND_ATTEMPTS):
        clock.now += 100
        box.deliver(post)
    assert box.state_of("ack:S9") == "dead"
    assert box.pending() == []


def test_a_second_deliverer_does_not_block_when_asked_not_to(tmp_path: Path) -> None:
    clock = Clock()
    box = _outbox(tmp_path, clock)
    other = _outbox(tmp_path, clock)
    box.enqueue("ack:S1", "/api/signals/S1/ack", {}, group="S1")
    seen: list[str] = []

    def post(path: str, body: dict[str, Any]) -> int:
        # While the first process delivers, a second one neither blocks nor sends the same message.
        assert other.deliver(lambda p, b: seen.append(p) or 201, block=False).delivered == []
        return 201

    assert box.deliver(post).delivered == ["ack:S1"]
    assert seen == []
    assert other.pending() == []
