"""The market-data recorder: what a loop saw lands in logs/<surface>/market.jsonl, compactly, and changes nothing.

A seeded replay is run twice, once on the bare sim venues and once with each venue wrapped in the recorder: the
decision and trade logs are identical (the recorder only observes). The recorded file holds listings, quotes, books
and candles, and no quote or book is written twice in a row unchanged, no candle twice.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import surfaces.replay as replay_module
from shared.clock import SteppedClock
from shared.config import SurfaceSettings
from shared.recorder import RecordingVenue, market_log
from shared.venues.base import Venue
from shared.venues.factory import build_venue, records_market
from surfaces.replay import FleetReplay

SURFACES = ("kalshi_st", "fx")
TICKS = 30


def _run(log_dir: Path, monkeypatch: pytest.MonkeyPatch, record: bool) -> None:
    real = replay_module.build_sim_venue

    def build(surface: str, clock: Any, logs: Path, seed: int, cash: int) -> Venue:
        venue = real(surface, clock, logs, seed, cash)
        return RecordingVenue(venue, market_log(logs, surface)) if record else venue

    with monkeypatch.context() as patch:
        patch.setattr(replay_module, "build_sim_venue", build)
        fleet = FleetReplay(log_dir, surfaces=SURFACES)
        fleet.run(TICKS)
        fleet.close()


# What two seeded runs may differ in: the bus's wall-clock stamp, a decision record's own random id, and a
# signal's signature (each run creates its own operator key).
_UNSEEDED = ("ts", "signature")


def _records(path: Path, unseeded: tuple[str, ...] = _UNSEEDED) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        for name in unseeded:
            record.pop(name, None)
        out.append(record)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    monkeypatch = pytest.MonkeyPatch()
    try:
        bare = tmp_path_factory.mktemp("bare") / "logs"
        recorded = tmp_path_factory.mktemp("recorded") / "logs"
        _run(bare, monkeypatch, record=False)
        _run(recorded, monkeypatch, record=True)
    finally:
        monkeypatch.undo()
    return bare, recorded


@pytest.mark.parametrize("surface", SURFACES)
def test_the_loop_decides_and_trades_identically_with_and_without_the_recorder(
    runs: tuple[Path, Path], surface: str
) -> None:
    bare, recorded = runs
    for stream in ("decisions", "trades", "signals"):
        unseeded = _UNSEEDED + (("id",) if stream == "decisions" else ())
        a = _records(bare / surface / f"{stream}.jsonl", unseeded)
        b = _records(recorded / surface / f"{stream}.jsonl", unseeded)
        assert a == b, f"{surface} {stream} differ with the recorder"
    assert _records(bare / surface / "decisions.jsonl"), f"{surface} decided nothing: the comparison is empty"
    assert not (bare / surface / "market.jsonl").exists()


@pytest.mark.parametrize("surface", SURFACES)
def test_a_recorded_session_holds_listings_quotes_books_and_no_repeats(
    runs: tuple[Path, Path], surface: str
) -> None:
    records = _records(runs[1] / surface / "market.jsonl")
    kinds = Counter(r["kind"] for r in records)
    assert kinds["listing"] and kinds["quote"], kinds
    if surface == "kalshi_st":
        assert kinds["book"] and kinds["result"], kinds  # BTC books; settled markets' results
    else:
        assert kinds["candle"], kinds
    last: dict[tuple[str, str], Any] = {}
    for record in records:
        assert record["venue"] == "sim"
        assert "at" in record or record["kind"] == "candle"  # a candle's time is its start
        if record["kind"] == "quote":
            body = (record["bid"], record["ask"], record["bid_size"], record["ask_size"], record["last"])
        elif record["kind"] == "book":
            body = (record["bids"], record["asks"])
            assert len(record["bids"]) <= 5 and len(record["asks"]) <= 5  # top N only
        else:
            continue
        key = (record["kind"], record["symbol"])
        assert last.get(key) != body, f"unchanged {record['kind']} of {record['symbol']} written again"
        last[key] = body
    candles = [(r["symbol"], r["g"], r["start"]) for r in records if r["kind"] == "candle"]
    assert len(candles) == len(set(candles))
    results = [r["symbol"] for r in records if r["kind"] == "result"]
    assert len(results) == len(set(results))


def test_the_factory_records_live_data_by_default_and_the_sim_only_when_asked(tmp_path: Path) -> None:
    clock = SteppedClock(replay_module.DATA_STARTS["fx"])
    auto = build_venue("fx", SurfaceSettings(log_dir=tmp_path / "auto"), clock)
    on = build_venue("fx", SurfaceSettings(log_dir=tmp_path / "on", market_record="on"), clock)
    off = build_venue("fx", SurfaceSettings(log_dir=tmp_path / "off", market_record="off"), clock)
    # The sim's market is a function of data/, the seed and the clock: "auto" does not record it.
    assert not isinstance(auto, RecordingVenue) and not isinstance(off, RecordingVenue)
    assert isinstance(on, RecordingVenue) and on.name == "sim"
    symbol = on.instruments()[0].symbol
    on.quote(symbol)
    on.quote(symbol)  # unchanged: not written again
    lines = [json.loads(line) for line in (tmp_path / "on" / "fx" / "market.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in lines].count("quote") == 1
    assert not (tmp_path / "off" / "fx" / "market.jsonl").exists()
    live = SurfaceSettings(log_dir=tmp_path, trading_mode="live", venue="oanda", oanda_api_token="t",
                           oanda_account_id="101-001-1-001")
    assert records_market(live) and not records_market(live.model_copy(update={"market_record": "off"}))
