"""The sim venue for linear instruments (FX pairs, stocks): quotes around real bars, market orders that cross the
spread, and positions that carry a stop loss and take profit the venue itself enforces.

Each filled opening order is one position (an OANDA trade / an IBKR bracket), identified by its venue order id.
A position closes by ``close_position`` or when the replayed price path reaches its stop loss or take profit:
a long exits on the bid, a short on the ask; the exit fills at the level, or at the first price beyond it when the
market gaps through (weekend, overnight). This is the one exit rule: the resolver does not judge exits, it books
the fills this venue reports. Venue-side exits are not written anywhere: they are a pure function of the orders
log and the data, so every process derives the same ones.

Every closing fill names the position it closed and the P&L it realized in US cents before fees (what the exit
did to cash, net of what the entry did), so a ledger built from fills equals this venue's cash to the cent.
Venues that charge through the spread (FX, like OANDA's ``halfSpreadCost``) report each fill's spread cost.
"""

from __future__ import annotations

import itertools
from abc import abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from pathlib import Path

from shared.clock import Clock
from shared.ids import derive_id
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
    Position,
    Quote,
    Settlement,
)
from shared.venues.sim.common import SimVenueBase
from shared.venues.sim.ledger import FillPart, OrderRecord
from shared.venues.sim.path import BarSeries, bar_points


@dataclass(frozen=True, slots=True)
class Exit:
    """A venue-side exit of a position: when, at what price, and why (``stop_loss`` / ``take_profit``).

    ``mid`` is the mid price of the venue's path at that moment (the spread cost is the fill's distance from it).
    """

    at: datetime
    price: Decimal
    reason: str
    mid: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OpenTrade:
    order: OrderRecord

    @property
    def id(self) -> str:
        return self.order.venue_order_id

    @property
    def entry(self) -> Decimal:
        price = self.order.avg_fill_price
        assert price is not None
        return price

    @property
    def long(self) -> bool:
        return self.order.side == "long"


class LinearSimVenue(SimVenueBase):
    """Shared machinery; subclasses set the data, spread, trading hours, fees and P&L currency."""

    kind: str = "fx"
    # True where the venue charges through the spread and reports it per fill (OANDA's halfSpreadCost).
    reports_spread_cost: bool = False

    def __init__(self, surface: str, clock: Clock, state_dir: Path, seed: int, starting_cash_cents: int,
                 series: dict[str, BarSeries]) -> None:
        super().__init__(surface, clock, state_dir, seed, starting_cash_cents)
        self.series = series
        self._exit_cache: dict[str, tuple[datetime, Exit | None]] = {}

    # ------------------------------------------------------- subclass hooks
    @abstractmethod
    def half_spread(self, symbol: str, mid: Decimal, at: datetime) -> Decimal:
        """Half the bid/ask spread at ``at``."""

    @abstractmethod
    def closed_reason(self, symbol: str, at: datetime) -> str | None:
        """Why ``symbol`` cannot trade at ``at`` (None when it can)."""

    @abstractmethod
    def commission_cents(self, symbol: str, quantity: int, price: Decimal) -> int:
        """The venue's commission for one execution."""

    @abstractmethod
    def to_usd_cents(self, symbol: str, amount: Decimal, at: datetime) -> int:
        """Convert an amount in ``symbol``'s quote currency to US cents."""

    @abstractmethod
    def describe(self, symbol: str) -> Instrument:
        """Static instrument facts."""

    def cash_flows(self) -> bool:
        """True when positions move cash (stocks); False when only realised P&L does (FX on margin)."""
        return False

    def tick(self, symbol: str) -> Decimal:
        return self.describe(symbol).tick_size

    def spread_cost_cents(self, symbol: str, quantity: int, price: Decimal, mid: Decimal | None,
                          at: datetime) -> int:
        """What an execution paid against the mid, in US cents (0 where the venue does not report it)."""
        if not self.reports_spread_cost or mid is None:
            return 0
        return self.to_usd_cents(symbol, abs(price - mid) * quantity, at)

    # ---------------------------------------------------------------- market
    def _series(self, symbol: str) -> BarSeries:
        found = self.series.get(symbol)
        if found is None:
            raise NotFoundError(self.name, f"no instrument {symbol}")
        return found

    def _bid_ask(self, symbol: str, at: datetime) -> tuple[Decimal, Decimal] | None:
        if self.closed_reason(symbol, at) is not None:
            return None
        mid = self._series(symbol).price_at(at)
        if mid is None:
            return None
        half = self.half_spread(symbol, mid, at)
        tick = self.tick(symbol)
        bid = ((mid - half) / tick).to_integral_value(ROUND_FLOOR) * tick
        ask = ((mid + half) / tick).to_integral_value(ROUND_CEILING) * tick
        return bid, max(ask, bid + tick)

    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]:
        out = [self.instrument(symbol) for symbol in sorted(self.series)]
        return [i for i in out if status is None or i.status == status]

    def instrument(self, symbol: str) -> Instrument:
        self._series(symbol)
        info = self.describe(symbol)
        open_now = self.closed_reason(symbol, self.clock.now()) is None
        return Instrument(info.venue, info.symbol, info.kind, info.title, info.category, info.underlying,
                          "open" if open_now else "closed", tick_size=info.tick_size, fee_type=info.fee_type,
                          attributes=dict(info.attributes))

    def quote(self, symbol: str) -> Quote:
        """Bid and ask now; both None while the market is closed (the reason is in ``instrument().status``)."""
        now = self.clock.now()
        sides = self._bid_ask(symbol, now)
        if sides is None:
            return Quote(symbol, now, None, None)
        return Quote(symbol, now, sides[0], sides[1], 10_000_000 if self.kind == "fx" else 2_000,
                     10_000_000 if self.kind == "fx" else 2_000)

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook:
        """Top of book only: the sim fills any size at the touch (liquid majors and large caps)."""
        q = self.quote(symbol)
        bids = (BookLevel(q.bid, q.bid_size or 0),) if q.bid is not None else ()
        asks = (BookLevel(q.ask, q.ask_size or 0),) if q.ask is not None else ()
        return OrderBook(symbol, q.at, bids, asks)

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        """The ``count`` most recent complete mid candles (multiples of the hourly bars)."""
        try:
            return self._series(symbol).complete_candles(self.clock.now(), granularity_s, count)
        except ValueError as exc:
            raise NotFoundError(self.name, str(exc)) from None

    # ----------------------------------------------------------------- orders
    def _execute(self, request: OrderRequest, now: datetime, venue_order_id: str) -> OrderRecord:
        def reject(reason: str) -> OrderRecord:
            return self._rejected(request, now, venue_order_id, reason)

        if request.side not in ("long", "short"):
            return reject("invalid_side: use long or short")
        if request.intent != "open":
            return reject("invalid_intent: open with intent=open, exit with close_position")
        if request.quantity <= 0:
            return reject("invalid_quantity")
        if request.symbol not in self.series:
            return reject("unknown_instrument")
        closed = self.closed_reason(request.symbol, now)
        sides = None if closed else self._bid_ask(request.symbol, now)
        if sides is None:
            return reject(closed or "no_quote")
        price = sides[1] if request.side == "long" else sides[0]
        if request.limit_price is not None and (
            (request.side == "long" and price > request.limit_price)
            or (request.side == "short" and price < request.limit_price)
        ):
            return replace_status(reject("price_beyond_limit"), "cancelled")
        below = request.side == "long"  # a long's stop sits below the fill and its target above; a short's mirror
        for level, name, must_be_below in ((request.stop_loss, "stop_loss", below),
                                           (request.take_profit, "take_profit", not below)):
            if level is not None and (level >= price if must_be_below else level <= price):
                return reject(f"invalid_{name}: {level} is on the wrong side of the fill {price}")
        fee = self.commission_cents(request.symbol, request.quantity, price)
        cash = self._open_cash_delta(request.side, request.quantity, price) - fee
        if self.cash_flows() and request.side == "long" and -cash > self._cash(now):
            return reject("insufficient_balance")
        return OrderRecord(
            client_order_id=request.client_order_id, venue_order_id=venue_order_id, symbol=request.symbol,
            side=request.side, intent="open", quantity=request.quantity, status="filled", at=now,
            limit_price=request.limit_price,
            fills=(FillPart(request.quantity, price, fee, spread_cost_cents=self.spread_cost_cents(
                request.symbol, request.quantity, price, self._series(request.symbol).price_at(now), now)),),
            stop_loss=request.stop_loss, take_profit=request.take_profit, cash_delta_cents=cash,
        )

    def _open_cash_delta(self, side: str, quantity: int, price: Decimal) -> int:
        if not self.cash_flows():
            return 0
        notional = Decimal(quantity) * price * 100
        return -int(notional.to_integral_value(ROUND_CEILING)) if side == "long" else int(
            notional.to_integral_value(ROUND_FLOOR))

    def _close_cash_delta(self, trade: OpenTrade, price: Decimal, at: datetime) -> int:
        """Cash an exit moves: proceeds/cost for stocks, realised P&L for FX."""
        quantity = trade.order.quantity
        if self.cash_flows():
            notional = Decimal(quantity) * price * 100
            return int(notional.to_integral_value(ROUND_FLOOR)) if trade.long else -int(
                notional.to_integral_value(ROUND_CEILING))
        diff = (price - trade.entry) if trade.long else (trade.entry - price)
        return self.to_usd_cents(trade.order.symbol, diff * quantity, at)

    def _realized_cents(self, trade: OpenTrade, price: Decimal, at: datetime) -> int:
        """The P&L an exit at ``price`` realizes, fees excluded: its cash plus the cash the entry moved."""
        entry_cash = self._open_cash_delta(trade.order.side, trade.order.quantity, trade.entry)
        return self._close_cash_delta(trade, price, at) + entry_cash

    def _closing_part(self, trade: OpenTrade, price: Decimal, mid: Decimal | None, at: datetime) -> FillPart:
        """The execution that closes ``trade`` at ``price``: its commission, realized P&L and spread cost."""
        symbol, quantity = trade.order.symbol, trade.order.quantity
        return FillPart(quantity, price, self.commission_cents(symbol, quantity, price), closes=trade.id,
                        realized_pnl_cents=self._realized_cents(trade, price, at),
                        spread_cost_cents=self.spread_cost_cents(symbol, quantity, price, mid, at))

    # ------------------------------------------------------------- positions
    def _open_trades(self, now: datetime) -> list[tuple[OpenTrade, Exit | None]]:
        """Every filled opening order up to ``now`` with its exit (if it has one by ``now``)."""
        self.ledger.sync()
        closed_by: dict[str, OrderRecord] = {}
        for order in self.ledger.orders:
            if order.closes and order.fills and order.at <= now:
                for trade_id in order.closes.split(","):
                    closed_by.setdefault(trade_id, order)
        out: list[tuple[OpenTrade, Exit | None]] = []
        for order in self.ledger.orders:
            if order.closes or not order.fills or order.at > now:
                continue
            trade = OpenTrade(order)
            venue_exit = self._venue_exit(trade, now)
            manual = closed_by.get(trade.id)
            if manual is not None and (venue_exit is None or manual.at < venue_exit.at):
                venue_exit = Exit(manual.at, manual.fills[0].price, "closed")
            out.append((trade, venue_exit))
        return out

    def _venue_exit(self, trade: OpenTrade, now: datetime) -> Exit | None:
        """The first stop-loss / take-profit touch between the fill and ``now`` (cached per trade)."""
        sl, tp = trade.order.stop_loss, trade.order.take_profit
        if sl is None and tp is None:
            return None
        cached = self._exit_cache.get(trade.id)
        start = trade.order.at
        if cached is not None:
            scanned, found = cached
            if found is not None:
                return found if found.at <= now else None
            if scanned >= now:
                return None
            start = scanned
        found = self._scan(trade, start, now)
        self._exit_cache[trade.id] = (now, found)
        return found

    def _scan(self, trade: OpenTrade, start: datetime, end: datetime) -> Exit | None:
        series = self._series(trade.order.symbol)
        i = max(0, series.last_index_before(start))
        while i < len(series.bars) and series.bars[i].start <= end:
            bar = series.bars[i]
            points = bar_points(bar)
            for (t0, p0), (t1, p1) in itertools.pairwise(points):
                if t1 <= start or t0 > end:
                    continue
                # Anchored at the position's own start, never at where an earlier scan stopped: the exit must be
                # the same instant and price in every process, however often each one has looked.
                found = self._segment_exit(trade, max(t0, trade.order.at), t0, p0, t1, p1)
                if found is not None and found.at <= end:
                    return found
            i += 1
        return None

    def _segment_exit(self, trade: OpenTrade, begin: datetime, t0: datetime, p0: Decimal, t1: datetime,
                      p1: Decimal) -> Exit | None:
        span = (t1 - t0).total_seconds()

        def mid_at(t: datetime) -> Decimal:
            if span <= 0:
                return p1
            return p0 + (p1 - p0) * Decimal(str((t - t0).total_seconds() / span))

        a = mid_at(begin)
        half = self.half_spread(trade.order.symbol, a, begin)
        sign = Decimal(-1) if trade.long else Decimal(1)  # a long exits on the bid (mid − half)
        levels = []
        if trade.order.stop_loss is not None:
            levels.append(("stop_loss", trade.order.stop_loss))
        if trade.order.take_profit is not None:
            levels.append(("take_profit", trade.order.take_profit))
        best: Exit | None = None
        exit_a = a + sign * half
        exit_b = p1 + sign * half
        for reason, level in levels:
            adverse = (reason == "stop_loss") == trade.long  # long SL / short TP trigger on a fall
            beyond_a = exit_a <= level if adverse else exit_a >= level
            if beyond_a:
                # Already through the level when this stretch starts: the price gapped over it (a new bar opened
                # beyond it), so the exit fills at the first available price, not at the level.
                tick = self.tick(trade.order.symbol)
                gap_price = (exit_a / tick).to_integral_value(ROUND_FLOOR if trade.long else ROUND_CEILING) * tick
                candidate = Exit(begin, gap_price, reason, a)
            else:
                crosses = exit_b <= level if adverse else exit_b >= level
                if not crosses or exit_b == exit_a:
                    continue
                frac = float((level - exit_a) / (exit_b - exit_a))
                at = begin + timedelta(seconds=(t1 - begin).total_seconds() * frac)
                candidate = Exit(at, level, reason, level - sign * half)
            if best is None or candidate.at < best.at:
                best = candidate
        return best

    def positions(self) -> list[Position]:
        now = self.clock.now()
        return [
            Position(t.order.symbol, t.order.side, t.order.quantity, t.entry, t.order.client_order_id, t.id,
                     t.order.stop_loss, t.order.take_profit)
            for t, venue_exit in self._open_trades(now) if venue_exit is None
        ]

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        """Close one position (``venue_position_id``) or every open position in ``symbol`` at market."""
        with self.ledger.locked():
            existing = self.ledger.by_client_id(client_order_id)
            if existing is not None:
                return existing.result()
            now = self.clock.now()
            venue_order_id = derive_id("simorder", f"{self.surface}:{client_order_id}")
            targets = [t for t, e in self._open_trades(now) if e is None and t.order.symbol == symbol
                       and (venue_position_id is None or t.id == venue_position_id)]
            base = OrderRecord(client_order_id=client_order_id, venue_order_id=venue_order_id, symbol=symbol,
                               side=targets[0].order.side if targets else "long", intent="close",
                               quantity=sum(t.order.quantity for t in targets), status="rejected", at=now)
            closed = self.closed_reason(symbol, now) if symbol in self.series else "unknown_instrument"
            sides = None if closed else self._bid_ask(symbol, now)
            if not targets:
                record = replace_status(base, "rejected", "no_open_position")
            elif sides is None:
                record = replace_status(base, "rejected", closed or "no_quote")
            else:
                parts = []
                cash = 0
                mid = self._series(symbol).price_at(now)
                for trade in targets:
                    part = self._closing_part(trade, sides[0] if trade.long else sides[1], mid, now)
                    parts.append(part)
                    cash += self._close_cash_delta(trade, part.price, now) - part.fees_cents
                record = replace(base, status="filled", fills=tuple(parts), cash_delta_cents=cash,
                                 closes=",".join(t.id for t in targets))
            self.ledger.append(record)
            return record.result()

    def _venue_fills(self, now: datetime) -> list[Fill]:
        """The stop-loss / take-profit exits, as fills of orders ``<position id>:<reason>`` that close it."""
        out = []
        for trade, venue_exit in self._open_trades(now):
            if venue_exit is None or venue_exit.reason == "closed":
                continue
            part = self._closing_part(trade, venue_exit.price, venue_exit.mid, venue_exit.at)
            out.append(Fill(f"{trade.id}:{venue_exit.reason}", None, trade.order.symbol, trade.order.side, "close",
                            part.quantity, part.price, part.fees_cents, venue_exit.at, position_id=trade.id,
                            realized_pnl_cents=part.realized_pnl_cents, spread_cost_cents=part.spread_cost_cents))
        return out

    def settlements(self, since: datetime | None = None) -> list[Settlement]:
        """Linear instruments do not settle; exits show up in :meth:`fills`."""
        return []

    def _cash(self, now: datetime) -> int:
        self.ledger.sync()
        cash = self.starting_cash_cents + sum(o.cash_delta_cents for o in self.ledger.orders if o.at <= now)
        for trade, venue_exit in self._open_trades(now):
            if venue_exit is not None and venue_exit.reason != "closed":
                fee = self.commission_cents(trade.order.symbol, trade.order.quantity, venue_exit.price)
                cash += self._close_cash_delta(trade, venue_exit.price, venue_exit.at) - fee
        return cash

    def balance(self) -> Balance:
        """Cash, and cash plus open positions marked at the exit side of the quote (last bar close when closed)."""
        now = self.clock.now()
        cash = self._cash(now)
        value = cash
        for trade, venue_exit in self._open_trades(now):
            if venue_exit is not None:
                continue
            sides = self._bid_ask(trade.order.symbol, now)
            if sides is not None:
                mark = sides[0] if trade.long else sides[1]
            else:
                series = self._series(trade.order.symbol)
                i = series.last_index_before(now)
                mark = series.bars[i].close if i >= 0 else trade.entry
            if self.cash_flows():
                notional = Decimal(trade.order.quantity) * mark * 100
                value += int(notional.to_integral_value(ROUND_HALF_EVEN)) * (1 if trade.long else -1)
            else:
                value += self._close_cash_delta(trade, mark, now)
        return Balance(cash, value)


def replace_status(record: OrderRecord, status: str, reason: str | None = None) -> OrderRecord:
    """A copy of ``record`` with a new status (and reason)."""
    return replace(record, status=status, reason=record.reason if reason is None else reason)  # type: ignore[arg-type]
