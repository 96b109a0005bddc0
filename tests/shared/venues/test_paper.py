"""Paper on Kalshi's data: fills cross the fake's real book with the real fee, nothing is ever sent.

The fake (``kalshi/fake_kalshi.py``) is a loopback server built from the recorded, spec-shaped payloads; it
records every request line, so "no order sent" is checked on the wire, not by trusting the code.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.clock import SteppedClock
from shared.config import ConfigError, SurfaceSettings
from shared.money.fees import kalshi_fee_cents
from shared.recorder import RecordingVenue
from shared.venues.base import NotFoundError, OrderRequest
from shared.venues.factory import build_venue
from shared.venues.paper import MarketDataOnlyTransport, PaperSendRefused, PaperVenue, paper_dir

NOW = datetime(2025, 12, 27, 15, 0, tzinfo=UTC)
B31 = "KXHIGHNY-25DEC27-B31.5"


def _fake_module() -> ModuleType:
    name = "tbot_test_fake_kalshi"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "kalshi" / "fake_kalshi.py")
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kalshi") / "kalshi.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path


@pytest.fixture
def fake() -> Iterator[tuple[Any, str]]:
    with _fake_module().serve() as served:
        yield served


def _settings(tmp_path: Path, url: str, key_file: Path, **extra: Any) -> SurfaceSettings:
    return SurfaceSettings(trading_mode="paper", venue="kalshi", kalshi_base_url=url, kalshi_api_key_id="key-1",
                           kalshi_private_key_path=key_file, log_dir=tmp_path / "logs", **extra)


@pytest.fixture
def paper(fake: tuple[Any, str], key_file: Path, tmp_path: Path) -> PaperVenue:
    _, url = fake
    venue = build_venue("kalshi_st", _settings(tmp_path, url, key_file, market_record="off"), SteppedClock(NOW))
    assert isinstance(venue, PaperVenue)
    return venue


def _buy(coid: str, quantity: int, limit: str, side: str = "yes", tif: str = "ioc") -> OrderRequest:
    return OrderRequest(coid, B31, side, "open", quantity, Decimal(limit), tif)  # type: ignore[arg-type]


def test_an_order_walks_the_real_book_never_past_its_depth_and_pays_the_real_fee(
    paper: PaperVenue, fake: tuple[Any, str]
) -> None:
    server, _ = fake
    # The recorded book: NO bids 0.63 x 45.50 and 0.60 x 15.00, i.e. YES asks 0.37 x 4550 and 0.40 x 1500 centi.
    result = paper.place_order(_buy("c-1", 10_000, "0.40"))
    assert result.status == "partially_filled"  # IOC: the rest of the 100 contracts is cancelled, never rests
    assert result.filled_quantity == 4550 + 1500  # the whole displayed depth within the limit, not a contract more
    fee = kalshi_fee_cents(4550, Decimal(37)) + kalshi_fee_cents(1500, Decimal(40))
    assert result.fees_cents == fee == 75 + 26
    assert result.avg_fill_price == Decimal("0.377438")  # (0.37 x 4550 + 0.40 x 1500) / 6050
    fills = paper.fills()
    assert [(f.quantity, f.price, f.fees_cents) for f in fills] == [(4550, Decimal("0.37"), 75),
                                                                     (1500, Decimal("0.40"), 26)]
    cost = -(-(4550 * 37 + 1500 * 40) // 100)  # centi-contracts x cents / 100 = cents, rounded against us
    assert cost == 2284
    assert paper.balance().cash_cents == 1_000_000 - cost - fee
    assert paper.positions()[0].quantity == 6050
    assert server.orders_seen() == []  # not one write, not one portfolio read


def test_liquidity_paper_took_is_not_taken_again_while_the_book_is_unchanged(
    paper: PaperVenue, fake: tuple[Any, str]
) -> None:
    server, _ = fake
    first = paper.place_order(_buy("t-1", 3000, "0.37"))
    second = paper.place_order(_buy("t-2", 3000, "0.40"))
    assert first.filled_quantity == 3000
    assert [(f.quantity, f.price) for f in paper.fills() if f.client_order_id == "t-2"] == [
        (1550, Decimal("0.37")), (1450, Decimal("0.40"))]  # only what the first left at 0.37
    assert second.filled_quantity == 3000
    assert paper.place_order(_buy("t-3", 100, "0.37")).status == "cancelled"  # 0.37 is used up
    # The venue's book moves (a new snapshot): its displayed sizes are available again.
    book = server.books[B31]["orderbook_fp"]
    book["no_dollars"] = [["0.6300", "20.00"]]
    assert paper.place_order(_buy("t-4", 2500, "0.37")).filled_quantity == 2000


def test_a_limit_that_does_not_cross_is_cancelled_and_fok_needs_all_of_it(paper: PaperVenue) -> None:
    assert paper.place_order(_buy("c-2", 100, "0.36")).status == "cancelled"
    assert paper.place_order(_buy("c-3", 5000, "0.37", tif="fok")).status == "cancelled"  # only 4550 at 0.37
    assert paper.place_order(_buy("c-4", 100, "0.37", tif="gtc")).status == "rejected"  # nothing rests
    no = paper.place_order(_buy("c-5", 200, "0.66", side="no"))  # NO ask = 1 - best YES bid 0.34
    assert (no.status, no.avg_fill_price, no.fees_cents) == ("filled", Decimal("0.66"),
                                                            kalshi_fee_cents(200, Decimal(66)))
    assert paper.positions()[0].side == "no" and paper.positions()[0].quantity == 200


def test_orders_are_idempotent_and_durable_in_the_paper_log(
    paper: PaperVenue, fake: tuple[Any, str], key_file: Path, tmp_path: Path
) -> None:
    first = paper.place_order(_buy("c-6", 300, "0.37"))
    again = paper.place_order(_buy("c-6", 300, "0.37"))
    assert again == first and len(paper.fills()) == 1
    log = paper_dir(tmp_path / "logs", "kalshi_st") / "orders.jsonl"
    assert log.exists() and log.read_text().count("c-6") == 1
    # Another process (the resolver, a restart) folds the same account from the log.
    other = build_venue("kalshi_st", _settings(tmp_path, fake[1], key_file, market_record="off"),
                        SteppedClock(NOW))
    assert other.order_by_client_id("c-6") == first
    assert other.positions() == paper.positions()
    assert other.balance().cash_cents == paper.balance().cash_cents


def test_positions_settle_on_the_venues_real_result(paper: PaperVenue, fake: tuple[Any, str]) -> None:
    server, _ = fake
    paper.place_order(_buy("c-7", 1000, "0.37"))
    cash_before = paper.balance().cash_cents
    assert paper.settlements() == []
    server.settle(B31, "yes")
    (settled,) = paper.settlements()
    assert (settled.symbol, settled.result, settled.revenue_cents) == (B31, "yes", 1000)  # 10 contracts x $1
    assert settled.settled_at == datetime(2025, 12, 28, 4, 59, tzinfo=UTC)  # the market's close
    assert paper.settlements(since=settled.settled_at + timedelta(seconds=1)) == []
    assert paper.positions() == []
    assert paper.balance().cash_cents == cash_before + 1000
    assert paper.place_order(_buy("c-8", 100, "0.99")).status == "rejected"  # a settled market takes no order
    assert server.orders_seen() == []


def test_the_wrapped_adapter_cannot_reach_an_order_or_account_endpoint(
    paper: PaperVenue, fake: tuple[Any, str]
) -> None:
    server, url = fake
    data = paper._data  # the live adapter, as the paper venue holds it
    calls = [
        lambda: data.place_order(_buy("x-1", 100, "0.37")),  # type: ignore[attr-defined]
        lambda: data.cancel_order("ord-1"),  # type: ignore[attr-defined]
        lambda: data.balance(),  # type: ignore[attr-defined]
        lambda: data.positions(),  # type: ignore[attr-defined]
        lambda: data.order_by_client_id("x-1"),  # type: ignore[attr-defined]
    ]
    for call in calls:
        with pytest.raises(PaperSendRefused):
            call()
    transport = MarketDataOnlyTransport("kalshi")
    with httpx.Client(transport=transport) as client:
        with pytest.raises(PaperSendRefused):
            client.post(f"{url}/markets/{B31}", json={})  # a write even on a market-data path
        with pytest.raises(PaperSendRefused):
            client.get(f"{url}/portfolio/orders")
        assert client.get(f"{url}/markets/{B31}").status_code == 200
    assert transport.refused == ["POST /trade-api/v2/markets/KXHIGHNY-25DEC27-B31.5",
                                 "GET /trade-api/v2/portfolio/orders"]
    assert server.orders_seen() == []
    assert server.seen == [f"GET /trade-api/v2/markets/{B31}"]


def test_the_factory_builds_paper_on_kalshi_with_the_live_name_and_records(
    fake: tuple[Any, str], key_file: Path, tmp_path: Path
) -> None:
    venue = build_venue("kalshi_st", _settings(tmp_path, fake[1], key_file), SteppedClock(NOW))
    # The recorder sits on the market data, under the paper venue: the books paper fills cross are recorded too.
    assert isinstance(venue, PaperVenue) and isinstance(venue._data, RecordingVenue)
    assert venue.name == "kalshi"  # trades carry the live venue's name: real-data paper, not sim


def test_paper_on_kalshi_needs_the_key_the_order_book_read_needs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="KALSHI_API_KEY_ID: required for paper on VENUE=kalshi"):
        SurfaceSettings(venue="kalshi", log_dir=tmp_path)
    unvalidated = SurfaceSettings(log_dir=tmp_path).model_copy(update={"venue": "kalshi"})
    with pytest.raises(ConfigError) as refused:
        build_venue("kalshi_st", unvalidated)
    assert refused.value.key == "KALSHI_API_KEY_ID"


def test_an_unknown_market_is_a_rejection_not_a_send(paper: PaperVenue, fake: tuple[Any, str]) -> None:
    bad = OrderRequest("c-9", "KXHIGHNY-25DEC27-NOPE", "yes", "open", 100, Decimal("0.5"), "ioc")
    assert paper.place_order(bad).status == "rejected"
    with pytest.raises(NotFoundError):
        paper.cancel_order("nope")
    assert fake[0].orders_seen() == []
