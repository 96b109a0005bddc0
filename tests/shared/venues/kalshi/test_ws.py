"""Kalshi's WebSocket books against a loopback fake that speaks the documented messages.

Each scenario ends with the stream's book identical, level for level, to the fake's true book; while a book is out
of sync (a gap, a duplicate, a reordered message, a dropped connection, a refused handshake) the venue answers from
the REST order book, which a loopback REST fake serves from the same truth. No log line carries a secret.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.clock import SteppedClock
from shared.config import SurfaceSettings
from shared.http import RetryPolicy
from shared.venues.base import AuthError
from shared.venues.kalshi.book import BookInconsistent, LocalBook
from shared.venues.kalshi.config import ws_url_for
from shared.venues.kalshi.execution import KalshiVenue

HERE = Path(__file__).parent
NOW = datetime(2025, 12, 27, 15, 0, tzinfo=UTC)
B31 = "KXHIGHNY-25DEC27-B31.5"
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
YES = {"0.3200": "50.00", "0.3300": "10.00", "0.3400": "120.00"}  # the recorded payloads/orderbook.json
NO = {"0.6000": "15.00", "0.6300": "45.50"}


def _module(name: str, file: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / file)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


rest_fake = _module("tbot_test_fake_kalshi", "fake_kalshi.py")
ws_fake = _module("tbot_test_fake_kalshi_ws", "fake_kalshi_ws.py")


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return check()


@pytest.fixture
def fakes(rsa_key: rsa.RSAPrivateKey) -> Iterator[tuple[Any, Any, str, str]]:
    """(REST fake, WS fake, REST base URL, WS URL), one true book for both."""
    with rest_fake.serve() as (rest, base_url):
        fake = ws_fake.FakeKalshiWs(rsa_key.public_key(), rest)
        with ws_fake.serve_ws(fake) as (ws, ws_url):
            ws.load(B31, YES, NO)
            yield rest, ws, base_url, ws_url


@pytest.fixture
def make(fakes: tuple[Any, Any, str, str], key_path: Path) -> Iterator[Callable[..., KalshiVenue]]:
    _, _, base_url, ws_url = fakes
    built: list[KalshiVenue] = []

    def build(mode: str = "live", **extra: Any) -> KalshiVenue:
        settings = SurfaceSettings(
            trading_mode=mode, venue="kalshi", kalshi_base_url=base_url, kalshi_api_key_id=KEY_ID,
            kalshi_private_key_path=key_path, kalshi_ws="on", kalshi_ws_url=ws_url, **extra,
        )
        venue = KalshiVenue.from_settings(settings, SteppedClock(NOW))
        built.append(venue)
        return venue

    yield build
    for venue in built:
        venue.close()


def live_equals_truth(venue: KalshiVenue, ws: Any, symbol: str = B31) -> bool:
    assert venue.stream is not None
    return venue.stream.levels(symbol) == ws.levels(symbol)


def slow_backoff(venue: KalshiVenue) -> None:
    """Resubscribe and reconnect after 0.5-1 s, so a test sees the out-of-sync window for certain."""
    assert venue.stream is not None
    venue.stream.config = dataclasses.replace(venue.stream.config, backoff=RetryPolicy(base_delay_s=1.0))


def start_live(venue: KalshiVenue, ws: Any, symbol: str = B31) -> None:
    venue.orderbook(symbol)  # the first read comes from REST and starts tracking the market
    assert venue.stream is not None and venue.stream.wait_live(symbol, 10)
    assert live_equals_truth(venue, ws, symbol)


def rest_reads(rest: Any) -> int:
    return sum(1 for line in rest.seen if line.startswith("GET") and "/orderbook" in line)


# ---- the local book ----------------------------------------------------------------------------------------------


def test_local_book_applies_deltas_and_refuses_a_negative_level() -> None:
    book = LocalBook(B31)
    book.replace([(Decimal("0.32"), 5000), (Decimal("0.34"), 12000)], [(Decimal("0.60"), 1500)])
    book.apply("yes", Decimal("0.34"), -12000)
    book.apply("no", Decimal("0.61"), 700)
    assert book.levels() == (((Decimal("0.32"), 5000),), ((Decimal("0.61"), 700), (Decimal("0.60"), 1500)))
    ob = book.orderbook(NOW, depth=1)
    assert ob.bids[0].price == Decimal("0.32") and ob.asks[0].price == Decimal("0.39") and len(ob.asks) == 1
    quote = book.quote(NOW, None)
    assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (Decimal("0.32"), Decimal("0.39"), 5000, 700)
    with pytest.raises(BookInconsistent):
        book.apply("yes", Decimal("0.32"), -5001)


def test_ws_url_follows_the_rest_host() -> None:
    assert ws_url_for("https://demo-api.kalshi.co/trade-api/v2") == "wss://demo-api.kalshi.co/trade-api/ws/v2"
    assert ws_url_for("https://api.elections.kalshi.com/trade-api/v2/") == (
        "wss://api.elections.kalshi.com/trade-api/ws/v2")
    assert ws_url_for("http://127.0.0.1:8123/trade-api/v2") == "ws://127.0.0.1:8123/trade-api/ws/v2"


# ---- the stream against the fake ------------------------------------------------------------------------------------


def test_off_by_default_builds_no_stream(settings: SurfaceSettings) -> None:
    assert settings.kalshi_ws == "off"
    assert KalshiVenue.from_settings(settings).stream is None


def test_signed_handshake_snapshot_then_deltas_keep_the_book_identical(make: Callable[..., KalshiVenue],
                                                                       fakes: tuple[Any, Any, str, str]) -> None:
    rest, ws, _, _ = fakes
    venue = make()
    start_live(venue, ws)
    assert ws.refused == 0 and ws.handshakes == 1 and ws.signatures  # the fake verified the RSA-PSS signature
    reads = rest_reads(rest)
    changes = [("yes", "0.3400", -2000), ("yes", "0.3500", 700), ("no", "0.6300", -4550), ("no", "0.6100", 300),
               ("yes", "0.3200", -5000), ("yes", "0.3500", 100), ("no", "0.6000", 250)]
    for side, price, delta in changes:
        ws.change(B31, side, price, delta)
        assert eventually(lambda: live_equals_truth(venue, ws)), (side, price, delta)
    book = venue.orderbook(B31, depth=10)
    assert [(lv.price, lv.size) for lv in book.bids] == [(Decimal("0.3500"), 800), (Decimal("0.3400"), 10000),
                                                          (Decimal("0.3300"), 1000)]
    assert [(lv.price, lv.size) for lv in book.asks] == [(Decimal("0.3900"), 300), (Decimal("0.4000"), 1750)]
    assert rest_reads(rest) == reads  # live reads never touch REST
    assert venue.stream is not None and venue.stream.stats.gaps == venue.stream.stats.duplicates == 0


def test_gap_resubscribes_and_reads_rest_meanwhile(make: Callable[..., KalshiVenue],
                                                   fakes: tuple[Any, Any, str, str]) -> None:
    rest, ws, _, _ = fakes
    venue = make()
    start_live(venue, ws)
    slow_backoff(venue)
    ws.gap_next(B31)
    ws.change(B31, "yes", "0.3300", 500)  # lost on the way: the stream cannot know yet
    ws.change(B31, "no", "0.6300", -550)  # its seq reveals the gap
    stream = venue.stream
    assert stream is not None
    assert eventually(lambda: stream.stats.gaps == 1)
    reads = rest_reads(rest)
    assert stream.levels(B31) is None  # resyncing: the loop's read is REST's book, the truth
    book = venue.orderbook(B31)
    assert rest_reads(rest) == reads + 1
    assert [(lv.price, lv.size) for lv in book.bids] == [(Decimal("0.3400"), 12000), (Decimal("0.3300"), 1500),
                                                         (Decimal("0.3200"), 5000)]
    assert eventually(lambda: live_equals_truth(venue, ws))
    assert stream.stats.resubscribes >= 1 and stream.stats.snapshots >= 2
    ws.change(B31, "yes", "0.3100", 100)
    assert eventually(lambda: live_equals_truth(venue, ws))


def test_duplicate_and_reordered_seq_resync(make: Callable[..., KalshiVenue],
                                            fakes: tuple[Any, Any, str, str]) -> None:
    _, ws, _, _ = fakes
    venue = make()
    start_live(venue, ws)
    stream = venue.stream
    assert stream is not None
    ws.duplicate_next(B31)
    ws.change(B31, "yes", "0.3300", 500)  # applied twice it would read 20.00, not 15.00
    assert eventually(lambda: stream.stats.duplicates == 1)
    assert eventually(lambda: live_equals_truth(venue, ws))
    ws.reorder_next(B31)
    ws.change(B31, "yes", "0.3000", 100)
    ws.change(B31, "yes", "0.3000", 200)
    assert eventually(lambda: stream.stats.gaps == 1)
    assert eventually(lambda: live_equals_truth(venue, ws))
    assert stream.levels(B31) is not None and dict(stream.levels(B31)[0])[Decimal("0.3000")] == 300  # type: ignore[index]


def test_dropped_connection_falls_back_to_rest_then_reconnects(make: Callable[..., KalshiVenue],
                                                               fakes: tuple[Any, Any, str, str]) -> None:
    rest, ws, _, _ = fakes
    venue = make()
    start_live(venue, ws)
    slow_backoff(venue)
    stream = venue.stream
    assert stream is not None
    ws.drop()
    assert eventually(lambda: stream.stats.drops == 1)
    ws.change(B31, "yes", "0.3600", 900)  # changes while the stream is away
    reads = rest_reads(rest)
    assert stream.levels(B31) is None and not stream.connected
    book = venue.orderbook(B31)
    assert rest_reads(rest) == reads + 1
    assert book.bids[0].price == Decimal("0.3600")
    assert eventually(lambda: live_equals_truth(venue, ws))
    assert stream.stats.connects == 2 and ws.handshakes == 2
    ws.change(B31, "no", "0.6300", -4550)
    assert eventually(lambda: live_equals_truth(venue, ws))


def test_rest_while_the_socket_is_down(make: Callable[..., KalshiVenue], fakes: tuple[Any, Any, str, str],
                                       key_path: Path) -> None:
    rest, ws, base_url, _ = fakes
    settings = SurfaceSettings(
        trading_mode="live", venue="kalshi", kalshi_base_url=base_url, kalshi_api_key_id=KEY_ID,
        kalshi_private_key_path=key_path, kalshi_ws="on", kalshi_ws_url="ws://127.0.0.1:9/trade-api/ws/v2",
    )
    venue = KalshiVenue.from_settings(settings, SteppedClock(NOW))  # nothing listens on port 9
    try:
        ws.change(B31, "yes", "0.3700", 100)
        for _ in range(3):
            assert venue.orderbook(B31).bids[0].price == Decimal("0.3700")
        assert venue.quote(B31).symbol == B31
        assert venue.stream is not None and not venue.stream.connected and venue.stream.error is None
        assert rest_reads(rest) == 3
    finally:
        venue.close()


def test_auth_refusal_is_an_error_not_a_retry_loop(make: Callable[..., KalshiVenue],
                                                   fakes: tuple[Any, Any, str, str],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    rest, ws, _, _ = fakes
    ws.refuse_auth = True
    with caplog.at_level(logging.DEBUG):
        venue = make()
        stream = venue.stream
        assert stream is not None
        assert eventually(lambda: stream.error is not None)
        time.sleep(1.0)  # long enough for several reconnects if it were retrying
    assert isinstance(stream.error, AuthError) and "HTTP 401" in str(stream.error)
    assert ws.handshakes == 1 and ws.refused == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refused" in errors[0] and "not retrying" in errors[0]
    assert venue.orderbook(B31).bids[0].price == Decimal("0.3400")  # REST answers
    assert rest_reads(rest) == 1 and ws.handshakes == 1


def test_error_code_9_stops_the_stream(make: Callable[..., KalshiVenue], fakes: tuple[Any, Any, str, str]) -> None:
    _, ws, _, _ = fakes
    venue = make()
    start_live(venue, ws)
    ws.error(9, "Authentication required")
    stream = venue.stream
    assert stream is not None
    assert eventually(lambda: stream.error is not None)
    assert stream.levels(B31) is None
    time.sleep(0.6)
    assert ws.handshakes == 1


def test_quote_from_the_live_book_and_ticker(make: Callable[..., KalshiVenue],
                                             fakes: tuple[Any, Any, str, str]) -> None:
    rest, ws, _, _ = fakes
    venue = make()
    start_live(venue, ws)
    stream = venue.stream
    assert stream is not None
    assert eventually(lambda: stream.quote(B31, NOW) is not None)  # the ticker's initial snapshot arrived
    quote = venue.quote(B31)
    assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size, quote.last) == (
        Decimal("0.3400"), Decimal("0.3700"), 12000, 4550, None)
    ws.ticker(B31, "0.3300")
    assert eventually(lambda: venue.quote(B31).last == Decimal("0.3300"))
    assert f"GET /trade-api/v2/markets/{B31}" not in rest.seen  # no REST quote was needed


def test_private_channels_live_only_parsed_into_fills_and_order_updates(
    make: Callable[..., KalshiVenue], fakes: tuple[Any, Any, str, str], rsa_key: rsa.RSAPrivateKey
) -> None:
    _, ws, _, _ = fakes
    paper = make(mode="paper")
    start_live(paper, ws)
    assert not any("fill" in c.get("params", {}).get("channels", []) for c in ws.commands)
    paper.close()
    venue = make()
    start_live(venue, ws)
    assert any(c.get("params", {}).get("channels") == ["fill", "user_orders"] for c in ws.commands)
    ws.private("fill", {
        "trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed", "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa",
        "client_order_id": "tbot-1", "market_ticker": B31, "exchange_index": 2, "is_taker": True, "side": "no",
        "yes_price_dollars": "0.3500", "count_fp": "2.50", "fee_cost": "0.010100", "action": "buy",
        "outcome_side": "no", "book_side": "ask", "ts": 1766847600, "ts_ms": 1766847600000,
        "post_position_fp": "-2.50", "purchased_side": "no"})
    ws.private("user_order", {
        "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa", "user_id": "u", "ticker": B31, "exchange_index": 2,
        "status": "resting", "side": "yes", "is_yes": True, "outcome_side": "yes", "book_side": "bid",
        "yes_price_dollars": "0.3500", "fill_count_fp": "4.00", "remaining_count_fp": "6.00",
        "initial_count_fp": "10.00", "taker_fill_cost_dollars": "0.000000", "maker_fill_cost_dollars": "1.400000",
        "taker_fees_dollars": "0.000000", "maker_fees_dollars": "0.020000", "client_order_id": "tbot-2",
        "created_time": "2025-12-27T15:00:00Z", "created_ts_ms": 1766847600000})
    stream = venue.stream
    assert stream is not None
    fills: list[Any] = []
    orders: list[Any] = []
    assert eventually(lambda: bool(fills.extend(stream.fills()) or fills))
    assert eventually(lambda: bool(orders.extend(stream.order_updates()) or orders))
    fill = fills[0]
    assert (fill.symbol, fill.side, fill.intent, fill.quantity, fill.price, fill.fees_cents, fill.client_order_id) == (
        B31, "no", "open", 250, Decimal("0.6500"), 2, "tbot-1")
    assert fill.at == datetime(2025, 12, 27, 15, 0, tzinfo=UTC)
    order = orders[0]
    assert (order.client_order_id, order.status, order.filled_quantity, order.avg_fill_price, order.fees_cents) == (
        "tbot-2", "partially_filled", 400, Decimal("0.3500"), 2)


def test_no_secret_in_any_log_line(make: Callable[..., KalshiVenue], fakes: tuple[Any, Any, str, str],
                                   key_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _, ws, _, _ = fakes
    with caplog.at_level(logging.DEBUG):
        venue = make()
        start_live(venue, ws)
        ws.gap_next(B31)
        ws.change(B31, "yes", "0.3300", 500)
        ws.change(B31, "yes", "0.3300", 500)
        assert eventually(lambda: live_equals_truth(venue, ws))
        ws.drop()
        assert eventually(lambda: venue.stream is not None and venue.stream.stats.connects == 2)
        assert eventually(lambda: live_equals_truth(venue, ws))
        venue.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "reconnecting" in text and "out of sync" in text  # the scenario did log
    pem = key_path.read_text()
    secrets = [KEY_ID, *ws.signatures, *pem.splitlines()[1:-1]]
    assert len(ws.signatures) == 2
    for secret in secrets:
        assert secret not in text


def test_one_feed_per_book_when_a_connect_and_a_read_race(make: Callable[..., KalshiVenue],
                                                          fakes: tuple[Any, Any, str, str]) -> None:
    _, ws, _, _ = fakes
    venue = make()
    start_live(venue, ws)
    stream = venue.stream
    assert stream is not None and stream._loop is not None
    stream._loop.call_soon_threadsafe(stream._subscribe_soon, B31, 0.0)  # what a racing first read asks for
    time.sleep(0.2)
    book_subscribes = [c for c in ws.commands if c.get("params", {}).get("channels") == ["orderbook_delta"]]
    assert len(book_subscribes) == 1
    for delta in (300, -100, 500):
        ws.change(B31, "yes", "0.3300", delta)
        assert eventually(lambda: live_equals_truth(venue, ws))
    assert stream.stats.gaps == stream.stats.duplicates == 0


def test_paper_on_live_reads_the_socket_through_the_factory(fakes: tuple[Any, Any, str, str], key_path: Path,
                                                            tmp_path: Path) -> None:
    from shared.venues.factory import build_venue

    rest, ws, base_url, ws_url = fakes
    settings = SurfaceSettings(
        trading_mode="paper", venue="kalshi", kalshi_base_url=base_url, kalshi_api_key_id=KEY_ID,
        kalshi_private_key_path=key_path, kalshi_ws="on", kalshi_ws_url=ws_url, log_dir=tmp_path / "logs",
    )
    venue: Any = build_venue("kalshi_st", settings, SteppedClock(NOW))  # PaperVenue over the recorder over Kalshi
    kalshi = venue._data.inner
    try:
        assert isinstance(kalshi, KalshiVenue) and kalshi.stream is not None
        assert not kalshi.stream.config.private  # paper subscribes to market data only
        venue.orderbook(B31)
        assert kalshi.stream.wait_live(B31, 10)
        reads = rest_reads(rest)
        ws.change(B31, "yes", "0.3500", 400)
        assert eventually(lambda: venue.orderbook(B31).bids[0].price == Decimal("0.3500"))
        assert rest_reads(rest) == reads
        assert rest.orders_seen() == []
    finally:
        kalshi.close()


def test_a_silent_socket_is_not_trusted(make: Callable[..., KalshiVenue], fakes: tuple[Any, Any, str, str]) -> None:
    rest, ws, _, _ = fakes
    venue = make(kalshi_ws_stale_seconds=0.6)  # pinged every 0.2 s
    start_live(venue, ws)
    stream = venue.stream
    assert stream is not None
    ws.mute()  # half-dead: open, but nothing answers
    muted = time.monotonic()
    assert eventually(lambda: stream.levels(B31) is None, timeout=5)
    assert time.monotonic() - muted <= 2.0
    reads = rest_reads(rest)
    venue.orderbook(B31)
    assert rest_reads(rest) == reads + 1  # not served from a socket that stopped answering
    assert eventually(lambda: stream.stats.drops == 1)  # the heartbeat gave up on it
    assert eventually(lambda: live_equals_truth(venue, ws))  # a new connection, a fresh snapshot
    assert stream.stats.connects == 2
