"""kalshi_lt sim: real titles and outcomes (KXFEDDECISION, Polymarket) on the compressed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.venues.base import OrderRequest
from shared.venues.sim.longterm import REAL_START, to_sim

SimFactory = Any


def test_fed_markets_carry_real_titles_and_settle_to_real_results(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_lt", REAL_START + timedelta(hours=1))
    market = venue.instrument("KXFEDDECISION-25SEP-C25")
    assert market.title.startswith("Will the Federal Reserve Cut rates by 25bps at their Septemb")
    assert market.status == "open" and market.category == "macro"
    assert market.close_time == to_sim(datetime(2025, 9, 17, 17, 55, tzinfo=UTC))
    assert market.attributes["real_close_time"] == "2025-09-17T17:55:00Z"
    quote = venue.quote(market.symbol)
    assert quote.bid is not None and quote.ask is not None and Decimal(0) < quote.bid < quote.ask < Decimal(1)
    bought = venue.place_order(OrderRequest("lt1", market.symbol, "yes", "open", 500, Decimal("0.99")))
    assert bought.status == "filled"
    assert market.close_time is not None
    clock.set(market.close_time + timedelta(hours=1))
    assert venue.instrument(market.symbol).result == "yes"  # the September 2025 cut happened
    assert venue.instrument("KXFEDDECISION-25SEP-H0").result == "no"
    assert [s.revenue_cents for s in venue.settlements()] == [500]


def test_prices_converge_to_the_real_outcome(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_lt", REAL_START)
    market = venue.instrument("KXFEDDECISION-25OCT-C25")
    assert market.open_time is not None and market.close_time is not None
    clock.set(market.close_time - timedelta(minutes=5))
    late = venue.quote(market.symbol).bid  # near 0.99 the ask side may be empty
    assert late is not None and late > Decimal("0.8")
    assert venue.quote("KXFEDDECISION-25OCT-H25").bid in (None, Decimal("0.01"), Decimal("0.02"), Decimal("0.03"))


def test_polymarket_markets_replay_their_recorded_book(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_lt", REAL_START)
    symbol = "POLY-NYCHIGH-26JUL16-88-89"
    market = venue.instrument(symbol)
    assert market.attributes["attribution"].startswith("Marketlens")
    # Hourly book sample at 2026-07-16T20:00Z: the winner traded around 0.70.
    clock.set(to_sim(datetime(2026, 7, 16, 20, 10, tzinfo=UTC)))
    mid = venue.quote(symbol).mid
    assert mid is not None and Decimal("0.6") < mid < Decimal("0.8")
    assert market.close_time is not None
    clock.set(market.close_time + timedelta(hours=1))
    assert venue.instrument(symbol).result == "yes"
    assert venue.instrument("POLY-NYCHIGH-26JUL16-94-95").result == "no"
