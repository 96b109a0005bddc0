"""Paper on live data, shown end to end: the kalshi_st loop trades on a loopback fake of Kalshi for a few ticks.

The fake is built from the recorded, spec-shaped payloads and records every request. The surface is built the way
its PM2 process builds it (``module.build(settings)`` through ``build_venue``), only the weather forecast is a
stub (the live one is Open-Meteo on the network). The test shows: no request is a write or an order/portfolio
path; the fills cross the fake's book with Kalshi's fee per level and never exceed its displayed size; the
resolver (on its own venue object, as another process would build it) settles from the fake's market result and
tags ``kalshi_resolution``; every trade is ``venue=kalshi``, ``mode=paper``, i.e. real-data paper; and the
market recorder wrote the listings, quotes and books the loop saw to ``logs/kalshi_st/market.jsonl``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.audit.provenance import result_kind
from shared.bus import JsonlLog
from shared.clock import SteppedClock
from shared.execution import latest_states, read_trades
from shared.money.fees import kalshi_fee_cents
from shared.paths import open_stream, stream_path
from shared.recorder import RecordingVenue
from shared.venues.factory import build_venue
from shared.venues.paper import PaperVenue
from surfaces.kalshi_st import surface as st_surface
from surfaces.kalshi_st.config import StSettings
from surfaces.resolver.service import Resolver, SurfaceBook

NOW = datetime(2025, 12, 27, 15, 0, tzinfo=UTC)
B31 = "KXHIGHNY-25DEC27-B31.5"
FAKE = Path(__file__).parents[1] / "shared" / "venues" / "kalshi" / "fake_kalshi.py"


def _fake_module() -> ModuleType:
    name = "tbot_test_fake_kalshi"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FAKE)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


class CentralParkAt31:
    """A forecast whose members sit on the 31-32 °F bracket: the strategy wants YES on B31.5 (ask 0.37)."""

    def daily_high_members(self, station: str, day: date) -> list[float]:
        return [31.0, 31.5, 32.0, 31.5, 31.0, 32.0, 31.5] if station == "KNYC" else []


@pytest.fixture
def fake() -> Iterator[tuple[Any, str]]:
    with _fake_module().serve() as served:
        yield served


@pytest.fixture
def settings(fake: tuple[Any, str], tmp_path: Path) -> StSettings:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "kalshi.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    pem.chmod(0o600)
    return StSettings(
        trading_mode="paper", venue="kalshi", kalshi_base_url=fake[1], kalshi_api_key_id="key-1",
        kalshi_private_key_path=pem, kalshi_series=("KXHIGHNY",), st_strategies=("weather_high",),
        log_dir=tmp_path / "logs", signal_key_path=tmp_path / "keys" / "op.pem", tick_seconds=0.01,
    )


def test_kalshi_st_paper_on_live_trades_the_fakes_book_settles_on_its_result_and_sends_nothing(
    fake: tuple[Any, str], settings: StSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = fake
    monkeypatch.setattr(st_surface, "build_forecast", lambda *a, **k: CentralParkAt31())
    clock = SteppedClock(NOW)
    venue = build_venue("kalshi_st", settings, clock)
    assert isinstance(venue, PaperVenue) and isinstance(venue._data, RecordingVenue) and venue.name == "kalshi"
    loop = st_surface.build(settings, venue=venue, wall=clock)
    loop.start()
    for _ in range(4):
        loop.tick()
        clock.advance(timedelta(minutes=5))

    log = JsonlLog(stream_path(settings.log_dir, "kalshi_st", "trades"))
    filled = [t for t in latest_states(read_trades(log)).values() if t.status == "filled"]
    assert filled, "the surface did not trade on the fake's book"
    (trade,) = [t for t in filled if t.instrument == B31]
    # Crossed the real book: YES asks are 0.37 x 45.50 and 0.40 x 15.00; the limit is the quote's 0.37 price.
    assert trade.side == "yes" and trade.fill_price == Decimal("0.37")
    assert trade.count is not None and 0 < trade.count <= 4550  # never beyond the displayed size
    assert trade.fees == kalshi_fee_cents(trade.count, Decimal(37))
    assert (trade.venue, trade.mode, result_kind(trade)) == ("kalshi", "paper", "real_data_paper")

    # The market settles YES at the venue; the resolver, on a venue of its own, books it from that result.
    server.settle(B31, "yes")
    clock.advance(timedelta(days=1))
    resolver_venue = build_venue("kalshi_st", settings, clock)
    trades = open_stream(settings.log_dir, "kalshi_st", "trades")
    resolver = Resolver([SurfaceBook(surface="kalshi_st", venue=resolver_venue, trades=trades,
                                     reader=trades.reader())])
    (resolved,) = [t for t in resolver.tick() if t.instrument == B31]
    assert resolved.resolution_source == "kalshi_resolution" and resolved.status == "resolved"
    assert resolved.pnl == trade.count - (trade.cost_cents or 0) - trade.fees  # $1 a contract, minus cost, fee
    assert result_kind(resolved) == "real_data_paper"
    loop.tick()  # the loop picks the resolution up and goes on

    # Nothing was ever sent: not one write, not one order or portfolio path, on the wire.
    assert server.orders_seen() == []
    assert all(line.startswith("GET /trade-api/v2/") for line in server.seen)
    assert any("/orderbook" in line for line in server.seen) and server.unsigned == []  # the book read is signed

    # The recorder kept what the loop saw.
    records = [json.loads(line) for line in (settings.log_dir / "kalshi_st" / "market.jsonl").read_text()
               .splitlines()]
    kinds = {r["kind"] for r in records}
    assert {"listing", "quote", "book", "result"} <= kinds
    (book,) = [r for r in records if r["kind"] == "book" and r["symbol"] == B31]  # the book the fill crossed
    assert book["asks"] == [["0.3700", 4550], ["0.4000", 1500]] and book["bids"][0] == ["0.3400", 12000]
    assert all(r["venue"] == "kalshi" for r in records)
    quotes = [(r["symbol"], r["bid"], r["ask"], r["bid_size"], r["ask_size"]) for r in records
              if r["kind"] == "quote"]
    assert len(quotes) == len(set(quotes))  # an unchanged quote is not written again
