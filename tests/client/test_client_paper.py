"""The paper broker: fills at the current quote crossing the spread, with fees; idempotent per client order id."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from client.brokers import PaperBroker
from client.config import BrokerSection
from shared.bus import Durability, JsonlLog
from shared.records import Signal
from shared.venues.base import NotFoundError, OrderRequest, Quote

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _broker(path: Path, quotes: dict[str, Quote] | None = None) -> PaperBroker:
    def source(signal: Signal) -> Quote | None:
        if quotes is None or signal.instrument not in quotes:
            raise NotFoundError("sim", f"no market {signal.instrument}")
        return quotes[signal.instrument]

    return PaperBroker(JsonlLog(path, Durability.FSYNC), BrokerSection(), quotes=source, now=lambda: AT)


def _request(signal: Signal, quantity: int, limit: Decimal) -> OrderRequest:
    return OrderRequest(f"coid-{signal.id}", signal.instrument, signal.side, "open", quantity, limit)


def test_binary_yes_lifts_the_ask_and_no_pays_one_minus_the_bid(tmp_path: Path, make_signal) -> None:
    quote = Quote("KXA", AT, bid=Decimal("0.38"), ask=Decimal("0.41"))
    broker = _broker(tmp_path / "paper.jsonl", {"KXA": quote})
    yes = make_signal(instrument="KXA", side="yes", limit_price=Decimal("0.40"))
    result = broker.place(_request(yes, 1_000, Decimal("0.42")), yes)
    # fee: 0.07 × 10 × 0.41 × 0.59 = 16.9 → 17 cents
    assert (result.status, result.avg_fill_price, result.fees_cents) == ("filled", Decimal("0.41"), 17)
    no = make_signal(instrument="KXA", side="no", limit_price=Decimal("0.60"))
    result = broker.place(_request(no, 1_000, Decimal("0.62")), no)
    assert result.avg_fill_price == Decimal("0.62")  # NO ask = 1 − YES bid 0.38


def test_fx_long_buys_the_ask_short_sells_the_bid(tmp_path: Path, make_signal) -> None:
    quote = Quote("EUR_USD", AT, bid=Decimal("1.10000"), ask=Decimal("1.10012"))
    broker = _broker(tmp_path / "paper.jsonl", {"EUR_USD": quote})
    long = make_signal(surface="fx", instrument="EUR_USD", side="long", limit_price=Decimal("1.10010"),
                       stop_loss=Decimal("1.09"), take_profit=Decimal("1.12"))
    assert broker.place(_request(long, 1_000, Decimal("1.10100")), long).avg_fill_price == Decimal("1.10012")
    short = make_signal(surface="fx", instrument="EUR_USD", side="short", limit_price=Decimal("1.10000"))
    sell = OrderRequest(f"coid-{short.id}", "EUR_USD", "short", "close", 1_000, Decimal("1.09900"))
    assert broker.place(sell, short).avg_fill_price == Decimal("1.10000")


def test_without_a_quote_the_fill_is_the_limit_plus_slippage(tmp_path: Path, make_signal) -> None:
    broker = _broker(tmp_path / "paper.jsonl")
    signal = make_signal(instrument="KX-UNKNOWN", limit_price=Decimal("0.40"))
    result = broker.place(_request(signal, 1_000, Decimal("0.42")), signal)
    assert (result.avg_fill_price, result.reason) == (Decimal("0.41"), "limit+slippage")
    stock = make_signal(surface="stocks", instrument="AAPL", side="long", limit_price=Decimal("200.00"))
    result = broker.place(_request(stock, 10, Decimal("201.00")), stock)
    assert result.avg_fill_price == Decimal("200.04")  # 200 × (1 + 0.0002)
    assert result.fees_cents == 100  # the $1.00 minimum


def test_a_price_beyond_the_limit_is_rejected(tmp_path: Path, make_signal) -> None:
    quote = Quote("KXA", AT, bid=Decimal("0.45"), ask=Decimal("0.48"))
    broker = _broker(tmp_path / "paper.jsonl", {"KXA": quote})
    signal = make_signal(instrument="KXA", limit_price=Decimal("0.40"))
    result = broker.place(_request(signal, 1_000, Decimal("0.42")), signal)
    assert result.status == "rejected" and result.filled_quantity == 0


def test_same_client_order_id_never_fills_twice_even_after_a_restart(tmp_path: Path, make_signal) -> None:
    path = tmp_path / "paper.jsonl"
    quotes = {"KXA": Quote("KXA", AT, bid=Decimal("0.38"), ask=Decimal("0.41"))}
    signal = make_signal(instrument="KXA")
    first = _broker(path, quotes).place(_request(signal, 1_000, Decimal("0.42")), signal)
    quotes["KXA"] = Quote("KXA", AT, bid=Decimal("0.30"), ask=Decimal("0.33"))
    again = _broker(path, quotes)  # a new process reading the same journal
    assert again.lookup(first.client_order_id) == first
    assert again.place(_request(signal, 1_000, Decimal("0.42")), signal) == first
    assert len(JsonlLog(path).read_all()) == 1
    assert again.lookup("coid-never-sent") is None


def test_sim_quotes_are_used_only_when_they_price_the_signal_s_market(tmp_path: Path, make_signal) -> None:
    from client.brokers import sim_quote_source
    from shared.venues.sim.replay import load_or_create_epoch

    fleet_logs = tmp_path / "fleet-logs"
    fleet_logs.mkdir()
    no_fleet = sim_quote_source(tmp_path / "nothing-here")
    assert no_fleet is not None and no_fleet(make_signal(surface="fx", instrument="EUR_USD", side="long")) is None
    load_or_create_epoch(fleet_logs)  # what a running paper fleet leaves in its logs/
    source = sim_quote_source(fleet_logs)
    assert source is not None, "shared.venues.factory provides the sim venues"
    probe = make_signal(surface="fx", instrument="EUR_USD", side="long", limit_price=Decimal("1"))
    quote = source(probe)
    assert quote is not None and quote.bid is not None and quote.ask is not None and quote.bid < quote.ask
    broker = PaperBroker(JsonlLog(tmp_path / "paper.jsonl", Durability.FSYNC), BrokerSection(), quotes=source)
    mid = ((quote.bid + quote.ask) / 2).quantize(Decimal("0.00001"))
    near = make_signal(surface="fx", instrument="EUR_USD", side="long", limit_price=mid)
    result = broker.place(_request(near, 1_000, mid * Decimal("1.01")), near)
    assert (result.status, result.reason) == ("filled", "quote")
    # A signal priced far from the sim's replay moment: the sim is pricing another time, so its quote is not used.
    far = make_signal(surface="fx", instrument="EUR_USD", side="long", limit_price=mid * 2)
    result = broker.place(_request(far, 1_000, mid * 3), far)
    assert (result.status, result.reason) == ("filled", "limit+slippage")
