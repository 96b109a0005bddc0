"""kalshi_lt sim: real titles (KXFEDDECISION, Polymarket) on the compressed clock, sim outcomes from the latent
process that moves the prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.venues.base import OrderRequest
from shared.venues.sim.longterm import REAL_START, LongTermMarkets, to_sim, win_probabilities

SimFactory = Any


def test_fed_markets_carry_real_titles_and_settle_to_the_sims_result(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_lt", REAL_START + timedelta(hours=1))
    market = venue.instrument("KXFEDDECISION-25SEP-C25")
    assert market.title.startswith("Will the Federal Reserve Cut rates by 25bps at their Septemb")
    assert market.status == "open" and market.category == "macro"
    assert market.close_time == to_sim(datetime(2025, 9, 17, 17, 55, tzinfo=UTC))
    assert market.attributes["real_close_time"] == "2025-09-17T17:55:00Z"
    assert market.attributes["outcome"] == "sim"
    assert market.result is None
    quote = venue.quote(market.symbol)
    assert quote.bid is not None and quote.ask is not None and Decimal(0) < quote.bid < quote.ask < Decimal(1)
    bought = venue.place_order(OrderRequest("lt1", market.symbol, "yes", "open", 500, Decimal("0.99")))
    assert bought.status == "filled"
    assert market.close_time is not None
    clock.set(market.close_time + timedelta(hours=1))
    settled = venue.instrument(market.symbol)
    assert settled.result in ("yes", "no")
    assert [s.revenue_cents for s in venue.settlements()] == [500 if settled.result == "yes" else 0]


def test_each_event_has_exactly_one_winner_and_prices_sum_to_one() -> None:
    for seed in (1, 2, 3):
        markets = LongTermMarkets(seed)
        for event, info in markets._events.items():
            specs = [markets.spec(s) for s in info.symbols]
            assert sum(1 for s in specs if s is not None and s.result == "yes") == 1, event
            for step in (0, info.steps // 3, info.steps - 1):
                assert sum(markets.prices(event, step)) == pytest.approx(1.0, abs=1e-9)
            assert markets.prices(event, 0) == pytest.approx([1 / len(info.symbols)] * len(info.symbols), abs=1e-6)


def test_outcomes_depend_on_the_seed_not_on_the_real_results() -> None:
    results = {seed: {s.symbol: s.result for s in LongTermMarkets(seed)._specs.values()} for seed in range(1, 9)}
    september_cut = {r["KXFEDDECISION-25SEP-C25"] for r in results.values()}
    assert september_cut == {"yes", "no"}  # the real September cut does not fix the sim's result


def test_prices_converge_to_the_sims_outcome(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_lt", REAL_START)
    market = venue.instrument("KXFEDDECISION-25OCT-C25")
    assert market.open_time is not None and market.close_time is not None
    clock.set(market.close_time - timedelta(minutes=1))
    final = LongTermMarkets(7).spec(market.symbol)
    assert final is not None
    mid = venue.quote(market.symbol).mid
    bid, ask = venue.quote(market.symbol).bid, venue.quote(market.symbol).ask
    late = mid if mid is not None else (bid if bid is not None else Decimal(1) - (ask or Decimal(1)))
    assert (late > Decimal("0.5")) == (final.result == "yes")


def test_win_probabilities_limits() -> None:
    assert win_probabilities((0.0, 0.0), 1.0) == pytest.approx((0.5, 0.5), abs=1e-6)
    assert win_probabilities((0.3,), 0.0) == (1.0,)
    assert win_probabilities((0.1, 0.4, -0.2), 0.0) == (0.0, 1.0, 0.0)
    leader = win_probabilities((1.0, 0.0, 0.0), 0.25)
    assert leader[0] > 0.8 and leader[1] == pytest.approx(leader[2])


def test_polymarket_markets_keep_attribution_and_settle(make_sim: SimFactory) -> None:
    venue, clock = make_sim("kalshi_lt", REAL_START)
    symbol = "POLY-NYCHIGH-26JUL16-88-89"
    market = venue.instrument(symbol)
    assert market.attributes["attribution"].startswith("Marketlens")
    assert market.close_time is not None
    clock.set(market.close_time + timedelta(hours=1))
    event = [venue.instrument(s.symbol) for s in LongTermMarkets(7).markets(market.close_time)
             if s.underlying == market.underlying]
    assert sum(1 for m in event if m.result == "yes") == 1
