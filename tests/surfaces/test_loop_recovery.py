"""The loop under venue trouble and under the kill switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.bus import JsonlLog
from shared.execution import latest_states, read_trades
from shared.killswitch import halt, resume
from shared.paths import stream_path
from shared.venues.base import OrderRequest, OrderResult, VenueError
from surfaces.replay import FleetReplay


def trades(log_dir: Path, surface: str) -> dict[str, Any]:
    return latest_states(read_trades(JsonlLog(stream_path(log_dir, surface, "trades"))))


def test_a_send_timeout_with_the_venue_unreachable_is_settled_on_a_later_tick(tmp_path: Path) -> None:
    replay = FleetReplay(tmp_path / "logs", surfaces=("fx",))
    member = replay.members["fx"]
    venue = member.venue
    real_place, real_lookup = venue.place_order, venue.order_by_client_id
    trouble = {"place": 1, "lookup": 1}

    def place(request: OrderRequest) -> OrderResult:
        result = real_place(request)  # the venue took the order ...
        if trouble["place"]:
            trouble["place"] -= 1
            raise VenueError("sim", "timed out after the send", retryable=True)  # ... but the answer was lost
        return result

    def lookup(client_order_id: str) -> OrderResult | None:
        if trouble["lookup"]:
            trouble["lookup"] -= 1
            raise VenueError("sim", "venue unreachable", retryable=True)
        return real_lookup(client_order_id)

    venue.place_order = place  # type: ignore[method-assign]
    venue.order_by_client_id = lookup  # type: ignore[method-assign]
    for _ in range(40):
        replay.tick()
        if trouble["place"] == 0 and not member.loop._unsettled:
            break
    assert trouble == {"place": 0, "lookup": 0}
    assert not member.loop._unsettled
    latest = trades(replay.log_dir, "fx")
    first = min(latest.values(), key=lambda t: t.ts)
    assert first.status in ("filled", "resolved")  # found at the venue, recorded once, never sent twice
    assert real_lookup(first.client_order_id) is not None
    signals = JsonlLog(stream_path(replay.log_dir, "fx", "signals")).read_all()
    assert first.signal_id in {e.data["id"] for e in signals}
    replay.close()


def test_stop_file_halts_new_orders_on_its_surface_within_a_tick_while_others_trade(tmp_path: Path) -> None:
    replay = FleetReplay(tmp_path / "logs", surfaces=("kalshi_st", "fx"))

    def open_btc() -> set[str]:
        return {t.id for t in trades(replay.log_dir, "kalshi_st").values()
                if t.status == "filled" and t.instrument.startswith("KXBTC15M")}

    for _ in range(40):  # until a 15-minute position is open: it settles within the halted stretch
        replay.tick()
        if open_btc():
            break
    open_before = open_btc()
    assert open_before
    halt(replay.log_dir, "kalshi_st", "test")
    before = {s: set(trades(replay.log_dir, s)) for s in ("kalshi_st", "fx")}
    replay.run(25)
    after = {s: set(trades(replay.log_dir, s)) for s in ("kalshi_st", "fx")}
    assert after["kalshi_st"] == before["kalshi_st"]  # not one new order on the halted surface
    assert after["fx"] - before["fx"]  # the other surface kept trading
    resolved = {t.id for t in trades(replay.log_dir, "kalshi_st").values() if t.status == "resolved"}
    assert open_before & resolved  # exits and settlements go on under STOP
    decisions = JsonlLog(stream_path(replay.log_dir, "kalshi_st", "decisions")).read_all()
    assert decisions[-1].data["stopped_by"] == "stop_file"
    resume(replay.log_dir, "kalshi_st")
    replay.run(6)
    assert set(trades(replay.log_dir, "kalshi_st")) - after["kalshi_st"]  # trading again after resume
    replay.close()
