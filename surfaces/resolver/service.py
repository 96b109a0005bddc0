"""The resolver's work: follow every surface's trade log, and resolve each filled position when its market does.

- Kalshi: the market settles (venue status ``settled`` with a result), or, for weather highs when configured, the
  NWS Daily Climate Report's final maximum decides it. A venue-settled trade resolves at the venue's settlement
  time (when the cash moved), else at the market's close.
- FX and stocks: the venue enforces each position's stop loss and take profit (the sim by its one path rule, a long
  exiting on the bid and a short on the ask; OANDA by the trade's SL/TP orders; IBKR by the bracket's children).
  The venue is the authority on which exit happened: once a position is gone from ``positions()``, its closing
  fill(s) in ``fills()`` (matched by the position they close, or by the close order's client id) are the trade's
  exit. Its price, time, fees and P&L are the venue's fill, never a level computed here.
The resolved state is appended to the surface's own trades log with P&L after fees, ``resolved_at`` (venue time)
and ``resolution_source``; a sim venue always tags ``sim`` so real and synthetic results never mix.

P&L and fees of a resolved FX/stock trade (one convention, so every report reconciles with the venue's cash):

- ``pnl`` = (exit fill − entry fill) × units in USD cents, as the venue booked it (its own conversion of a
  non-USD quote currency at the exit), minus the commissions of the entry and the exit. It is exactly the
  trade's movement of the venue's cash.
- ``fees`` = those commissions + the spread cost (the entry's and the exit's half-spread against the mid, as the
  venue reports it). The spread is already inside the fill prices, so it is shown and never charged twice:
  ``pnl + fees`` (the audit's gross) is what the trade would have made at the mid with no commission.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from pydantic import ValidationError

from shared.bus import JsonlLog, LogReader
from shared.datasources.forecast import ClimateReport
from shared.ids import derive_id
from shared.money.fx import MissingRate, is_pair, quote_to_usd, usd_rate_pair
from shared.money.portfolio import Portfolio
from shared.records import TERMINAL_STATUSES, ResolutionSource, Trade, parse_record
from shared.surfaces import surface_spec
from shared.venues.base import Fill, Position, Venue, VenueError
from shared.venues.kalshi.tickers import SERIES_STATIONS, event_day, series_of
from shared.venues.rates import usd_rate
from surfaces.resolver.outcomes import binary_pnl_cents, exit_reason, price_pnl, to_cents

log = logging.getLogger(__name__)

LIVE_SOURCES: dict[str, ResolutionSource] = {
    "kalshi": "kalshi_resolution",
    "oanda": "oanda_candles",
    "ibkr": "ibkr_position",
}


@dataclass
class SurfaceBook:
    """One surface as the resolver sees it: its venue, its trade log, and the positions still open.

    The open positions are the portfolio fold's (shared/money/portfolio.py), the same fold the surface's ledger,
    the dashboard and the audit read, over both modes (the resolver settles paper and live trades alike).
    """

    surface: str
    venue: Venue
    trades: JsonlLog
    reader: LogReader
    portfolio: Portfolio = field(init=False)
    # A market's close time, learned on the first look: until then there is nothing to ask the venue.
    close_times: dict[str, datetime] = field(default_factory=dict)
    # Trade id -> the venue's position id, learned while the venue holds it (an OANDA trade id is not the id of
    # the order that opened it), so the closing fill can be matched after the position is gone.
    position_ids: dict[str, str] = field(default_factory=dict)
    # Trades whose position left the venue before its closing fill could be found (warned about once).
    unmatched: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.portfolio = Portfolio(self.surface, None, bankroll_cents=0)

    @property
    def binary(self) -> bool:
        return surface_spec(self.surface).binary

    @property
    def open(self) -> dict[str, Trade]:
        """Filled positions not resolved yet, by trade id."""
        return {trade.id: trade for trade in self.portfolio.open_trades(("filled",))}

    def follow(self) -> None:
        for entry in self.reader.read():
            if entry.data.get("kind") != "trade":
                continue
            try:
                trade = parse_record(Trade, entry.data, entry.ts)
            except ValidationError as exc:
                log.warning("%s trades: skipped invalid trade at byte %d: %s", self.surface, entry.offset, exc)
                continue
            self.record(trade)

    def record(self, trade: Trade) -> None:
        """Fold a state in (read from the log, or just written by the resolver itself)."""
        if self.portfolio.apply(trade) and trade.status in TERMINAL_STATUSES:
            self.position_ids.pop(trade.id, None)
            self.unmatched.discard(trade.id)


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
            for resolved in self._resolve_book(book):
                book.trades.append(resolved)
                book.record(resolved)
                written.append(resolved)
                self.resolved += 1
        return written

    def _resolve_book(self, book: SurfaceBook) -> list[Trade]:
        if not book.open:
            return []
        if not book.binary:
            try:
                return self._close_brackets(book)
            except VenueError as exc:
                self.errors += 1
                log.error("resolving brackets on %s failed (will retry): %s", book.surface, exc)
                return []
        out = []
        for trade in list(book.open.values()):
            try:
                resolved = self._settle_binary(book, trade)
            except VenueError as exc:
                self.errors += 1
                log.error("resolving %s on %s failed (will retry): %s", trade.id, book.surface, exc)
                continue
            if resolved is not None:
                out.append(resolved)
        return out

    def _source(self, book: SurfaceBook) -> ResolutionSource:
        return "sim" if book.venue.name == "sim" else LIVE_SOURCES[book.venue.name]

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
        at = self._settled_at(book, trade, instrument.close_time) or now
        return instrument.result, source, max(at, trade.opened_at) if trade.opened_at else at

    def _settled_at(self, book: SurfaceBook, trade: Trade, close: datetime | None) -> datetime | None:
        """When the venue paid the position out (its settlement record), else the market's close: the P&L is
        realized when the cash moves, which on a binary can be well after trading stopped."""
        for settlement in book.venue.settlements(since=close):
            if settlement.symbol == trade.instrument:
                return settlement.settled_at
        return close

    def _nws_station_day(self, trade: Trade) -> tuple[str, date] | None:
        """(station, climate day) when this weather market settles from the NWS climate report, else None."""
        if self.climate is None or trade.category != "weather":
            return None
        station = SERIES_STATIONS.get(series_of(trade.instrument))
        day = event_day(trade.underlying or trade.instrument)
        return None if station is None or day is None else (station, day)

    # ------------------------------------------------------------------ FX / stocks
    def _close_brackets(self, book: SurfaceBook) -> list[Trade]:
        """Resolve every open position the venue no longer holds, from its closing fill(s)."""
        held = book.venue.positions()
        gone = []
        for trade in book.open.values():
            if trade.opened_at is None:
                continue
            position = _held(trade, held, book.position_ids.get(trade.id))
            if position is None:
                gone.append(trade)
            elif position.venue_position_id is not None:
                book.position_ids[trade.id] = position.venue_position_id
        if not gone:
            return []
        fills = book.venue.fills(since=min(t.opened_at for t in gone if t.opened_at is not None))
        out = []
        for trade in gone:
            resolved = self._from_fills(book, trade, fills)
            if resolved is not None:
                out.append(resolved)
        return out

    def _from_fills(self, book: SurfaceBook, trade: Trade, fills: Sequence[Fill]) -> Trade | None:
        """The trade resolved at its venue exit; None (and one warning) while the venue shows no complete exit."""
        units = trade.units or 0
        entries = [f for f in fills if f.intent == "open" and f.venue_order_id == trade.venue_order_id]
        # Every name the position goes by: the opening order, its client id, the venue's position id (learned
        # while held, or from the opening fill: a restarted resolver never saw an OANDA trade that closed since).
        ids = {trade.venue_order_id, trade.client_order_id, book.position_ids.get(trade.id),
               *(f.position_id for f in entries)} - {None}
        own_close = derive_id("close", trade.id)
        # A fill of our own close order is this position's exit whatever the venue calls it (an IBKR execution
        # says only buy or sell); any other fill must say it closed one of the position's names.
        exits = [f for f in fills if f.client_order_id == own_close or (f.intent == "close" and f.position_id in ids)]
        closed = sum(f.quantity for f in exits)
        if not exits or closed != units:
            if trade.id not in book.unmatched:
                book.unmatched.add(trade.id)
                log.warning("%s %s: the venue no longer holds the position but shows %d of %d units closed; "
                            "waiting for its closing fill", book.surface, trade.id, closed, units)
            return None
        exit_price = (sum((f.price * f.quantity for f in exits), Decimal(0)) / closed).quantize(Decimal("0.000001"))
        entry_price = trade.fill_price or trade.limit_price
        if entry_price is None:
            raise VenueError(book.venue.name, f"trade {trade.id} has no entry price")
        commissions = (sum(f.fees_cents for f in entries) if entries else trade.fees) + sum(f.fees_cents for f in exits)
        spread = sum(f.spread_cost_cents for f in (*entries, *exits))
        booked = [f.realized_pnl_cents for f in exits]
        if all(b is not None for b in booked):
            realized = sum(b for b in booked if b is not None)
        else:  # a venue that does not book P&L per fill: price it here, converted at today's rate
            realized = to_cents(self._to_usd(book, trade.instrument,
                                             price_pnl(trade.side, units, entry_price, exit_price), exit_price))
        return trade.model_copy(update={
            "status": "resolved", "resolved_at": max(f.at for f in exits), "exit_price": exit_price,
            "fees": commissions + spread, "pnl": realized - commissions, "resolution_source": self._source(book),
            "reason": exit_reason(trade.side, trade.stop_loss, trade.take_profit, exit_price),
        })

    def _to_usd(self, book: SurfaceBook, symbol: str, amount: Decimal, price: Decimal) -> Decimal:
        """Convert P&L in the quote currency to USD (stocks are quoted in USD already), at the exit price or, for a
        cross, today's USD_<quote> rate. Only for a venue that does not book a closing fill's P&L itself."""
        if not is_pair(symbol):
            return amount
        cross = usd_rate_pair(symbol)
        try:
            return quote_to_usd(amount, symbol, price,
                                usd_quote_rate=usd_rate(book.venue, cross) if cross is not None else None)
        except MissingRate as exc:
            raise VenueError(book.venue.name, str(exc)) from None


def _held(trade: Trade, held: Sequence[Position], position_id: str | None) -> Position | None:
    """The venue's position that is this trade, by the client order id that opened it or its position id."""
    ids = {i for i in (trade.venue_order_id, position_id) if i is not None}
    for position in held:
        if position.symbol != trade.instrument:
            continue
        if position.client_order_id == trade.client_order_id or position.venue_position_id in ids:
            return position
    return None


def _bracket_result(strike_type: str | None, floor: Decimal | None, cap: Decimal | None, high: int) -> str:
    value = Decimal(high)
    if strike_type == "between" and floor is not None and cap is not None:
        return "yes" if floor <= value <= cap else "no"
    if strike_type in ("less", "less_or_equal") and cap is not None:
        return "yes" if (value < cap if strike_type == "less" else value <= cap) else "no"
    if strike_type in ("greater", "greater_or_equal") and floor is not None:
        return "yes" if (value > floor if strike_type == "greater" else value >= floor) else "no"
    raise VenueError("resolver", f"cannot settle strike type {strike_type!r} from a temperature")
