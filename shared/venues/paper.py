"""Paper on a live venue's data: the venue's real markets and book, orders filled locally, never sent.

``PaperVenue`` wraps a live adapter for market data only (instruments, quote, order book, candles, market results)
and implements every order and account method itself, the way the sim venues do:

- an order is a taker (IOC/FOK): it walks the venue's *current* order book level by level up to its limit, never
  beyond a level's displayed size, and a limit that does not cross ends ``cancelled`` (nothing rests); while the
  venue still shows the same book, what earlier paper orders took from it is not available again (a real fill
  would have removed it);
- each execution level pays the venue's real taker fee (Kalshi: ``kalshi_fee_cents`` with the market's series
  ``fee_type`` and ``fee_multiplier``);
- every order is appended (fsync'd, under an exclusive lock) to ``logs/paper/<surface>/orders.jsonl``, once per
  client order id; positions, fills, cash and settlements are folded from that log, so the surface, the resolver
  and a restarted process all see the same paper account;
- a position settles on the venue's real market result (status settled with result yes/no); the payout is booked
  at the market's close time, the time every process can derive.

What makes "never sends" structural rather than a promise: the wrapper holds the adapter only as a market-data
object and never calls its order methods, and the adapter itself is built (see ``shared.venues.factory``) on a
:class:`MarketDataOnlyTransport` that refuses, before a byte leaves the process, any request that is not a GET and
any GET on an account path (``/portfolio`` for Kalshi). The venue's ``name`` stays the live venue's, so trades read
``venue="kalshi"``, ``mode="paper"``: real-data paper (``shared.audit.provenance.result_kind``).

Binary (Kalshi) markets only for now; OANDA and IBKR paper on live data is refused at start (``shared.config``).
"""

from __future__ import annotations

import ssl
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Protocol

import certifi
import httpx

from shared.clock import Clock
from shared.ids import derive_id
from shared.money.fees import KalshiFeeType, kalshi_fee_cents
from shared.venues.base import (
    Balance,
    BookLevel,
    Candle,
    Fill,
    Instrument,
    MarketStatus,
    NotFoundError,
    OrderBook,
    OrderRequest,
    OrderResult,
    OrderSide,
    Position,
    Quote,
    Settlement,
    VenueError,
)
from shared.venues.sim.ledger import OrderLedger, OrderRecord
from shared.venues.sim.taker import take_levels

BOOK_DEPTH = 100  # levels read per side when filling (Kalshi's maximum ``depth``)
_FEE_TYPES: tuple[KalshiFeeType, ...] = ("quadratic", "quadratic_with_maker_fees", "flat")


def paper_dir(log_dir: Path, surface: str) -> Path:
    """``logs/paper/<surface>``: the paper venue's own order log for one surface."""
    return log_dir / "paper" / surface


class PaperSendRefused(VenueError):
    """A paper venue's HTTP client was asked for an order or account request: refused before it was sent."""


class MarketDataOnlyTransport(httpx.BaseTransport):
    """An httpx transport that passes GETs on market-data paths and refuses everything else, unsent.

    ``blocked`` are path fragments no request may contain (Kalshi: ``/portfolio``, every order, fill, position
    and balance endpoint). The refusal is raised from inside the transport, below the adapter's retry loop (which
    only retries httpx errors), so it surfaces at once and nothing reaches the socket.
    """

    def __init__(self, venue: str, inner: httpx.BaseTransport | None = None,
                 blocked: tuple[str, ...] = ("/portfolio",)) -> None:
        self.venue = venue
        # The same verifying TLS the adapters use (a transport given to httpx.Client replaces its ``verify``).
        self.inner = inner if inner is not None else httpx.HTTPTransport(
            verify=ssl.create_default_context(cafile=certifi.where()))
        self.blocked = blocked
        self.refused: list[str] = []  # what was asked for and refused (tests and logs show it)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method != "GET" or any(fragment in path for fragment in self.blocked):
            self.refused.append(f"{request.method} {path}")
            raise PaperSendRefused(self.venue, f"paper mode never sends {request.method} {path}")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class MarketData(Protocol):
    """The read-only half of a venue: all a paper venue takes from the live adapter."""

    name: str
    clock: Clock

    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]: ...

    def instrument(self, symbol: str) -> Instrument: ...

    def quote(self, symbol: str) -> Quote: ...

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook: ...

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]: ...


class PaperVenue:
    """A binary live venue's market data with local, logged, never-sent orders (real-data paper)."""

    def __init__(self, data: MarketData, surface: str, state_dir: Path, starting_cash_cents: int,
                 *, book_depth: int = BOOK_DEPTH) -> None:
        self._data = data
        self.name: str = data.name
        self.clock: Clock = data.clock
        self.surface = surface
        self.starting_cash_cents = starting_cash_cents
        self.book_depth = book_depth
        self.ledger = OrderLedger(state_dir)
        self._final: dict[str, Instrument] = {}  # markets seen settled with a result: that never changes
        # Per symbol: the last book paper took from, and what it took per (YES ask side?, YES price).
        self._taken: dict[str, tuple[tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]],
                                     dict[tuple[bool, Decimal], int]]] = {}

    # ---------------------------------------------------------------- market data (the live venue's)
    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]:
        return self._data.instruments(status)

    def instrument(self, symbol: str) -> Instrument:
        return self._data.instrument(symbol)

    def quote(self, symbol: str) -> Quote:
        return self._data.quote(symbol)

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook:
        return self._data.orderbook(symbol, depth)

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        return self._data.candles(symbol, granularity_s, count)

    # ---------------------------------------------------------------- orders (local, never sent)
    def place_order(self, request: OrderRequest) -> OrderResult:
        """Fill now against the venue's current book, once per client order id (a repeat returns the first)."""
        with self.ledger.locked():
            existing = self.ledger.by_client_id(request.client_order_id)
            if existing is not None:
                return existing.result()
            now = self.clock.now()
            venue_order_id = derive_id("paperorder", f"{self.name}:{self.surface}:{request.client_order_id}")
            record = self._execute(request, now, venue_order_id)
            self.ledger.append(record)
            return record.result()

    def _rejected(self, request: OrderRequest, now: datetime, venue_order_id: str, reason: str) -> OrderRecord:
        return OrderRecord(
            client_order_id=request.client_order_id, venue_order_id=venue_order_id, symbol=request.symbol,
            side=request.side, intent=request.intent, quantity=request.quantity, status="rejected", at=now,
            limit_price=request.limit_price, reason=reason, extra={"paper": self.name},
        )

    def _execute(self, request: OrderRequest, now: datetime, venue_order_id: str) -> OrderRecord:
        def reject(reason: str) -> OrderRecord:
            return self._rejected(request, now, venue_order_id, reason)

        if request.side not in ("yes", "no"):
            return reject("invalid_side: binary markets trade yes or no")
        if request.quantity <= 0:
            return reject("invalid_quantity")
        if request.time_in_force not in ("ioc", "fok"):
            # Paper orders are takers: a resting order would need the queue and the trades we cannot see.
            return reject(f"time_in_force_{request.time_in_force}_unsupported_in_paper")
        try:
            instrument = self._data.instrument(request.symbol)
        except NotFoundError:
            return reject("unknown_market")
        if instrument.status != "open":
            return reject(f"market_{instrument.status}")
        fee_type = instrument.fee_type if instrument.fee_type in _FEE_TYPES else "flat"
        if fee_type == "flat":
            return reject("flat_fee_series_unsupported_in_paper")
        if request.intent == "close":
            held = self._holdings().get((request.symbol, request.side), (0, Decimal(0)))[0]
            if held < request.quantity:
                return reject(f"insufficient_position: hold {held}, selling {request.quantity}")
        book = self._data.orderbook(request.symbol, self.book_depth)
        bids, asks = self._unconsumed(book)
        # The levels this order takes, as (price of the side it trades, size, YES price): NO prices are 1 − YES
        # prices; buying YES or selling NO takes the YES asks, buying NO or selling YES the YES bids.
        takes_asks = (request.side == "yes") == (request.intent == "open")
        levels = [(level.price if request.side == "yes" else 1 - level.price, level.size, level.price)
                  for level in (asks if takes_asks else bids)]
        fill = take_levels(request, [(price, size) for price, size, _ in levels],
                           lambda take, price: kalshi_fee_cents(take, price * 100, fee_type=fee_type,
                                                                fee_multiplier=instrument.fee_multiplier))
        if fill is None:
            return replace(reject("no_liquidity_within_limit"), status="cancelled")
        if request.intent == "open" and -fill.cash_delta_cents > self._cash():
            return reject("insufficient_balance")
        self._consume(book, {(takes_asks, levels[index][2]): quantity for index, quantity in fill.taken})
        return OrderRecord(
            client_order_id=request.client_order_id, venue_order_id=venue_order_id, symbol=request.symbol,
            side=request.side, intent=request.intent, quantity=request.quantity,
            status="filled" if fill.remaining == 0 else "partially_filled", at=now, limit_price=request.limit_price,
            fills=fill.parts, reason="" if fill.remaining == 0 else "ioc_remainder_cancelled",
            cash_delta_cents=fill.cash_delta_cents, extra={"paper": self.name},
        )

    def _unconsumed(self, book: OrderBook) -> tuple[list[BookLevel], list[BookLevel]]:
        """The book less what this paper account already took from it, while the venue shows the same book.

        A real taker's fill removes the liquidity it took; a paper fill cannot, so until the venue's book changes
        a second paper order would otherwise take the same displayed size again.
        """
        key = (book.bids, book.asks)
        seen = self._taken.get(book.symbol)
        used = seen[1] if seen is not None and seen[0] == key else {}
        bids = [BookLevel(b.price, b.size - used.get((False, b.price), 0)) for b in book.bids]
        asks = [BookLevel(a.price, a.size - used.get((True, a.price), 0)) for a in book.asks]
        return bids, asks

    def _consume(self, book: OrderBook, taken: dict[tuple[bool, Decimal], int]) -> None:
        key = (book.bids, book.asks)
        seen = self._taken.get(book.symbol)
        used = dict(seen[1]) if seen is not None and seen[0] == key else {}
        for level, quantity in taken.items():
            used[level] = used.get(level, 0) + quantity
        self._taken[book.symbol] = (key, used)

    def cancel_order(self, venue_order_id: str) -> None:
        """Paper orders never rest, so cancelling a known one is a no-op."""
        if self.ledger.by_venue_id(venue_order_id) is None:
            raise NotFoundError(self.name, f"no paper order {venue_order_id}")

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        """The logged result of a paper order (by any process), or None."""
        record = self.ledger.by_client_id(client_order_id)
        return None if record is None else record.result()

    def fills(self, since: datetime | None = None) -> list[Fill]:
        """One fill per execution level of every paper order, oldest first."""
        self.ledger.sync()
        out = [f for o in self.ledger.orders for f in o.fill_records() if since is None or f.at >= since]
        return sorted(out, key=lambda f: (f.at, f.venue_order_id))

    # ---------------------------------------------------------------- portfolio (folded from the order log)
    def _holdings(self) -> dict[tuple[str, str], tuple[int, Decimal]]:
        """(symbol, side) -> (centi-contracts held, average buy price), from every filled paper order."""
        self.ledger.sync()
        qty: dict[tuple[str, str], int] = defaultdict(int)
        bought: dict[tuple[str, str], tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
        for order in self.ledger.orders:
            if not order.fills:
                continue
            key = (order.symbol, order.side)
            if order.intent == "open":
                qty[key] += order.filled_quantity
                n, cost = bought[key]
                bought[key] = (n + order.filled_quantity,
                               cost + sum((f.price * f.quantity for f in order.fills), Decimal(0)))
            else:
                qty[key] -= order.filled_quantity
        return {k: (q, (bought[k][1] / bought[k][0]).quantize(Decimal("0.0001")) if bought[k][0] else Decimal(0))
                for k, q in qty.items() if q > 0}

    def _result(self, symbol: str) -> Instrument | None:
        """The market once the venue says it settled with a yes/no result (cached: a final result never
        changes), else None."""
        known = self._final.get(symbol)
        if known is not None:
            return known
        instrument = self._data.instrument(symbol)
        if instrument.status == "settled" and instrument.result in ("yes", "no"):
            self._final[symbol] = instrument
            return instrument
        return None

    def _settled(self) -> list[tuple[str, str, int, Instrument]]:
        out = []
        for (symbol, side), (quantity, _avg) in sorted(self._holdings().items()):
            market = self._result(symbol)
            if market is not None:
                out.append((symbol, side, quantity, market))
        return out

    def _settled_at(self, market: Instrument) -> datetime:
        # The market object carries no settlement stamp we keep; its close is the time every process derives.
        return market.close_time if market.close_time is not None else self.clock.now()

    def positions(self) -> list[Position]:
        """Open YES/NO holdings; a holding leaves this list once its market has a result (see settlements)."""
        settled = {(s, side) for s, side, _q, _m in self._settled()}
        return [
            Position(symbol, side, quantity, avg)  # type: ignore[arg-type]
            for (symbol, side), (quantity, avg) in sorted(self._holdings().items())
            if (symbol, side) not in settled
        ]

    def settlements(self, since: datetime | None = None) -> list[Settlement]:
        """Held markets the venue settled: a winning centi-contract pays 1 cent (a contract $1); no fee."""
        out = []
        for symbol, side, quantity, market in self._settled():
            at = self._settled_at(market)
            if since is not None and at < since:
                continue
            assert market.result is not None
            out.append(Settlement(symbol, market.result, at, revenue_cents=quantity if market.result == side else 0))
        return sorted(out, key=lambda s: s.settled_at)

    def _cash(self) -> int:
        self.ledger.sync()
        cash = self.starting_cash_cents + sum(o.cash_delta_cents for o in self.ledger.orders)
        return cash + sum(q if m.result == side else 0 for _s, side, q, m in self._settled())

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        """Sell every contract held in ``symbol`` into the bids (YES first), IOC."""
        held = {side: q for (s, side), (q, _a) in self._holdings().items() if s == symbol}
        if not held:
            raise NotFoundError(self.name, f"no paper position in {symbol}")
        side: OrderSide = "yes" if held.get("yes") else "no"
        return self.place_order(OrderRequest(client_order_id, symbol, side, "close", held[side], None, "ioc"))

    def balance(self) -> Balance:
        """Paper cash (starting cash + order cash flows + settlement payouts) and cash plus holdings at the mid."""
        cash = self._cash()
        value = Decimal(cash)
        settled = {(s, side) for s, side, _q, _m in self._settled()}
        for (symbol, side), (quantity, avg) in self._holdings().items():
            if (symbol, side) in settled:
                continue
            mid = self._data.quote(symbol).mid
            yes_value = mid if mid is not None else (avg if side == "yes" else 1 - avg)
            value += Decimal(quantity) * (yes_value if side == "yes" else 1 - yes_value)
        return Balance(cash, int(value.to_integral_value(ROUND_FLOOR)))


__all__ = ["MarketData", "MarketDataOnlyTransport", "PaperSendRefused", "PaperVenue", "paper_dir"]
