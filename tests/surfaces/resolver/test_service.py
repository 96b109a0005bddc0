"""The resolver asks the venue only what it needs: no market lookups before close, no fills while positions are held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from shared.bus import JsonlLog
from shared.clock import SteppedClock
from shared.records import Trade
from shared.venues.base import Candle, Fill, Instrument, Position, Settlement
from surfaces.resolver.service import Resolver, SurfaceBook

T0 = datetime(2025, 7, 30, 9, tzinfo=UTC)


class CountingVenue:
    name = "sim"

    def __init__(self) -> None:
        self.clock = SteppedClock(T0)
        self.instrument_calls = 0
        self.candle_counts: list[int] = []

    def instrument(self, symbol: str) -> Instrument:
        self.instrument_calls += 1
        settled = self.clock.now() >= T0 + timedelta(hours=5)
        return Instrument("sim", symbol, "binary", symbol, "weather", "EVT", status="settled" if settled else "open",
                          close_time=T0 + timedelta(hours=4), result="yes" if settled else None,
                          strike_type="between", floor_strike=D("31"), cap_strike=D("32"))

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        self.candle_counts.append(count)
        now = self.clock.now()
        bars = []
        start = T0
        while start + timedelta(seconds=granularity_s) <= now:  # complete bars only, flat far from SL/TP
            bars.append(Candle(symbol, start, granularity_s, D("1.1000"), D("1.1005"), D("1.0995"), D("1.1000")))
            start += timedelta(seconds=granularity_s)
        return bars[-count:]

    def positions(self) -> list[object]:
        return []

    def settlements(self, since: datetime | None = None) -> list[Settlement]:
        settled = self.clock.now() >= T0 + timedelta(hours=5)
        return [Settlement("KXHIGHNY-25DEC27-B31.5", "yes", T0 + timedelta(hours=4, minutes=40))] if settled else []


def filled(log: JsonlLog, **kw: object) -> None:
    base = dict(id="trade-1", signal_id="S1", client_order_id="coid-1", status="filled", surface="kalshi_st",
                venue="sim", instrument="KXHIGHNY-25DEC27-B31.5", side="yes", count=100, cost_cents=40, fees=2,
                fill_price=D("0.40"), opened_at=T0)
    base.update(kw)
    log.append(Trade(**base))  # type: ignore[arg-type]


def test_a_binary_market_is_looked_up_once_before_its_close_then_settled(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "trades.jsonl")
    filled(log)
    venue = CountingVenue()
    resolver = Resolver([SurfaceBook("kalshi_st", venue, log, log.reader())])  # type: ignore[arg-type]
    for _ in range(10):  # ten ticks while the market trades: one lookup learns its close time
        venue.clock.advance(timedelta(minutes=10))
        assert resolver.tick() == []
    assert venue.instrument_calls == 1
    venue.clock.set(T0 + timedelta(hours=5))
    [resolved] = resolver.tick()
    assert resolved.pnl == 100 - 40 - 2 and resolved.resolution_source == "sim"
    assert resolved.resolved_at == T0 + timedelta(hours=4, minutes=40)  # when the venue paid out, not the close


class BracketVenue(CountingVenue):
    """A live-like venue: holds one position until told, then reports its closing fill only when told."""

    name = "oanda"

    def __init__(self) -> None:
        super().__init__()
        self.held = True
        self.exit_reported = False
        self.entry_names_position = False  # OANDA's opening fill names the trade it opened (tradeOpened.tradeID)
        self.books_pnl = True  # a venue that does not book a closing fill's P&L leaves the resolver to price it
        self.position_calls = 0
        self.fill_calls = 0

    def positions(self) -> list[Position]:  # type: ignore[override]
        self.position_calls += 1
        # OANDA names a position by its trade id, not by the id of the order that opened it.
        return [Position("EUR_USD", "long", 1000, D("1.1000"), "coid-1", "oanda-trade-7")] if self.held else []

    def fills(self, since: datetime | None = None) -> list[Fill]:
        self.fill_calls += 1
        entry = Fill("order-1", "coid-1", "EUR_USD", "long", "open", 1000, D("1.1000"), 0, T0, spread_cost_cents=1,
                     position_id="oanda-trade-7" if self.entry_names_position else None)
        exit_fill = Fill("order-9", None, "EUR_USD", "long", "close", 1000, D("1.1100"), 0, T0 + timedelta(hours=3),
                         position_id="oanda-trade-7", realized_pnl_cents=1000 if self.books_pnl else None,
                         spread_cost_cents=1)
        return [entry, exit_fill] if self.exit_reported else [entry]


def test_a_bracket_asks_for_positions_once_a_tick_and_for_fills_only_once_one_is_gone(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "trades.jsonl")
    filled(log, surface="fx", instrument="EUR_USD", side="long", count=None, units=1000, cost_cents=2200, fees=0,
           fill_price=D("1.1000"), stop_loss=D("1.0900"), take_profit=D("1.1100"), venue_order_id="order-1")
    venue = BracketVenue()
    resolver = Resolver([SurfaceBook("fx", venue, log, log.reader())])  # type: ignore[arg-type]
    for _ in range(5):
        venue.clock.advance(timedelta(hours=1))
        assert resolver.tick() == []
    assert (venue.position_calls, venue.fill_calls, venue.candle_counts) == (5, 0, [])
    venue.held = False  # the venue's stop/target order closed it; its fill is not reported yet
    assert resolver.tick() == [] and resolver.tick() == []  # no exit invented meanwhile
    venue.exit_reported = True
    [resolved] = resolver.tick()
    assert (resolved.exit_price, resolved.resolved_at, resolved.reason) == (D("1.1100"), T0 + timedelta(hours=3),
                                                                             "take_profit")
    assert (resolved.pnl, resolved.fees, resolved.resolution_source) == (1000, 2, "oanda_candles")
    assert resolver.tick() == []


class CountingClimate:
    def __init__(self) -> None:
        self.calls = 0
        self.final: int | None = None

    def daily_high(self, station: str, day: object) -> int | None:
        assert station == "KNYC"
        self.calls += 1
        return self.final


def test_nws_settlement_is_asked_only_after_the_close_and_uses_the_final_report(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "trades.jsonl")
    filled(log, category="weather", underlying="KXHIGHNY-25DEC27")
    venue = CountingVenue()
    venue.name = "kalshi"  # a live venue: the NWS source applies (the sim always settles as "sim")
    climate = CountingClimate()
    resolver = Resolver([SurfaceBook("kalshi_st", venue, log, log.reader())], climate=climate)  # type: ignore[arg-type]
    for _ in range(10):  # trading hours: one venue lookup learns the close, the NWS is never asked
        venue.clock.advance(timedelta(minutes=10))
        assert resolver.tick() == []
    assert climate.calls == 0 and venue.instrument_calls == 1
    venue.clock.set(T0 + timedelta(hours=4, minutes=30))
    assert resolver.tick() == [] and climate.calls == 1  # closed, but the final report is not out yet
    climate.final = 32  # B31.5 is 31-32 °F inclusive
    venue.clock.advance(timedelta(minutes=10))
    [resolved] = resolver.tick()
    assert resolved.resolution_source == "nws_observation" and resolved.pnl == 100 - 40 - 2


def test_a_restarted_resolver_finds_the_exit_through_the_opening_fill(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "trades.jsonl")
    filled(log, surface="fx", instrument="EUR_USD", side="long", count=None, units=1000, cost_cents=2200, fees=0,
           fill_price=D("1.1000"), stop_loss=D("1.0900"), take_profit=D("1.1100"), venue_order_id="order-1")
    venue = BracketVenue()
    venue.held, venue.exit_reported = False, True  # closed while no resolver was watching
    resolver = Resolver([SurfaceBook("fx", venue, log, log.reader())])  # type: ignore[arg-type]
    assert resolver.tick() == []  # the position's venue id is unknown: no exit can be claimed for it
    venue.entry_names_position = True
    [resolved] = resolver.tick()
    assert (resolved.exit_price, resolved.pnl) == (D("1.1100"), 1000)


def test_an_exit_without_a_booked_pnl_is_priced_from_the_two_fills(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "trades.jsonl")
    filled(log, surface="fx", instrument="EUR_USD", side="long", count=None, units=1000, cost_cents=2200, fees=0,
           fill_price=D("1.1000"), stop_loss=D("1.0900"), take_profit=D("1.1100"), venue_order_id="order-1")
    venue = BracketVenue()
    venue.held, venue.exit_reported, venue.entry_names_position, venue.books_pnl = False, True, True, False
    [resolved] = Resolver([SurfaceBook("fx", venue, log, log.reader())]).tick()  # type: ignore[arg-type]
    assert resolved.pnl == 1000  # 1,000 units × 0.0100 USD, from entry fill to exit fill


class NettedVenue(BracketVenue):
    """IBKR-like: positions are netted per symbol (no client order id), a bracket child names its parent's cOID."""

    name = "ibkr"

    def positions(self) -> list[Position]:  # type: ignore[override]
        return [Position("AAPL", "long", 10, D("189.53"), None, "265598")]

    def fills(self, since: datetime | None = None) -> list[Fill]:
        self.fill_calls += 1
        entry = Fill("1234567890", "coid-1", "AAPL", "long", "open", 10, D("189.53"), 100, T0, position_id="coid-1")
        child = Fill("1234567891", "coid-1-tp", "AAPL", "long", "close", 10, D("191.00"), 100,
                     T0 + timedelta(hours=2), position_id="coid-1")
        return [entry, child] if self.exit_reported else [entry]


def test_a_netted_position_is_resolved_by_its_bracket_childs_fill(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "trades.jsonl")
    filled(log, surface="stocks", instrument="AAPL", side="long", count=None, units=10, cost_cents=189_530, fees=100,
           fill_price=D("189.53"), stop_loss=D("188.00"), take_profit=D("191.00"), venue_order_id="1234567890")
    venue = NettedVenue()
    resolver = Resolver([SurfaceBook("stocks", venue, log, log.reader())])  # type: ignore[arg-type]
    assert resolver.tick() == []  # still netted into the symbol's position: asked for fills, found no exit
    venue.exit_reported = True
    [resolved] = resolver.tick()
    assert (resolved.exit_price, resolved.reason, resolved.fees) == (D("191.00"), "take_profit", 200)
    assert resolved.pnl == (19_100 - 18_953) * 10 - 200 and resolved.resolution_source == "ibkr_position"
