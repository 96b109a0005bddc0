"""fx sim: spreads around the real H1 bars, market fills crossing the spread, venue-side SL/TP, weekends."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.venues.base import OrderRequest

SimFactory = Any
DATA = Path(__file__).resolve().parents[4] / "data"
MONDAY = datetime(2025, 7, 28, 0, 0, tzinfo=UTC)


def _bars(pair: str) -> dict[str, dict[str, str]]:
    with gzip.open(DATA / "fx" / f"{pair}_H1.csv.gz", "rt") as handle:
        return {r["datetime"]: r for r in csv.DictReader(handle)}


def test_quotes_straddle_the_real_price_with_a_realistic_spread(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("fx", MONDAY + timedelta(hours=10))
    bar = _bars("EURUSD")["2025-07-28 10:00:00"]
    quote = venue.quote("EUR_USD")
    assert quote.bid is not None and quote.ask is not None
    assert quote.bid < Decimal(bar["open"]) < quote.ask
    assert Decimal("0.00008") <= quote.ask - quote.bid <= Decimal("0.00018")  # ~1.2 pips
    symbols = {i.symbol for i in venue.instruments()}
    assert symbols == {"EUR_USD", "GBP_USD", "USD_JPY", "USD_CHF", "AUD_USD", "USD_CAD", "NZD_USD", "EUR_JPY"}
    for symbol in symbols:
        q = venue.quote(symbol)
        assert q.bid is not None and q.ask is not None and q.ask > q.bid


def test_market_orders_cross_the_spread_without_commission(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("fx", MONDAY + timedelta(hours=10, minutes=7))
    quote = venue.quote("GBP_USD")
    long = venue.place_order(OrderRequest("l1", "GBP_USD", "long", "open", 10_000))
    short = venue.place_order(OrderRequest("s1", "GBP_USD", "short", "open", 10_000))
    assert (long.avg_fill_price, short.avg_fill_price) == (quote.ask, quote.bid)
    assert long.fees_cents == short.fees_cents == 0
    close = venue.close_position("GBP_USD", "x1", long.venue_order_id)
    assert close.avg_fill_price == quote.bid  # same instant: the round trip costs exactly the spread
    assert quote.ask is not None and quote.bid is not None
    spread_cost = int((quote.ask - quote.bid) * 10_000 * 100)
    assert venue.balance().cash_cents == 1_000_000 - spread_cost
    assert [p.client_order_id for p in venue.positions()] == ["s1"]


def test_take_profit_and_stop_loss_close_on_the_venue(make_sim: SimFactory) -> None:
    # EUR/USD fell through 28-30 July 2025 (trade deal, then the FOMC): a short reaches its target, a long its stop.
    venue, clock = make_sim("fx", MONDAY + timedelta(hours=1))
    quote = venue.quote("EUR_USD")
    assert quote.ask is not None and quote.bid is not None
    tp = quote.bid - Decimal("0.0005")
    short = venue.place_order(
        OrderRequest("tp1", "EUR_USD", "short", "open", 100_000, None, "ioc", quote.bid + Decimal("0.03"), tp))
    long = venue.place_order(
        OrderRequest("sl1", "EUR_USD", "long", "open", 100_000, None, "ioc", quote.ask - Decimal("0.0100"), None))
    assert short.status == long.status == "filled"
    bars = _bars("EURUSD")

    # The short exits on the ask (mid + half spread): not before a bar's low reaches TP, and surely once a bar's
    # low clears TP by more than the widest half spread.
    def first_bar(level: Decimal) -> datetime:
        return next(
            datetime.fromisoformat(k).replace(tzinfo=UTC) for k, r in bars.items()
            if datetime.fromisoformat(k).replace(tzinfo=UTC) >= MONDAY + timedelta(hours=1)
            and Decimal(r["low"]) <= level
        )

    earliest, latest = first_bar(tp), first_bar(tp - Decimal("0.00012"))
    clock.set(latest + timedelta(hours=1))
    assert "tp1" not in {p.client_order_id for p in venue.positions()}
    exits = [f for f in venue.fills() if f.venue_order_id.endswith(":take_profit")]
    assert len(exits) == 1 and exits[0].price == tp and earliest <= exits[0].at <= latest + timedelta(hours=1)
    assert short.avg_fill_price is not None
    assert venue.balance().cash_cents == 1_000_000 + int((short.avg_fill_price - tp) * 100_000 * 100)
    clock.set(MONDAY + timedelta(days=4))
    stops = [f for f in venue.fills() if f.venue_order_id.endswith(":stop_loss")]
    assert len(stops) == 1 and stops[0].client_order_id is None and stops[0].price <= quote.ask - Decimal("0.0100")
    assert venue.positions() == []
    # A stop loss on the wrong side of the fill is refused.
    bad = venue.place_order(OrderRequest("bad", "EUR_USD", "long", "open", 1000, None, "ioc", tp + 1, None))
    assert bad.status == "rejected" and bad.reason.startswith("invalid_stop_loss")


def test_jpy_pnl_converts_at_the_replayed_rate(make_sim: SimFactory) -> None:
    venue, clock = make_sim("fx", MONDAY + timedelta(hours=3))
    opened = venue.place_order(OrderRequest("j1", "USD_JPY", "long", "open", 100_000))
    clock.set(MONDAY + timedelta(hours=30))
    closed = venue.close_position("USD_JPY", "j1-close")
    assert opened.avg_fill_price is not None and closed.avg_fill_price is not None
    pnl_jpy = (closed.avg_fill_price - opened.avg_fill_price) * 100_000
    usd_jpy = venue.quote("USD_JPY").mid
    assert usd_jpy is not None
    assert abs(venue.balance().cash_cents - 1_000_000 - pnl_jpy / usd_jpy * 100) <= 1


def test_weekend_has_no_quote_and_rejects_orders(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("fx", datetime(2025, 8, 2, 12, 0, tzinfo=UTC))  # Saturday
    quote = venue.quote("EUR_USD")
    assert quote.bid is None and quote.ask is None
    assert venue.instrument("EUR_USD").status == "closed"
    result = venue.place_order(OrderRequest("w1", "EUR_USD", "long", "open", 1000))
    assert result.status == "rejected" and result.reason.startswith("market_closed")


def test_candles_are_complete_bars_up_to_now(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("fx", MONDAY + timedelta(hours=10, minutes=30))
    candles = venue.candles("EUR_USD", 3600, 3)
    assert [c.start.hour for c in candles] == [7, 8, 9]
    bar = _bars("EURUSD")["2025-07-28 09:00:00"]
    assert (candles[-1].open, candles[-1].high, candles[-1].low, candles[-1].close) == tuple(
        Decimal(bar[k]) for k in ("open", "high", "low", "close"))
    four = venue.candles("EUR_USD", 4 * 3600, 2)
    assert four[-1].start == MONDAY + timedelta(hours=4) and four[-1].granularity_s == 14_400


def test_a_stop_gapped_over_the_weekend_fills_at_the_gap_price(make_sim: SimFactory) -> None:
    # EUR/USD closed Friday 2025-10-03 at 1.17399 and reopened Monday at 1.17120.
    bars = _bars("EURUSD")
    friday, monday = bars["2025-10-03 20:00:00"], bars["2025-10-06 00:00:00"]
    stop = Decimal(friday["low"]) - Decimal("0.0005")
    assert Decimal(monday["open"]) < stop - Decimal("0.0005")
    venue, clock = make_sim("fx", datetime(2025, 10, 3, 20, 58, tzinfo=UTC))
    opened = venue.place_order(OrderRequest("g1", "EUR_USD", "long", "open", 100_000, None, "ioc", stop, None))
    assert opened.status == "filled"
    clock.set(datetime(2025, 10, 5, 12, tzinfo=UTC))  # Sunday: still open, market closed
    assert len(venue.positions()) == 1
    clock.set(datetime(2025, 10, 6, 1, tzinfo=UTC))
    [stop_fill] = [f for f in venue.fills() if f.venue_order_id.endswith(":stop_loss")]
    assert stop_fill.at == datetime(2025, 10, 6, tzinfo=UTC)
    assert stop_fill.price < Decimal(monday["open"]) < stop  # the bid at the reopening, well below the stop
    assert stop_fill.price == stop_fill.price.quantize(Decimal("0.00001"))


def test_the_replay_loops_in_whole_weeks(make_sim: SimFactory) -> None:
    # The 2025-07-28 .. 2026-02-20 bars loop every 30 weeks: Monday 2026-02-23 replays Monday 2025-07-28.
    venue, clock = make_sim("fx", datetime(2026, 2, 21, 12, tzinfo=UTC))
    assert venue.quote("EUR_USD").bid is None  # the seam falls on a weekend
    clock.set(datetime(2026, 2, 23, 10, tzinfo=UTC))
    quote = venue.quote("EUR_USD")
    assert quote.bid is not None and quote.ask is not None
    assert quote.bid < Decimal(_bars("EURUSD")["2025-07-28 10:00:00"]["open"]) < quote.ask
