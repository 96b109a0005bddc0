"""kalshi_st sim: weather brackets (synthetic and recorded) and BTC 15-minute markets."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.clock import SteppedClock
from shared.money.fees import kalshi_fee_cents
from shared.venues.base import OrderRequest
from shared.venues.sim import data
from shared.venues.sim.btc import BtcMarkets, data_time
from shared.venues.sim.weather import SimClimateReport, SimForecast, WeatherMarkets
from shared.venues.sim.weather_forecast import replayed_nyc_day, source_day, station_day

SimFactory = Any  # the make_sim fixture (tests/shared/venues/sim/conftest.py)
DATA = Path(__file__).resolve().parents[4] / "data"
START = datetime(2025, 12, 5, 15, 0, tzinfo=UTC)


def _raw_high(station: str, day: str) -> int:
    with (DATA / "weather" / f"{station}_daily_2018-2019.csv").open() as handle:
        return next(int(r["tmax_f"]) for r in csv.DictReader(handle) if r["date"] == day)


def _cli_high(day: str) -> int:
    with (DATA / "weather" / "KNYC_cli_daily_high_2023-09_2026-08.csv").open() as handle:
        return next(int(r["cli_high_f"]) for r in csv.DictReader(handle) if r["date"] == day)


def test_open_markets_have_sane_prices_and_spreads(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("kalshi_st", START + timedelta(hours=2))
    markets = venue.instruments()
    series = {m.attributes.get("series") for m in markets}
    assert {"KXHIGHNY", "KXHIGHCHI", "KXHIGHAUS", "KXHIGHLAX", "KXBTC15M"} <= series
    assert any(m.attributes.get("source") == "kalshi_recorded" for m in markets)
    for market in markets:
        assert market.kind == "binary" and market.fee_type == "quadratic"
        quote = venue.quote(market.symbol)
        for price in (quote.bid, quote.ask):
            assert price is None or Decimal(0) < price < Decimal(1)
        if quote.bid is not None and quote.ask is not None:
            assert quote.ask > quote.bid, market.symbol


def test_synthetic_brackets_partition_the_outcomes(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_st", START)
    weather = WeatherMarkets(7)
    for station in ("KNYC", "KMDW", "KAUS", "KLAX"):
        event = weather.event(station, date(2025, 12, 9))
        assert [s.strike_type for s in event] == ["less", "between", "between", "between", "between", "greater"]
        clock.set(event[0].open_time + timedelta(hours=3))
        assert sum(weather.fair(s, clock.now()) for s in event) == pytest.approx(1.0, abs=1e-9)
        # Quoted mids (an empty side counts as 0 or 1) sum to about one as well.
        mids = []
        for spec in event:
            q = venue.quote(spec.symbol)
            mids.append(((q.bid or Decimal(0)) + (q.ask or Decimal(1))) / 2)
        assert sum(mids) == pytest.approx(Decimal(1), abs=Decimal("0.2"))
        # Kalshi strike fields: B{x.5} is floor x-0.5 .. cap x+0.5, the tails name the bucket edges.
        low, first = event[0], event[1]
        assert low.cap_strike == first.floor_strike and low.floor_strike is None
        assert first.cap_strike == first.floor_strike + 1  # type: ignore[operator]
        assert event[-1].floor_strike == event[-2].cap_strike and event[-1].cap_strike is None
        assert first.symbol.endswith(f"-B{first.floor_strike}.5")


def test_nyc_event_settles_on_the_real_cli_high(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_st", START)
    high = _cli_high("2025-12-10")  # sim 2025-12-10 in New York is the real day
    specs = WeatherMarkets(7).event("KNYC", date(2025, 12, 10))
    assert {s.attributes["outcome"] for s in specs} == {"real"}
    winners = [s for s in specs if s.result == "yes"]
    assert len(winners) == 1
    win = winners[0]
    if win.strike_type == "between":
        assert win.floor_strike <= high <= win.cap_strike  # type: ignore[operator]
    elif win.strike_type == "less":
        assert high < win.cap_strike  # type: ignore[operator]
    else:
        assert high > win.floor_strike  # type: ignore[operator]
    assert win.close_time == datetime(2025, 12, 11, 4, 59, tzinfo=UTC)  # 23:59 EST
    clock.set(win.close_time + timedelta(hours=2))
    assert venue.instrument(win.symbol).status == "settled"
    assert venue.instrument(win.symbol).result == "yes"


def test_other_stations_settle_on_their_sim_outcome(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_st", START)
    specs = WeatherMarkets(7).event("KMDW", date(2025, 12, 10))
    plan = station_day("KMDW", date(2025, 12, 10))
    assert plan is not None and plan.outcome == "sim"
    assert {s.attributes["outcome"] for s in specs} == {"sim"}
    # The listing forecast is Midway's real high of 2018-12-10; the outcome is it plus a borrowed real NYC error.
    assert plan.listing_issue.forecast_f == _raw_high("KMDW", "2018-12-10")
    assert abs(plan.high - _raw_high("KMDW", "2018-12-10")) < 20
    winner = next(s for s in specs if s.result == "yes")
    assert winner.close_time == datetime(2025, 12, 11, 5, 59, tzinfo=UTC)  # 23:59 CST
    clock.set(winner.close_time + timedelta(hours=2))
    assert venue.instrument(winner.symbol).result == "yes"
    assert SimClimateReport(clock).daily_high("KMDW", date(2025, 12, 10)) == plan.high


def test_recorded_quotes_replay_as_recorded(make_sim: SimFactory) -> None:
    # Row 1 of market_data_KXHIGHNY-25DEC27.csv: 2025-12-26T07:03:14.993906 (US/Pacific), B33.5, yes bid 1, no bid 35.
    venue, _clock = make_sim("kalshi_st", datetime(2025, 12, 26, 15, 3, 15, tzinfo=UTC))
    quote = venue.quote("KXHIGHNY-25DEC27-B33.5")
    assert (quote.bid, quote.ask) == (Decimal("0.01"), Decimal("0.65"))
    instrument = venue.instrument("KXHIGHNY-25DEC27-B31.5")
    assert (instrument.strike_type, instrument.floor_strike, instrument.cap_strike) == ("between", 31, 32)
    assert venue.instrument("KXHIGHNY-25DEC27-T29").strike_type == "less"
    assert venue.instrument("KXHIGHNY-25DEC27-T36").strike_type == "greater"
    assert instrument.close_time == datetime(2025, 12, 28, 4, 59, tzinfo=UTC)


def test_recorded_event_settles_per_inferred_results(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_st", datetime(2025, 12, 27, 15, 0, tzinfo=UTC))
    bought = {}
    for ticker in ("KXHIGHNY-25DEC27-B31.5", "KXHIGHNY-25DEC27-B33.5"):
        result = venue.place_order(OrderRequest(f"c-{ticker}", ticker, "yes", "open", 200, Decimal("0.99")))
        assert result.status == "filled", result.reason
        bought[ticker] = result
    cash_after_buys = venue.balance().cash_cents
    clock.set(datetime(2025, 12, 28, 6, 0, tzinfo=UTC))
    assert venue.instrument("KXHIGHNY-25DEC27-B31.5").result == "yes"
    assert venue.instrument("KXHIGHNY-25DEC27-B33.5").result == "no"
    settlements = {s.symbol: s for s in venue.settlements()}
    assert settlements["KXHIGHNY-25DEC27-B31.5"].revenue_cents == 200  # two contracts pay $2
    assert settlements["KXHIGHNY-25DEC27-B33.5"].revenue_cents == 0
    assert venue.positions() == []
    assert venue.balance().cash_cents == cash_after_buys + 200


def test_fills_cross_the_spread_and_pay_the_kalshi_fee(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("kalshi_st", START + timedelta(hours=1))
    symbol = next(m.symbol for m in venue.instruments() if m.attributes.get("series") == "KXHIGHCHI"
                  and venue.quote(m.symbol).bid is not None and venue.quote(m.symbol).ask is not None)
    book = venue.orderbook(symbol)
    before = venue.balance().cash_cents
    yes = venue.place_order(OrderRequest("c1", symbol, "yes", "open", 700, book.asks[0].price))
    assert yes.status == "filled" and yes.avg_fill_price == book.asks[0].price
    assert yes.fees_cents == kalshi_fee_cents(700, book.asks[0].price * 100, fee_type="quadratic")
    no = venue.place_order(OrderRequest("c2", symbol, "no", "open", 300, Decimal("0.99")))
    assert no.avg_fill_price == 1 - book.bids[0].price  # NO is bought at 1 − best YES bid
    assert no.fees_cents == kalshi_fee_cents(300, (1 - book.bids[0].price) * 100)
    cost = int(7 * book.asks[0].price * 100) + int(3 * (1 - book.bids[0].price) * 100)
    assert venue.balance().cash_cents == before - cost - yes.fees_cents - no.fees_cents
    # Below the ask nothing fills: the sim never lets a buyer inside the spread.
    miss = venue.place_order(OrderRequest("c3", symbol, "yes", "open", 100, book.asks[0].price - Decimal("0.01")))
    assert miss.status == "cancelled" and miss.filled_quantity == 0


def test_large_orders_walk_the_book_with_a_fee_per_level(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("kalshi_st", START + timedelta(minutes=3))
    symbol = next(m.symbol for m in venue.instruments() if m.attributes.get("series") == "KXBTC15M")
    book = venue.orderbook(symbol)
    assert len(book.bids) >= 3 and len(book.asks) >= 3, "BTC books have depth"
    want = book.asks[0].size + book.asks[1].size // 2
    result = venue.place_order(OrderRequest("walk", symbol, "yes", "open", want, book.asks[1].price))
    assert result.status == "filled"
    fills = [f for f in venue.fills() if f.client_order_id == "walk"]
    assert [(f.price, f.quantity) for f in fills] == [(book.asks[0].price, book.asks[0].size),
                                                      (book.asks[1].price, book.asks[1].size // 2)]
    assert result.fees_cents == sum(kalshi_fee_cents(f.quantity, f.price * 100) for f in fills)
    fok = venue.place_order(OrderRequest("fok", symbol, "yes", "open", 10_000_000, book.asks[1].price, "fok"))
    assert fok.status == "cancelled"


def test_btc_market_strike_and_result_come_from_real_candles(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_st", START + timedelta(minutes=20))
    symbol = next(m.symbol for m in venue.instruments() if m.attributes.get("series") == "KXBTC15M")
    market = venue.instrument(symbol)
    assert market.open_time is not None and market.close_time is not None
    with gzip.open(DATA / "crypto" / "BTCUSDT_1m_2024-12.csv.gz", "rt") as handle:
        rows = {r["open_time_utc"]: r for r in csv.DictReader(handle)}
    first = rows[data_time(market.open_time).strftime("%Y-%m-%dT%H:%M:%SZ")]
    last = rows[data_time(market.close_time - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert market.floor_strike == Decimal(first["open"])
    clock.set(market.close_time + timedelta(minutes=2))
    expected = "yes" if Decimal(last["close"]) >= Decimal(first["open"]) else "no"
    assert venue.instrument(symbol).result == expected
    candles = venue.candles("BTCUSDT", 900, 3)
    assert candles[-1].start + timedelta(seconds=900) <= clock.now()
    assert candles[-1].close == Decimal(last["close"])


def test_btc_replay_is_52_weeks_back_and_loops() -> None:
    assert data_time(datetime(2025, 12, 5, 12, tzinfo=UTC)) == datetime(2024, 12, 6, 12, tzinfo=UTC)
    assert data_time(datetime(2025, 12, 5, tzinfo=UTC) + timedelta(days=28)) == datetime(2024, 12, 6, tzinfo=UTC)
    assert BtcMarkets(7).price_at(datetime(2026, 6, 1, 0, 0, 30, tzinfo=UTC)) > 0


def test_forecast_and_climate_report() -> None:
    day = date(2025, 12, 10)
    clock = SteppedClock(datetime(2025, 12, 9, 20, 0, tzinfo=UTC))
    members = SimForecast(clock, 7).daily_high_members("KNYC", day)
    assert len(members) == 31
    # Centred on the real as-issued forecast known then (the 06 ET issue of the 9th, lead 1), not on the result.
    issue = next(i for i in data.knyc_forecasts()[day] if i.lead_days == 1 and i.issued_at.hour < 16)
    assert abs(sum(members) / 31 - issue.forecast_f) < 1.0
    assert SimForecast(clock, 7).daily_high_members("KNYC", day) == members  # deterministic
    assert SimForecast(clock, 8).daily_high_members("KNYC", day) != members
    report = SimClimateReport(clock)
    assert report.daily_high("KNYC", day) is None
    clock.set(datetime(2025, 12, 11, 6, 0, tzinfo=UTC))
    assert report.daily_high("KNYC", day) == _cli_high("2025-12-10")
    # No attribute names a replayed real day a strategy could look up.
    for station in ("KNYC", "KMDW", "KAUS", "KLAX"):
        spec = WeatherMarkets(7).event(station, day)[0]
        assert set(spec.attributes) == {"series", "station", "day", "source", "outcome", "bucket_low", "bucket_high"}


def test_forecast_before_the_first_issue_is_refused() -> None:
    clock = SteppedClock(datetime(2025, 12, 1, tzinfo=UTC))
    with pytest.raises(data.SimDataError):
        SimForecast(clock, 7).daily_high_members("KNYC", date(2025, 12, 10))


def test_recorded_days_forecast_is_the_real_as_issued_one() -> None:
    day = date(2025, 12, 27)  # a recorded KXHIGHNY event
    clock = SteppedClock(datetime(2025, 12, 27, 15, 0, tzinfo=UTC))  # 10:00 EST: the 06 ET lead-0 issue is out
    members = SimForecast(clock, 7).daily_high_members("KNYC", day)
    issue = next(i for i in data.knyc_forecasts()[day] if i.lead_days == 0 and i.issued_at.hour < 16)
    assert abs(sum(members) / 31 - issue.forecast_f) < 1.0
    clock.set(datetime(2025, 12, 28, 6, 0, tzinfo=UTC))
    assert SimClimateReport(clock).daily_high("KNYC", day) == 31  # the CLI high, inside the recorded winning B31.5


def test_rejections_are_typed_and_persisted(make_sim: SimFactory) -> None:
    venue, _clock = make_sim("kalshi_st", START)
    assert venue.place_order(OrderRequest("r1", "KXHIGHNY-99JAN01-B1.5", "yes", "open", 100)).reason == "unknown_market"
    closed = WeatherMarkets(7).event("KAUS", date(2025, 12, 3))[0].symbol
    assert venue.place_order(OrderRequest("r2", closed, "yes", "open", 100)).reason.startswith("market_")
    some = venue.instruments()[0].symbol
    assert venue.place_order(OrderRequest("r3", some, "long", "open", 100)).status == "rejected"
    assert venue.place_order(OrderRequest("r4", some, "yes", "close", 100)).reason.startswith("insufficient_position")
    assert venue.order_by_client_id("r1") is not None


def test_weather_days_cycle_through_the_real_years() -> None:
    assert source_day(date(2025, 12, 27)) == date(2018, 12, 27)
    assert source_day(date(2026, 7, 4)) == date(2019, 7, 4)
    assert source_day(date(2027, 1, 2)) == date(2018, 1, 2)
    assert source_day(date(2028, 2, 29)) is None
    assert source_day(date(2024, 12, 1)) is None
    assert replayed_nyc_day(date(2025, 12, 27)) == date(2025, 12, 27)  # inside the archive: the day itself
    assert replayed_nyc_day(date(2026, 12, 27)) == date(2024, 12, 27)
    assert replayed_nyc_day(date(2027, 3, 1)) == date(2025, 3, 1)
    assert replayed_nyc_day(date(2028, 2, 29)) == date(2024, 2, 29)
