"""One test per exit rule: the resolver books exactly the fill the sim venue made, never a level of its own.

Each test scripts the hourly bars of a real sim venue (FX or stocks), opens a position on it as the surface's
lifecycle does, writes the filled trade, and lets the resolver follow. The resolved trade must carry the venue's
exit fill (price, time), the venue's fees (commissions plus the FX spread) and a P&L equal to what the trade did
to the venue's cash, to the cent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from shared.bus import JsonlLog
from shared.clock import SteppedClock
from shared.ids import derive_id
from shared.records import Trade
from shared.venues.base import Fill, OrderRequest
from shared.venues.sim.data import Bar
from shared.venues.sim.fx import FxSimVenue
from shared.venues.sim.linear import LinearSimVenue
from shared.venues.sim.path import BarSeries
from shared.venues.sim.stocks import StocksSimVenue
from surfaces.resolver.service import Resolver, SurfaceBook

CASH = 1_000_000
MONDAY = datetime(2025, 7, 28, tzinfo=UTC)


def flat(start: datetime, hours: int, price: str) -> list[Bar]:
    return [Bar(start + timedelta(hours=h), 3600, D(price), D(price), D(price), D(price)) for h in range(hours)]


def bar(start: datetime, o: str, h: str, low: str, c: str) -> Bar:
    return Bar(start, 3600, D(o), D(h), D(low), D(c))


class ScriptedFx(FxSimVenue):
    """The FX sim venue (its spreads, rollover, trigger rule and conversion) over bars a test chooses."""

    def __init__(self, clock: SteppedClock, state_dir: Path, bars: dict[str, list[Bar]]) -> None:
        LinearSimVenue.__init__(self, "fx", clock, state_dir, 7, CASH,
                                {symbol: BarSeries(symbol, b) for symbol, b in bars.items()})


class ScriptedStocks(StocksSimVenue):
    def __init__(self, clock: SteppedClock, state_dir: Path, bars: dict[str, list[Bar]]) -> None:
        LinearSimVenue.__init__(self, "stocks", clock, state_dir, 7, CASH,
                                {symbol: BarSeries(symbol, b) for symbol, b in bars.items()})


class Desk:
    """A sim venue, the surface's trade log as the lifecycle writes it, and the resolver following it."""

    def __init__(self, venue: LinearSimVenue, clock: SteppedClock, log_dir: Path) -> None:
        self.venue, self.clock = venue, clock
        self.log = JsonlLog(log_dir / "trades.jsonl")
        surface = "fx" if isinstance(venue, FxSimVenue) else "stocks"
        self.surface = surface
        self.resolver = Resolver([SurfaceBook(surface, venue, self.log, self.log.reader())])

    def open(self, symbol: str, side: str, units: int, stop_loss: str, take_profit: str) -> Trade:
        trade_id = f"t-{symbol}-{side}-{self.clock.now():%H%M}"
        result = self.venue.place_order(OrderRequest(f"c-{trade_id}", symbol, side, "open", units,  # type: ignore[arg-type]
                                                     None, "ioc", D(stop_loss), D(take_profit)))
        assert result.status == "filled", result.reason
        trade = Trade(id=trade_id, signal_id="S", client_order_id=f"c-{trade_id}", status="filled",
                      surface=self.surface, venue="sim", instrument=symbol, side=side, units=units,  # type: ignore[arg-type]
                      fill_price=result.avg_fill_price, fees=result.fees_cents, opened_at=result.at,
                      venue_order_id=result.venue_order_id, stop_loss=D(stop_loss), take_profit=D(take_profit))
        self.log.append(trade)
        return trade

    def at(self, moment: datetime) -> list[Trade]:
        self.clock.set(moment)
        return self.resolver.tick()

    def fills_of(self, trade: Trade) -> tuple[Fill, Fill]:
        fills = self.venue.fills()
        [entry] = [f for f in fills if f.venue_order_id == trade.venue_order_id]
        [exit_fill] = [f for f in fills if f.intent == "close" and f.position_id == trade.venue_order_id]
        return entry, exit_fill

    def cash_moved(self) -> int:
        return self.venue.balance().cash_cents - CASH


def assert_booked_as_the_venue_filled(desk: Desk, trade: Trade, resolved: Trade) -> Fill:
    entry, exit_fill = desk.fills_of(trade)
    assert resolved.id == trade.id and resolved.status == "resolved" and resolved.resolution_source == "sim"
    assert (resolved.exit_price, resolved.resolved_at) == (exit_fill.price, exit_fill.at)
    assert resolved.fill_price == entry.price
    commissions = entry.fees_cents + exit_fill.fees_cents
    assert resolved.fees == commissions + entry.spread_cost_cents + exit_fill.spread_cost_cents
    assert resolved.pnl == desk.cash_moved()  # the only trade on the account: its P&L is the cash it moved
    assert exit_fill.realized_pnl_cents is not None and resolved.pnl == exit_fill.realized_pnl_cents - commissions
    return exit_fill


def test_a_long_whose_mid_touches_the_target_but_whose_bid_does_not_stays_open(tmp_path: Path) -> None:
    bars = [*flat(MONDAY, 2, "1.10000"),
            bar(MONDAY + timedelta(hours=2), "1.10000", "1.10100", "1.09990", "1.10050"),  # mid reaches 1.10100
            *flat(MONDAY + timedelta(hours=3), 1, "1.10050"),
            bar(MONDAY + timedelta(hours=4), "1.10050", "1.10200", "1.10040", "1.10150"),  # the bid gets there
            *flat(MONDAY + timedelta(hours=5), 3, "1.10150")]
    clock = SteppedClock(MONDAY + timedelta(minutes=30))
    desk = Desk(ScriptedFx(clock, tmp_path / "sim", {"EUR_USD": bars}), clock, tmp_path)
    trade = desk.open("EUR_USD", "long", 100_000, "1.09800", "1.10100")
    assert desk.at(MONDAY + timedelta(hours=4)) == []
    touched = [c for c in desk.venue.candles("EUR_USD", 3600, 5) if c.high >= D("1.10100")]
    assert touched  # a mid-candle rule would have booked the target here
    assert [p.venue_position_id for p in desk.venue.positions()] == [trade.venue_order_id]
    [resolved] = desk.at(MONDAY + timedelta(hours=6))
    exit_fill = assert_booked_as_the_venue_filled(desk, trade, resolved)
    assert resolved.reason == "take_profit" and exit_fill.price == D("1.10100")
    assert MONDAY + timedelta(hours=4) < exit_fill.at < MONDAY + timedelta(hours=5)
    # The spread shows as a fee: about half a 1.2-pip spread on each side of 100k units (~$6 each way).
    entry, _ = desk.fills_of(trade)
    assert entry.spread_cost_cents == round((entry.price - D("1.10000")) * 100_000 * 100)
    assert 400 <= entry.spread_cost_cents <= 800 and 400 <= exit_fill.spread_cost_cents <= 800
    assert desk.at(MONDAY + timedelta(hours=7)) == []  # booked once


def test_the_rollover_hour_spread_stops_a_short_whose_mid_never_moved(tmp_path: Path) -> None:
    start = MONDAY + timedelta(hours=18)
    clock = SteppedClock(start + timedelta(minutes=30))
    venue = ScriptedFx(clock, tmp_path / "sim", {"EUR_USD": flat(start, 6, "1.10000")})
    mid = D("1.10000")
    normal = max(venue.half_spread("EUR_USD", mid, start + timedelta(hours=h)) for h in range(3))
    rollover = venue.half_spread("EUR_USD", mid, start + timedelta(hours=3))
    assert rollover >= 2 * normal  # 21:00 UTC: the spread triples
    stop = (mid + (normal + rollover) / 2).quantize(D("0.00001"))
    desk = Desk(venue, clock, tmp_path)
    trade = desk.open("EUR_USD", "short", 100_000, str(stop), "1.09000")
    assert desk.at(start + timedelta(hours=2, minutes=59)) == []  # 20:59: the ask stays below the stop
    [resolved] = desk.at(start + timedelta(hours=4))
    exit_fill = assert_booked_as_the_venue_filled(desk, trade, resolved)
    assert exit_fill.at == start + timedelta(hours=3)  # at the rollover, on the ask
    assert exit_fill.price >= stop and resolved.reason in ("stop_loss", "stop_loss_gap")
    assert resolved.pnl is not None and resolved.pnl < 0  # a flat market, and only the spread paid


def test_a_gap_through_the_stop_fills_at_the_gap_price(tmp_path: Path) -> None:
    friday = datetime(2025, 8, 1, 18, tzinfo=UTC)
    monday = datetime(2025, 8, 4, tzinfo=UTC)
    bars = [*flat(friday, 3, "1.10000"), *flat(monday, 3, "1.09500")]
    clock = SteppedClock(friday + timedelta(minutes=30))
    desk = Desk(ScriptedFx(clock, tmp_path / "sim", {"EUR_USD": bars}), clock, tmp_path)
    trade = desk.open("EUR_USD", "long", 50_000, "1.09800", "1.10500")
    assert desk.at(datetime(2025, 8, 3, 12, tzinfo=UTC)) == []  # the weekend: no quote, nothing happens
    [resolved] = desk.at(monday + timedelta(hours=1))
    exit_fill = assert_booked_as_the_venue_filled(desk, trade, resolved)
    assert exit_fill.at == monday and exit_fill.price < D("1.09500") < D("1.09800")  # the bid at the reopening
    assert resolved.reason == "stop_loss_gap"


def test_a_bar_touching_both_levels_is_decided_by_the_venues_path(tmp_path: Path) -> None:
    # A down bar walks open → high → low → close: a long's target comes before its stop (a "touches both → stop"
    # rule would have booked the stop); an up bar walks to the low first, so the same bracket is stopped.
    down = bar(MONDAY + timedelta(hours=2), "1.10000", "1.10300", "1.09700", "1.09900")
    up = bar(MONDAY + timedelta(hours=2), "1.10000", "1.10300", "1.09700", "1.10100")
    for shape, expected, level in ((down, "take_profit", "1.10200"), (up, "stop_loss", "1.09800")):
        folder = tmp_path / expected
        clock = SteppedClock(MONDAY + timedelta(minutes=30))
        bars = [*flat(MONDAY, 2, "1.10000"), shape, *flat(MONDAY + timedelta(hours=3), 2, shape.close.to_eng_string())]
        desk = Desk(ScriptedFx(clock, folder / "sim", {"EUR_USD": bars}), clock, folder)
        trade = desk.open("EUR_USD", "long", 100_000, "1.09800", "1.10200")
        [resolved] = desk.at(MONDAY + timedelta(hours=4))
        exit_fill = assert_booked_as_the_venue_filled(desk, trade, resolved)
        assert resolved.reason == expected and exit_fill.price == D(level)


def test_a_close_order_is_booked_at_its_own_fill(tmp_path: Path) -> None:
    clock = SteppedClock(MONDAY + timedelta(minutes=30))
    desk = Desk(ScriptedFx(clock, tmp_path / "sim", {"EUR_USD": flat(MONDAY, 4, "1.10000")}), clock, tmp_path)
    trade = desk.open("EUR_USD", "long", 100_000, "1.09000", "1.11000")
    assert desk.at(MONDAY + timedelta(hours=1)) == []
    assert trade.venue_order_id is not None
    close = desk.venue.close_position("EUR_USD", derive_id("close", trade.id), trade.venue_order_id)
    [resolved] = desk.at(MONDAY + timedelta(hours=1, minutes=30))
    assert resolved.exit_price == close.avg_fill_price and resolved.resolved_at == close.at
    assert resolved.reason == "closed" and resolved.pnl == desk.cash_moved()


def test_a_jpy_pnl_is_the_venues_conversion_at_the_exit(tmp_path: Path) -> None:
    bars = [*flat(MONDAY, 2, "147.000"), bar(MONDAY + timedelta(hours=2), "147.000", "148.500", "146.900", "148.400"),
            *flat(MONDAY + timedelta(hours=3), 2, "148.400")]
    clock = SteppedClock(MONDAY + timedelta(minutes=30))
    desk = Desk(ScriptedFx(clock, tmp_path / "sim", {"USD_JPY": bars}), clock, tmp_path)
    trade = desk.open("USD_JPY", "long", 100_000, "146.000", "148.000")
    [resolved] = desk.at(MONDAY + timedelta(hours=4))
    assert_booked_as_the_venue_filled(desk, trade, resolved)
    assert resolved.reason == "take_profit" and resolved.pnl is not None and resolved.pnl > 0


def test_a_stock_short_pays_both_commissions_and_books_the_venues_cash(tmp_path: Path) -> None:
    session = datetime(2025, 4, 14, 13, 30, tzinfo=UTC)  # 09:30 New York
    bars = [*flat(session, 2, "200.00"), bar(session + timedelta(hours=2), "200.00", "200.20", "195.50", "196.00"),
            *flat(session + timedelta(hours=3), 3, "196.00")]
    clock = SteppedClock(session + timedelta(minutes=30))
    desk = Desk(ScriptedStocks(clock, tmp_path / "sim", {"AAPL": bars}), clock, tmp_path)
    trade = desk.open("AAPL", "short", 300, "203.00", "197.00")
    [resolved] = desk.at(session + timedelta(hours=4))
    exit_fill = assert_booked_as_the_venue_filled(desk, trade, resolved)
    assert resolved.reason == "take_profit" and exit_fill.price == D("197.00")
    entry, _ = desk.fills_of(trade)
    assert resolved.fees == entry.fees_cents + exit_fill.fees_cents == 300  # $0.005 × 300 shares, twice
    assert resolved.pnl == int((entry.price - D("197.00")) * 300 * 100) - 300
