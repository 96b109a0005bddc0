"""The run loop's cursor discipline: a client with no saved cursor anchors "now" before it handles anything, so a
crash inside its first batch re-reads that batch (and what was published while it was down) instead of skipping it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from client.brokers import PaperBroker
from client.engine import Follower, Outcome
from client.feed import FeedApi
from client.runner import Runner
from client.store import CursorStore, StatePaths
from shared.bus import Durability, JsonlLog
from shared.records import Signal
from shared.signing import load_public_key


class Crash(BaseException):
    """Stands in for SIGKILL inside one process: nothing after it runs, no handler catches it."""


def paper(config: Any) -> PaperBroker:
    StatePaths(config.state_dir).ensure()
    return PaperBroker(JsonlLog(config.state_dir / "paper_orders.jsonl", Durability.FSYNC), config.broker)


def orders(config: Any) -> list[dict[str, Any]]:
    return [e.data for e in StatePaths(config.state_dir).log("orders").read_all()]


class FakeFeed:
    """The feed's cursor rule over a list: a cursor is an index; no cursor means the tail ("now")."""

    def __init__(self, *, deliver_on_anchor: bool = False) -> None:
        self.log: list[dict[str, Any]] = []
        self.polls: list[tuple[str | None, str]] = []
        self.arrive_on_next_wait: list[dict[str, Any]] = []
        self.deliver_on_anchor = deliver_on_anchor

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/signals/feed":
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        cursor = request.url.params.get("cursor")
        wait = request.url.params.get("wait", "0")
        self.polls.append((cursor, wait))
        if wait != "0" and self.arrive_on_next_wait:
            # Signals published while the poll is held: the long-poll answers with them.
            self.log.extend(self.arrive_on_next_wait)
            self.arrive_on_next_wait = []
        if cursor is None and not self.deliver_on_anchor:
            start = len(self.log)
        else:
            start = int(cursor) if cursor is not None else max(0, len(self.log) - 1)
        return httpx.Response(200, json={"signals": self.log[start:], "next_cursor": str(len(self.log))})


def runner(config: Any, feed: FakeFeed, emit: Any = None) -> Runner:
    key = load_public_key(config.public_key_path.read_text())
    follower = Follower(config, paper(config), key)
    api = FeedApi(config.feed.url, "sub-token-123", transport=httpx.MockTransport(feed.handler))
    return Runner(follower, api, emit=emit or (lambda outcome: None), status=lambda text: None,
                  sleep=lambda seconds: None)


def crash_after_first(outcome: Outcome) -> None:
    raise Crash


def wire(signal: Signal) -> dict[str, Any]:
    return signal.to_json_dict()


def test_a_crash_inside_the_first_batch_skips_nothing(make_config, make_signal) -> None:
    config = make_config()
    feed = FakeFeed()
    a, b, c = (make_signal(instrument=f"KX-FIRST-{n}") for n in range(3))
    feed.arrive_on_next_wait = [wire(a), wire(b), wire(c)]

    first = runner(config, feed, emit=crash_after_first)
    first.start()
    with pytest.raises(Crash):
        first.step()  # killed while handling the first signal of its first batch
    assert feed.polls[0] == (None, "0"), "the first request asks for now without waiting"
    assert CursorStore(StatePaths(config.state_dir).cursor).load() == "0", "the anchor was saved first"

    late = make_signal(instrument="KX-WHILE-DOWN")
    feed.log.append(wire(late))  # published while the client was dead

    seen: list[Outcome] = []
    second = runner(config, feed, emit=seen.append)
    second.run(max_batches=1)
    verdicts = {o.signal_id: o.verdict for o in seen}
    assert verdicts[a.id] in ("traded", "duplicate")
    assert verdicts[b.id] == verdicts[c.id] == verdicts[late.id] == "traded"
    filled = [o["signal_id"] for o in orders(config) if o["status"] == "filled"]
    assert sorted(filled) == sorted(s.id for s in (a, b, c, late)), "each traded once"
    assert CursorStore(StatePaths(config.state_dir).cursor).load() == "4"


def test_signals_on_a_cursorless_poll_are_kept_until_handled(make_config, make_signal) -> None:
    """A feed that (unlike tbot's) answers the anchor poll with signals: they are journalled before the cursor."""
    config = make_config()
    feed = FakeFeed(deliver_on_anchor=True)
    a = make_signal(instrument="KX-ANCHORED")
    feed.log.append(wire(a))

    first = runner(config, feed, emit=crash_after_first)
    first.start()
    with pytest.raises(Crash):
        first.step()
    pending = json.loads(StatePaths(config.state_dir).pending_batch.read_text())
    assert [s["id"] for s in pending["signals"]] == [a.id]

    seen: list[Outcome] = []
    second = runner(config, feed, emit=seen.append)
    second.start()  # the journalled batch is finished before the first poll
    assert [o.verdict for o in seen if o.signal_id == a.id] == ["duplicate"]  # handled before the crash
    assert [o["signal_id"] for o in orders(config) if o["status"] == "filled"] == [a.id]
    assert not StatePaths(config.state_dir).pending_batch.exists()


def test_run_counts_skips_by_reason_and_flattens_on_request(make_config, make_signal) -> None:
    config = make_config(control={"max_open_positions": 1})
    feed = FakeFeed()
    statuses: list[str] = []
    held, refused = make_signal(instrument="KX-HELD"), make_signal(instrument="KX-REFUSED")
    feed.arrive_on_next_wait = [wire(held), wire(refused)]
    loop = runner(config, feed)
    loop.status = statuses.append
    loop.run(max_batches=1)
    assert dict(loop.stats.skipped) == {"max_open_positions": 1}
    assert "not traded this session: 1 max_open_positions" in statuses
    assert list(loop.follower.ledger.positions) == [held.id]

    from client.control import ControlLog
    from shared.timeutil import utcnow

    ControlLog(config.state_dir).request_flatten(utcnow(), "from another terminal")
    seen: list[Outcome] = []
    loop._emit = seen.append
    loop.step()  # the next turn picks the request up
    assert [o.verdict for o in seen] == ["closed"]
    assert loop.follower.ledger.positions == {}
