"""The resolver's work: follow every surface's trade log, and resolve each filled position when its market does.

- Kalshi: the market settles (venue status ``settled`` with a result), or, for weather highs when configured, the
  NWS Daily Climate Report's final maximum decides it.
- FX and stocks: the first stop-loss or take-profit hit in the venue's candles after the entry (gap-through at
  the bar's open). If the venue still shows the position, it is closed there first (idempotent by a client order id
  derived from the trade id), so a restart mid-settlement never closes twice or records twice.
The resolved state is appended to the surface's own trades log with P&L after fees, ``resolved_at`` (venue time)
and ``resolution_source``; a sim venue always tags ``sim`` so real and synthetic results never mix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared.bus import JsonlLog, LogReader
from shared.datasources.forecast import ClimateReport
from shared.ids import derive_id
from shared.records import ResolutionSource, Trade, parse_record
from shared.surfaces import surface_spec
from shared.venues.base import Venue, VenueError
from surfaces.kalshi_st.weather import SERIES_STATIONS, climate_day
from surfaces.resolver.outcomes import binary_pnl_cents, bracket_exit, price_pnl, to_cents

log = logging.getLogger(__name__)

LIVE_SOURCES: dict[str, ResolutionSource] = {
    "kalshi": "kalshi_resolution",
    "oanda": "oanda_candles",
    "ibkr": "ibkr_position",
}


@dataclass
class SurfaceBook:
    """One surface as the resolver sees it: its venue, its trade log, and the positions still open."""

    surface: str
    venue: Venue
    trades: JsonlLog
    reader: LogReader
    granularity_s: int = 3600
    exit_fee_cents: Callable[[Trade, Decimal], int] = lambda trade, price: 0
    open: dict[str, Trade] = field(default_factory=dict)
    # A market's close time, learned on the first look: until then there is nothing to ask the venue.
    close_times: dict[str, datetime] = field(default_factory=dict)
    # Per open bracket, the end of the last complete bar already checked: each tick reads only newer bars.
    checked_until: dict[str, datetime] = field(default_factory=dict)

    @property
    def binary(self) -> bool:
        return surface_spec(self.surface).binary

    def follow(self) -> None:
        for entry in self.reader.read():
            if entry.data.get("kind") != "trade":
                continue
            trade = parse_record(Trade, entry.data, entry.ts)
            if trade.status == "filled":
                self.open[trade.id] = trade
            elif trade.status in ("resolved", "rejected", "cancelled"):
                self.open.pop(trade.id, None)
                self.checked_until.pop(trade.id, None)


class Resolver:
    def __init__(self, books: list[SurfaceBook], *, climate: ClimateReport | None = None) -> None:
        self.books = books
        self.climate = climate
        self.resolved = 0
        self.errors = 0

    def tick(self) -> list[Trade]:
        """Follow every log and resolve what can be resolved now; returns the resolved records written."""
        written = []
        for book in self.books:
            book.follow()
            for trade in list(book.open.values()):
                try:
                    resolved = self._resolve(book, trade)
                except VenueError as exc:
                    self.errors += 1
                    log.error("resolving %s on %s failed (will retry): %s", trade.id, book.surface, exc)
                    continue
                if resolved is not None:
                    book.trades.append(resolved)
                    book.open.pop(trade.id, None)
                    book.checked_until.pop(trade.id, None)
                    written.append(resolved)
                    self.resolved += 1
        return written

    def _source(self, book: SurfaceBook) -> ResolutionSource:
        return "sim" if book.venue.name == "sim" else LIVE_SOURCES[book.venue.name]

    def _resolve(self, book: SurfaceBook, trade: Trade) -> Trade | None:
        if book.binary:
            return self._settle_binary(book, trade)
        return self._close_bracket(book, trade)

    # ------------------------------------------------------------------ Kalshi
    def _settle_binary(self, book: SurfaceBook, trade: Trade) -> Trade | None:
        result, source, at = self._binary_result(book, trade)
        if result is None or at is None:
            return None
        count = trade.count or 0
        cost = trade.cost_cents or 0
        pnl = binary_pnl_cents(count, cost, trade.fees, result, trade.side)
        exit_price = Decimal(1) if result == trade.side else (Decimal(0) if result != "void" else trade.fill_price)
        return trade.model_copy(update={
            "status": "resolved", "resolved_at": at, "pnl": pnl, "exit_price": exit_price,
            "resolution_source": source, "reason": f"market result {result}",
        })

    def _binary_result(self, book: SurfaceBook, trade: Trade) -> tuple[str | None, ResolutionSource, datetime | None]:
        source = self._source(book)
        nws = self._nws_station_day(trade) if source != "sim" else None
        if nws is not None:
            source = "nws_observation"
        now = book.venue.clock.now()
        close = book.close_times.get(trade.instrument)
        if close is not None and now < close:
            return None, source, None  # still trading: nothing to ask the venue or the NWS yet
        instrument = book.venue.instrument(trade.instrument)
        if instrument.close_time is not None:
            book.close_times[trade.instrument] = instrument.close_time
            if now < instrument.close_time:
                return None, source, None
        if nws is not None:
            assert self.climate is not None
            high = self.climate.daily_high(*nws)
            if high is None:
                return None, source, None  # the final (next-morning) report is not out yet
            return _bracket_result(instrument.strike_type, instrument.floor_strike, instrument.cap_strike, high), \
                source, now
        if instrument.status != "settled" or instrument.result is None:
            return None, source, None
        at = instrument.close_time or now
        return instrument.result, source, max(at, trade.opened_at) if trade.opened_at else at

    def _nws_station_day(self, trade: Trade) -> tuple[str, date] | None:
        """(station, climate day) when this weather market settles from the NWS climate report, else None."""
        if self.climate is None or trade.category != "weather":
            return None
        station = SERIES_STATIONS.get(trade.instrument.split("-")[0])
        day = climate_day(trade.underlying or trade.instrument)
        return None if station is None or day is None else (station, day)

    # ------------------------------------------------------------------ FX / stocks
    def _close_bracket(self, book: SurfaceBook, trade: Trade) -> Trade | None:
        if trade.stop_loss is None or trade.take_profit is None or trade.opened_at is None:
            return None
        since = max(trade.opened_at, book.checked_until.get(trade.id, trade.opened_at))
        elapsed = (book.venue.clock.now() - since).total_seconds()
        bars = int(elapsed // book.granularity_s) + 2
        candles = book.venue.candles(trade.instrument, book.granularity_s, min(bars, 5000))
        hit = bracket_exit(trade.side, trade.stop_loss, trade.take_profit, candles, since)
        if hit is None:
            if candles:  # complete bars only: everything up to the last one's end has been checked
                book.checked_until[trade.id] = max(since, candles[-1].start + timedelta(seconds=book.granularity_s))
            return None
        self._close_at_venue(book, trade)
        units = trade.units or 0
        entry = trade.fill_price or trade.limit_price or hit.price
        pnl_quote = price_pnl(trade.side, units, entry, hit.price)
        pnl_usd = self._to_usd(book, trade.instrument, pnl_quote, hit.price)
        exit_fees = book.exit_fee_cents(trade, hit.price)
        fees = trade.fees + exit_fees
        return trade.model_copy(update={
            "status": "resolved", "resolved_at": hit.at, "exit_price": hit.price, "fees": fees,
            "pnl": to_cents(pnl_usd) - fees, "resolution_source": self._source(book), "reason": hit.reason,
        })

    def _close_at_venue(self, book: SurfaceBook, trade: Trade) -> None:
        held = [p for p in book.venue.positions() if p.client_order_id == trade.client_order_id]
        if held:
            book.venue.close_position(trade.instrument, derive_id("close", trade.id), held[0].venue_position_id)

    def _to_usd(self, book: SurfaceBook, symbol: str, amount: Decimal, price: Decimal) -> Decimal:
        """Convert P&L in the quote currency to USD. Stocks are quoted in USD already."""
        if "_" not in symbol:
            return amount
        base, quote = symbol.split("_", 1)
        if quote == "USD":
            return amount
        if base == "USD":
            return amount / price
        rate = usd_rate(book.venue, f"USD_{quote}")  # a cross such as EUR_JPY: P&L in JPY / USD_JPY
        if rate is None:
            raise VenueError(book.venue.name, f"no USD_{quote} rate to convert {symbol} P&L")
        return amount / rate


def usd_rate(venue: Venue, pair: str) -> Decimal | None:
    """The pair's mid now, else its last hourly close (FX is quoteless over the weekend); None if neither."""
    try:
        mid = venue.quote(pair).mid
    except VenueError:
        mid = None
    if mid is not None and mid > 0:
        return mid
    try:
        candles = venue.candles(pair, 3600, 1)
    except VenueError:
        return None
    return candles[-1].close if candles and candles[-1].close > 0 else None


def _bracket_result(strike_type: str | None, floor: Decimal | None, cap: Decimal | None, high: int) -> str:
    value = Decimal(high)
    if strike_type == "between" and floor is not None and cap is not None:
        return "yes" if floor <= value <= cap else "no"
    if strike_type in ("less", "less_or_equal") and cap is not None:
        return "yes" if (value < cap if strike_type == "less" else value <= cap) else "no"
    if strike_type in ("greater", "greater_or_equal") and floor is not None:
        return "yes" if (value > floor if strike_type == "greater" else value >= floor) else "no"
    raise VenueError("resolver", f"cannot settle strike type {strike_type!r} from a temperature")
