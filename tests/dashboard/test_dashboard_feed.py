"""The signal index and the long-poll hub: order, limits, filters, expiry, cursors that never skip or repeat."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.cursor import CursorError, decode_cursor, encode_cursor
from dashboard.feed import SURFACE_INDEX, FeedHub, SignalIndex
from dashboard.state import DashboardState
from shared.paths import open_stream
from shared.records import SURFACES
from shared.timeutil import utcnow


def ids_of(body: bytes) -> list[str]:
    return [s["id"] for s in json.loads(body)["signals"]]


def state_for(tools: Any) -> DashboardState:
    return DashboardState(tools.settings)


@given(st.lists(st.integers(min_value=0, max_value=2**53), min_size=4, max_size=4), st.sampled_from("fh"))
def test_cursor_round_trip(offsets: list[int], kind: str) -> None:
    assert decode_cursor(encode_cursor(tuple(offsets), kind), kind) == tuple(offsets)


@pytest.mark.parametrize(
    "bad", ["", "x", "!!!!", encode_cursor((1, 2, 3)), encode_cursor((1, 2, 3, 4), "h"), "MWY6LTEuMC4wLjA", "a" * 300]
)
def test_cursor_rejects_foreign_values(bad: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(bad)


def test_collect_returns_signals_in_arrival_order_with_limit(tools: Any) -> None:
    published = [tools.publish(tools.signal(s)) for s in ("fx", "kalshi_st", "fx", "stocks", "kalshi_lt")]
    state = state_for(tools)
    start = (0, 0, 0, 0)
    first = state.index.collect(start, None, None, 2)
    assert ids_of(first.body) == [s.id for s in published[:2]]
    second = state.index.collect(first.cursor, None, None, 10)
    assert ids_of(second.body) == [s.id for s in published[2:]]
    third = state.index.collect(second.cursor, None, None, 10)
    assert third.delivered == 0 and third.cursor == second.cursor


def test_filters_by_surface_and_sub_strategy(tools: Any) -> None:
    a = tools.publish(tools.signal("fx", sub_strategy="atr"))
    tools.publish(tools.signal("fx", sub_strategy="carry"))
    b = tools.publish(tools.signal("stocks", sub_strategy="atr"))
    state = state_for(tools)
    assert ids_of(state.index.collect((0, 0, 0, 0), None, "atr", 10).body) == [a.id, b.id]
    only_fx = state.index.collect((0, 0, 0, 0), SURFACE_INDEX["fx"], None, 10)
    assert len(ids_of(only_fx.body)) == 2
    # The other surfaces' positions stay where they were: a later unfiltered poll still gets the stock signal.
    rest = state.index.collect(only_fx.cursor, None, None, 10)
    assert ids_of(rest.body) == [b.id]


def test_expired_signals_are_consumed_but_never_delivered(tools: Any) -> None:
    stale = tools.publish(tools.signal("fx", published=utcnow() - timedelta(seconds=700)))
    fresh = tools.publish(tools.signal("fx"))
    state = state_for(tools)
    batch = state.index.collect((0, 0, 0, 0), None, None, 10)
    assert ids_of(batch.body) == [fresh.id]
    assert stale.id in state.index.refs  # still known for callbacks and history


def test_pruned_signals_move_the_base_and_old_cursors_skip_only_expired_ones(tools: Any) -> None:
    old = tools.publish(tools.signal("fx", published=utcnow() - timedelta(hours=3)))
    fresh = tools.publish(tools.signal("fx"))
    state = state_for(tools)
    fx = SURFACE_INDEX["fx"]
    assert state.index.base[fx] > 0  # the three-hour-old signal left memory
    assert old.id in state.index.refs
    assert ids_of(state.index.collect((0, 0, 0, 0), None, None, 10).body) == [fresh.id]
    assert [s.id for s in state.index.recent(10)] == [fresh.id, old.id]  # the operator still sees it


def test_no_cursor_starts_at_now(tools: Any) -> None:
    tools.publish(tools.signal("fx"))
    state = state_for(tools)
    batch = state.index.collect(state.index.now_cursor(), None, None, 10)
    assert batch.delivered == 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(
        st.tuples(st.sampled_from(SURFACES), st.integers(min_value=0, max_value=3), st.integers(1, 4)),
        min_size=1,
        max_size=12,
    ),
    restart_every=st.integers(min_value=1, max_value=4),
)
def test_cursors_never_skip_or_repeat_across_appends_and_restarts(
    tools: Any, tmp_path_factory: pytest.TempPathFactory, plan: list[tuple[str, int, int]], restart_every: int
) -> None:
    """Interleave appends to every surface with polls of random limits, rebuilding the index (a restart) now and
    then: the concatenation of all batches is exactly the published signals, each once, in per-surface order."""
    log_dir = tmp_path_factory.mktemp("feed")
    settings_ = tools.settings_with(log_dir=log_dir, signal_key_path=log_dir / "k.pem")
    state = DashboardState(settings_)
    published: list[str] = []
    received: list[str] = []
    cursor = state.index.now_cursor()
    for step, (surface, appends, limit) in enumerate(plan):
        for _ in range(appends):
            sig = tools.signal(surface, key_path=log_dir / "k.pem")  # this state's key: it serves only those
            published.append(sig.id)
            open_stream(log_dir, surface, "signals").append(sig)
        if step % restart_every == 0:
            state = DashboardState(settings_)  # a restart: the same cursor keeps working
        else:
            state.refresh()
        batch = state.index.collect(cursor, None, None, limit)
        received.extend(ids_of(batch.body))
        cursor = batch.cursor
    state.refresh()
    while True:
        batch = state.index.collect(cursor, None, None, 3)
        if not batch.delivered:
            break
        received.extend(ids_of(batch.body))
        cursor = batch.cursor
    assert sorted(received) == sorted(published)
    assert len(received) == len(set(received))
    for surface in SURFACES:
        mine = [i for i in published if state.index.refs[i].surface == surface]
        assert [i for i in received if i in set(mine)] == mine


def test_hub_groups_identical_waiters_and_builds_once(tools: Any) -> None:
    state = state_for(tools)
    index: SignalIndex = state.index
    hub: FeedHub = state.hub
    builds = 0
    real_collect = index.collect

    def counting_collect(*args: Any) -> Any:
        nonlocal builds
        builds += 1
        return real_collect(*args)

    async def scenario() -> list[Any]:
        index.collect = counting_collect  # type: ignore[method-assign]
        waiters = [asyncio.create_task(hub.poll(None, None, None, 10, 5.0, f"s{i}")) for i in range(50)]
        await asyncio.sleep(0.05)
        assert hub.held == 50
        before = builds
        tools.publish(tools.signal("fx"))
        state.refresh()
        results = await asyncio.gather(*waiters)
        assert builds - before == 1  # one build for fifty identical waiters
        return results

    results = asyncio.run(scenario())
    assert len({id(r.body) for r in results}) == 1  # the very same bytes object for everyone
    assert hub.held == 0


def test_hub_times_out_with_an_empty_batch_and_drops_revoked(tools: Any) -> None:
    state = state_for(tools)

    async def scenario() -> tuple[Any, Any]:
        timed = await state.hub.poll(None, None, None, 10, 0.05, "a")
        task = asyncio.create_task(state.hub.poll(None, None, None, 10, 5.0, "revoked"))
        await asyncio.sleep(0.02)
        assert state.hub.drop_subscriber("revoked") == 1
        return timed, await task

    timed, revoked = asyncio.run(scenario())
    assert timed is not None and timed.delivered == 0
    assert revoked is None
    assert state.hub.held == 0


def test_invalid_signal_lines_are_skipped_and_counted(tools: Any) -> None:
    open_stream(tools.log_dir, "fx", "signals").append({"kind": "signal", "id": "broken", "surface": "fx"})
    good = tools.publish(tools.signal("fx"))
    path = Path(tools.log_dir) / "fx" / "signals.jsonl"
    with open(path, "ab") as handle:
        handle.write(b"not json at all\n")
    state = state_for(tools)
    assert state.index.invalid_records == 1
    assert ids_of(state.index.collect((0, 0, 0, 0), None, None, 10).body) == [good.id]


def test_a_cursor_beyond_a_replaced_log_starts_that_surface_over(tools: Any) -> None:
    fresh = tools.publish(tools.signal("fx"))
    state = state_for(tools)
    fx = SURFACE_INDEX["fx"]
    stale_cursor = tuple(10**9 if i == fx else 0 for i in range(len(SURFACES)))
    batch = state.index.collect(stale_cursor, None, None, 10)
    assert ids_of(batch.body) == [fresh.id]
    assert batch.cursor[fx] == state.index.tail[fx]
