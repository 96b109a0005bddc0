"""ORDER_STYLE=rest_then_take through the real kalshi_st loop on the sim (FleetReplay): resting orders are placed,
watched, filled or cancelled each tick, their signals published once with how they were traded, STOP cancels every
resting order within one tick while settlements go on, and a restart reconciles them by client order id."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from shared.killswitch import halt
from shared.records import Signal
from surfaces.loop_settings import LoopSettings
from surfaces.replay import FleetReplay
from surfaces.resting import parse_style_overrides

SURFACE = "kalshi_st"


def trades(log_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (log_dir / SURFACE / "trades.jsonl").open()]


def latest(log_dir: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for data in trades(log_dir):
        out[data["id"]] = data
    return out


def fleet(log_dir: Path, **overrides: Any) -> FleetReplay:
    return FleetReplay(log_dir, seed=7, surfaces=(SURFACE,),
                       overrides={SURFACE: {"order_style": "rest_then_take", "rest_seconds": 600, **overrides}})


def test_rest_then_take_runs_through_the_loop(log_dir: Path) -> None:
    replay = fleet(log_dir)
    replay.run(40)
    replay.close()
    states = Counter(t["status"] for t in trades(log_dir))
    assert states["resting"] > 0 and states["filled"] > 0
    ends = latest(log_dir)
    rested = [t for t in ends.values() if not t["signal_id"].endswith("#take")]
    assert rested and all(t["status"] in ("resting", "filled", "cancelled", "resolved") for t in rested)
    signals = [Signal.model_validate(json.loads(line)) for line in (log_dir / SURFACE / "signals.jsonl").open()]
    assert signals and all(s.order_style == "rest_then_take" and s.rest_expires_at is not None
                           and s.capacity is not None for s in signals)
    assert len({s.id for s in signals}) == len(signals)  # one signal per plan, at its first fill
    filled_plans = {t["signal_id"].removesuffix("#take") for t in ends.values()
                    if t["status"] in ("filled", "resolved")}
    assert {s.id for s in signals} == filled_plans
    # the venue saw each client order id once
    orders = [json.loads(line) for line in (log_dir / "sim" / SURFACE / "orders.jsonl").open()]
    sent = [o["client_order_id"] for o in orders if o["kind"] == "sim_order"]
    assert len(sent) == len(set(sent))


def test_stop_cancels_every_resting_order_within_one_tick_and_restart_reconciles(log_dir: Path) -> None:
    replay = fleet(log_dir, rest_seconds=3600)  # long enough that orders are still resting when STOP comes
    for _ in range(30):
        replay.tick()
        if any(t["status"] == "resting" for t in latest(log_dir).values()):
            break
    resting = [t for t in latest(log_dir).values() if t["status"] == "resting"]
    assert resting
    halt(log_dir, SURFACE, "test")
    replay.tick()
    ends = latest(log_dir)
    assert not [t for t in ends.values() if t["status"] == "resting"]
    assert all(ends[t["id"]]["status"] in ("cancelled", "filled", "resolved") for t in resting)
    assert any(ends[t["id"]].get("reason") == "halted: STOP" for t in resting)
    replay.close()
    # a restart finds nothing resting: no order is re-sent
    before = (log_dir / "sim" / SURFACE / "orders.jsonl").read_text().count('"kind": "sim_order"')
    again = fleet(log_dir)
    again.close()
    assert (log_dir / "sim" / SURFACE / "orders.jsonl").read_text().count('"kind": "sim_order"') == before


def test_a_restart_cancels_resting_orders_by_default(log_dir: Path) -> None:
    replay = fleet(log_dir, rest_seconds=3600)
    for _ in range(30):
        replay.tick()
        if any(t["status"] == "resting" for t in latest(log_dir).values()):
            break
    replay.close()
    resting = [t for t in latest(log_dir).values() if t["status"] == "resting"]
    assert resting
    restarted = fleet(log_dir, rest_seconds=3600)  # start() reconciles: RESTING_ON_RESTART=cancel
    ends = latest(log_dir)
    assert all(ends[t["id"]]["status"] in ("cancelled", "filled") for t in resting)
    assert any(ends[t["id"]].get("reason") == "reconciled: cancelled at restart" for t in resting)
    restarted.close()


def test_adopt_keeps_watching_resting_orders_after_a_restart(log_dir: Path) -> None:
    replay = fleet(log_dir, rest_seconds=3600)
    for _ in range(30):
        replay.tick()
        if any(t["status"] == "resting" for t in latest(log_dir).values()):
            break
    replay.close()
    resting = {t["id"] for t in latest(log_dir).values() if t["status"] == "resting"}
    restarted = fleet(log_dir, rest_seconds=3600, resting_on_restart="adopt")
    member = restarted.members[SURFACE]
    assert member.loop.resting is not None and resting <= set(member.loop.resting.working)
    restarted.close()


def test_take_is_the_default_and_builds_no_resting_machinery(log_dir: Path) -> None:
    assert LoopSettings().order_style == "take"
    replay = FleetReplay(log_dir, seed=7, surfaces=(SURFACE,))
    assert replay.members[SURFACE].loop.resting is None
    replay.close()


def test_bad_overrides_are_refused() -> None:
    assert parse_style_overrides("weather_high=rest, btc_15m=take") == {"weather_high": "rest", "btc_15m": "take"}
    with pytest.raises(ValueError, match="ORDER_STYLE_OVERRIDES"):
        LoopSettings(order_style_overrides="weather_high=maybe")


def test_paper_on_live_data_keeps_taking(paper_settings: Any) -> None:
    """Paper on live data sees no queue (and its venue refuses GTC): ORDER_STYLE=rest leaves it taking."""
    from shared.clock import SteppedClock
    from shared.venues.factory import build_venue
    from shared.venues.paper import PaperVenue
    from surfaces.kalshi_st import surface as st_surface
    from tests.surfaces.test_paper_on_live import NOW

    settings = paper_settings.model_copy(update={"order_style": "rest"})
    clock = SteppedClock(NOW)
    venue = build_venue("kalshi_st", settings, clock)
    assert isinstance(venue, PaperVenue)
    loop = st_surface.build(settings, venue=venue, wall=clock)
    assert loop.resting is None


@pytest.fixture
def paper_settings(tmp_path: Path) -> Any:
    from tests.surfaces import test_paper_on_live as pol

    with pol._fake_module().serve() as served:
        yield pol.settings.__wrapped__(served, tmp_path)  # type: ignore[attr-defined]


def test_a_tripped_breaker_cancels_every_resting_order_within_one_tick(log_dir: Path) -> None:
    from shared.paths import open_stream
    from shared.records import BreakerEvent

    replay = fleet(log_dir, rest_seconds=3600)
    for _ in range(30):
        replay.tick()
        if any(t["status"] == "resting" for t in latest(log_dir).values()):
            break
    resting = [t for t in latest(log_dir).values() if t["status"] == "resting"]
    assert resting
    events = open_stream(log_dir, SURFACE, "events")
    events.append(BreakerEvent(surface=SURFACE, breaker="daily_loss", action="trip", at=replay.now(SURFACE),
                               reason="test"))
    events.close()
    replay.tick()
    ends = latest(log_dir)
    assert not [t for t in ends.values() if t["status"] == "resting"]
    assert any(ends[t["id"]].get("reason", "").startswith("halted: breaker") for t in resting)
    replay.close()
