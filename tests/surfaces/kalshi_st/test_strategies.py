from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from shared.clock import SteppedClock
from shared.venues.base import BookLevel, Candle, Instrument, OrderBook, Quote
from shared.venues.kalshi.tickers import event_day
from surfaces.binary import best_side, integer_outcome_probability
from surfaces.kalshi_st.crypto import Btc15mStrategy, book_imbalance
from surfaces.kalshi_st.sports import BookOdds, SportsConsensusStrategy, devig
from surfaces.kalshi_st.weather import WeatherHighStrategy
from surfaces.strategy import TickContext

NOW = datetime(2025, 12, 26, 15, tzinfo=UTC)


def weather(symbol: str, kind: str, floor: str | None, cap: str | None) -> Instrument:
    return Instrument("sim", symbol, "binary", symbol, "weather", "KXHIGHNY-25DEC27", strike_type=kind,
                      floor_strike=D(floor) if floor else None, cap_strike=D(cap) if cap else None)


class FakeVenue:
    """Quotes, books and candles from dictionaries: the strategies' only view of a venue."""

    name = "sim"

    def __init__(self, quotes: dict[str, Quote], books: dict[str, OrderBook] | None = None,
                 candles: list[Candle] | None = None) -> None:
        self.clock = SteppedClock(NOW)
        self.quotes, self.books, self._candles = quotes, books or {}, candles or []

    def quote(self, symbol: str) -> Quote:
        return self.quotes[symbol]

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook:
        return self.books[symbol]

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        return self._candles[-count:]


class Members:
    def __init__(self, members: list[float]) -> None:
        self.members = members
        self.calls = 0

    def daily_high_members(self, station: str, day: date) -> list[float]:
        assert station == "KNYC" and day == date(2025, 12, 27)
        self.calls += 1
        return self.members


def test_ticker_day_and_bracket_probabilities_follow_kalshi_strike_types() -> None:
    assert event_day("KXHIGHNY-25DEC27") == date(2025, 12, 27)
    between = weather("KXHIGHNY-25DEC27-B31.5", "between", "31", "32")
    low = weather("KXHIGHNY-25DEC27-T29", "less", None, "29")
    high = weather("KXHIGHNY-25DEC27-T36", "greater", "36", None)
    # With a sharp belief at 31.5 °F the 31–32 bracket is near certain and both tails near impossible.
    assert integer_outcome_probability(between, 31.5, 0.25) == pytest.approx(1.0, abs=1e-3)
    assert integer_outcome_probability(low, 31.6, 0.3) == pytest.approx(0.0, abs=1e-6)
    assert integer_outcome_probability(high, 31.6, 0.3) == pytest.approx(0.0, abs=1e-6)
    # "less 29" means high <= 28: a belief centred on 28.5 sits exactly on the boundary.
    assert integer_outcome_probability(low, 28.5, 1.0) == pytest.approx(0.5)


def test_best_side_buys_no_at_one_minus_the_yes_bid() -> None:
    quote = Quote("X", NOW, bid=D("0.60"), ask=D("0.64"))
    side, price, p_model, p_market = best_side(0.30, quote)  # type: ignore[misc]
    assert (side, price) == ("no", D("0.40")) and p_model == pytest.approx(0.70) and p_market == pytest.approx(0.40)
    assert best_side(0.62, quote) is None  # inside the spread: no edge on either side


def test_weather_strategy_proposes_the_mispriced_bracket_once_per_forecast() -> None:
    between = weather("KXHIGHNY-25DEC27-B31.5", "between", "31", "32")
    tail = weather("KXHIGHNY-25DEC27-T36", "greater", "36", None)
    venue = FakeVenue({between.symbol: Quote(between.symbol, NOW, D("0.20"), D("0.22")),
                       tail.symbol: Quote(tail.symbol, NOW, D("0.30"), D("0.33"))})
    forecast = Members([31.4, 31.8, 32.1, 31.0, 31.6])
    proposals = list(WeatherHighStrategy(forecast).propose(TickContext(venue, NOW, (between, tail))))  # type: ignore[arg-type]
    by_symbol = {p.instrument.symbol: p for p in proposals}
    assert by_symbol[between.symbol].side == "yes" and by_symbol[between.symbol].price == D("0.22")
    assert by_symbol[tail.symbol].side == "no" and by_symbol[tail.symbol].price == D("0.70")
    assert forecast.calls == 1


def test_devig_removes_the_bookmakers_margin_and_sports_uses_the_median() -> None:
    assert devig(BookOdds("a", D("1.909"), D("1.909"))) == pytest.approx(0.5)
    assert devig(BookOdds("a", D("1.5"), D("2.5"))) == pytest.approx(0.625)
    assert devig(BookOdds("a", D("1.0"), D("2.5"))) is None
    market = Instrument("sim", "KXNBA-X", "binary", "game", "sports", "KXNBA")

    class Odds:
        def odds_for(self, instrument: Instrument) -> list[BookOdds]:
            return [BookOdds("a", D("1.5"), D("2.5")), BookOdds("b", D("1.45"), D("2.7")),
                    BookOdds("c", D("1.55"), D("2.4"))]

    venue = FakeVenue({market.symbol: Quote(market.symbol, NOW, D("0.50"), D("0.52"))})
    [proposal] = SportsConsensusStrategy(Odds()).propose(TickContext(venue, NOW, (market,)))  # type: ignore[arg-type]
    assert proposal.side == "yes" and proposal.p_model == pytest.approx(0.625, abs=0.01)


def test_btc_strategy_leans_with_price_above_strike_and_skips_dead_markets() -> None:
    start = NOW - timedelta(minutes=30)
    candles = [Candle("BTCUSDT", start + timedelta(minutes=i), 60, D(100000 + 10 * i), D(100000 + 10 * i + 40),
                      D(100000 + 10 * i - 40), D(100000 + 10 * i + 10)) for i in range(30)]
    market = Instrument("sim", "KXBTC15M-25DEC261015-15", "binary", "BTC up?", "crypto", "KXBTC15M-25DEC261015",
                        close_time=NOW + timedelta(minutes=10), floor_strike=D("100000"))
    book = OrderBook(market.symbol, NOW, (BookLevel(D("0.55"), 500),), (BookLevel(D("0.58"), 100),))
    venue = FakeVenue({market.symbol: Quote(market.symbol, NOW, D("0.55"), D("0.58"))}, {market.symbol: book},
                      candles)
    [proposal] = Btc15mStrategy().propose(TickContext(venue, NOW, (market,)))  # type: ignore[arg-type]
    assert proposal.side == "yes" and proposal.p_model > 0.9
    assert book_imbalance(book) == pytest.approx((500 - 100) / 600)
    flat = [Candle("BTCUSDT", c.start, 60, D(100000), D(100000), D(100000), D(100000)) for c in candles]
    dead = FakeVenue(venue.quotes, venue.books, flat)
    assert list(Btc15mStrategy().propose(TickContext(dead, NOW, (market,)))) == []  # type: ignore[arg-type]


def test_weather_memo_keeps_only_markets_still_listed() -> None:
    between = weather("KXHIGHNY-25DEC27-B31.5", "between", "31", "32")
    tail = weather("KXHIGHNY-25DEC27-T36", "greater", "36", None)
    venue = FakeVenue({between.symbol: Quote(between.symbol, NOW, D("0.20"), D("0.22")),
                       tail.symbol: Quote(tail.symbol, NOW, D("0.30"), D("0.33"))})
    strategy = WeatherHighStrategy(Members([31.4, 31.8, 32.1, 31.0, 31.6]))
    list(strategy.propose(TickContext(venue, NOW, (between, tail))))  # type: ignore[arg-type]
    assert set(strategy._p_yes) == {between.symbol, tail.symbol}
    list(strategy.propose(TickContext(venue, NOW, (tail,))))  # type: ignore[arg-type]
    assert set(strategy._p_yes) == {tail.symbol}
