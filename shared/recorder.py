"""The market-data recorder: what a surface saw, appended to ``logs/<surface>/market.jsonl``.

``RecordingVenue(venue, log)`` delegates every ``Venue`` method to the venue it wraps and, for the market-data
calls (``instruments``, ``instrument``, ``quote``, ``orderbook``, ``candles``), appends what they returned. It
never changes an answer and never raises for its own sake: a failed write is logged and counted, and the loop goes
on with the same data it would have had without the recorder.

Records are compact JSON objects through the bus (``JsonlLog``, flushed, not fsync'd); the bus stamps ``ts`` (wall
time of the write). Every record has ``kind``, ``venue`` and ``at`` (venue time: a sim replays history), prices
as decimal strings, sizes as integers in the venue's units (centi-contracts, FX units, shares):

- ``{"kind": "listing", "venue", "at", "symbol", "status", "title", "category", "underlying", "open_time",
  "close_time", "strike_type", "floor_strike", "cap_strike", "fee_type", "fee_multiplier"}``: an instrument,
  written again only when one of these fields changes (a status change is a new record);
- ``{"kind": "result", "venue", "at", "symbol", "result", "close_time"}``: once per market, when it is first seen
  settled with a result;
- ``{"kind": "quote", "venue", "at", "symbol", "bid", "ask", "bid_size", "ask_size", "last"}``: written only when
  one of bid, ask, sizes or last differs from the last quote written for that symbol;
- ``{"kind": "book", "venue", "at", "symbol", "bids": [[price, size], ...], "asks": [...]}``: the top
  ``depth`` levels per side, best first (binary: YES bids and YES asks), written only when they changed;
- ``{"kind": "candle", "venue", "symbol", "g", "start", "o", "h", "l", "c", "v"}``: a complete candle, once per
  (symbol, granularity ``g`` in seconds, ``start``).

Which venues record is ``MARKET_RECORD`` (``shared.venues.factory.records_market``): ``auto`` (the default) records
live venues, live and paper on live data, and not the sim, whose market is a pure function of ``data/``, the seed
and the clock (recording it at the default ``SIM_SPEED=600`` would write about 860 MB a wall-day for the four
surfaces); ``on`` records the sim too; ``off`` nothing.

The dedup memory is per process and per symbol (the last quote, book and listing, the newest candle start), so a
restart writes each symbol's current state once more and nothing else. Nothing here replays the file.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.bus import JsonlLog
from shared.clock import Clock
from shared.paths import open_stream
from shared.timeutil import to_iso
from shared.venues.base import (
    Balance,
    BookLevel,
    Candle,
    Fill,
    Instrument,
    MarketStatus,
    OrderBook,
    OrderRequest,
    OrderResult,
    Position,
    Quote,
    Settlement,
    Venue,
)

log = logging.getLogger(__name__)

MARKET_STREAM = "market"
DEFAULT_DEPTH = 5


def market_log(log_dir: Path, surface: str) -> JsonlLog:
    """``logs/<surface>/market.jsonl``, flushed (a crash loses nothing written; a power cut may lose the tail)."""
    return open_stream(log_dir, surface, MARKET_STREAM)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _time(value: datetime | None) -> str | None:
    return None if value is None else to_iso(value)


def _levels(levels: tuple[BookLevel, ...], depth: int) -> list[list[Any]]:
    return [[format(level.price, "f"), level.size] for level in levels[:depth]]


class RecordingVenue:
    """A venue that appends the market data it returns to a market log; behaviour is the wrapped venue's."""

    def __init__(self, venue: Venue, market: JsonlLog, *, depth: int = DEFAULT_DEPTH) -> None:
        self.inner = venue
        self.name: str = venue.name
        self.clock: Clock = venue.clock
        self.market = market
        self.depth = depth
        self.write_errors = 0
        self.written = 0
        self._quotes: dict[str, tuple[Any, ...]] = {}
        self._books: dict[str, tuple[Any, ...]] = {}
        self._listings: dict[str, tuple[Any, ...]] = {}
        self._results: set[str] = set()
        self._candles: dict[tuple[str, int], datetime] = {}

    def __getattr__(self, name: str) -> Any:
        # Anything beyond the Venue protocol (a sim's own helpers) is the wrapped venue's.
        return getattr(self.inner, name)

    # ---------------------------------------------------------------- writing
    def _append(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        try:
            self.market.append_many(records)
            self.written += len(records)
        except OSError as exc:  # the recorder must never stop a loop
            self.write_errors += 1
            log.warning("market recorder: write failed (%s); %d records dropped", exc, len(records))

    def _now(self) -> str:
        return to_iso(self.clock.now())

    def _listing_records(self, instrument: Instrument, at: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        body = {
            "symbol": instrument.symbol, "status": instrument.status, "title": instrument.title,
            "category": instrument.category, "underlying": instrument.underlying,
            "open_time": _time(instrument.open_time), "close_time": _time(instrument.close_time),
            "strike_type": instrument.strike_type, "floor_strike": _dec(instrument.floor_strike),
            "cap_strike": _dec(instrument.cap_strike), "fee_type": instrument.fee_type,
            "fee_multiplier": _dec(instrument.fee_multiplier),
        }
        key = tuple(body.values())
        if self._listings.get(instrument.symbol) != key:
            self._listings[instrument.symbol] = key
            out.append({"kind": "listing", "venue": self.name, "at": at, **body})
        if instrument.result is not None and instrument.symbol not in self._results:
            self._results.add(instrument.symbol)
            out.append({"kind": "result", "venue": self.name, "at": at, "symbol": instrument.symbol,
                        "result": instrument.result, "close_time": _time(instrument.close_time)})
        return out

    # ---------------------------------------------------------------- market data (recorded)
    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]:
        found = self.inner.instruments(status)
        at = self._now()
        self._append([r for i in found for r in self._listing_records(i, at)])
        return found

    def instrument(self, symbol: str) -> Instrument:
        found = self.inner.instrument(symbol)
        self._append(self._listing_records(found, self._now()))
        return found

    def quote(self, symbol: str) -> Quote:
        quote = self.inner.quote(symbol)
        key = (quote.bid, quote.ask, quote.bid_size, quote.ask_size, quote.last)
        if self._quotes.get(symbol) != key:
            self._quotes[symbol] = key
            self._append([{
                "kind": "quote", "venue": self.name, "at": to_iso(quote.at), "symbol": symbol,
                "bid": _dec(quote.bid), "ask": _dec(quote.ask), "bid_size": quote.bid_size,
                "ask_size": quote.ask_size, "last": _dec(quote.last),
            }])
        return quote

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook:
        book = self.inner.orderbook(symbol, depth)
        bids, asks = _levels(book.bids, self.depth), _levels(book.asks, self.depth)
        key = (tuple(map(tuple, bids)), tuple(map(tuple, asks)))
        if self._books.get(symbol) != key:
            self._books[symbol] = key
            self._append([{"kind": "book", "venue": self.name, "at": to_iso(book.at), "symbol": symbol,
                           "bids": bids, "asks": asks}])
        return book

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        found = self.inner.candles(symbol, granularity_s, count)
        newest = self._candles.get((symbol, granularity_s))
        fresh = [c for c in found if c.complete and (newest is None or c.start > newest)]
        if fresh:
            self._candles[(symbol, granularity_s)] = max(c.start for c in fresh)
            self._append([{
                "kind": "candle", "venue": self.name, "symbol": symbol, "g": granularity_s,
                "start": to_iso(c.start), "o": _dec(c.open), "h": _dec(c.high), "l": _dec(c.low),
                "c": _dec(c.close), "v": c.volume,
            } for c in fresh])
        return found

    # ---------------------------------------------------------------- everything else: delegated as is
    def place_order(self, request: OrderRequest) -> OrderResult:
        return self.inner.place_order(request)

    def cancel_order(self, venue_order_id: str) -> None:
        self.inner.cancel_order(venue_order_id)

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        return self.inner.order_by_client_id(client_order_id)

    def positions(self) -> list[Position]:
        return self.inner.positions()

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        return self.inner.close_position(symbol, client_order_id, venue_position_id)

    def fills(self, since: datetime | None = None) -> list[Fill]:
        return self.inner.fills(since)

    def settlements(self, since: datetime | None = None) -> list[Settlement]:
        return self.inner.settlements(since)

    def balance(self) -> Balance:
        return self.inner.balance()


__all__ = ["DEFAULT_DEPTH", "MARKET_STREAM", "RecordingVenue", "market_log"]
