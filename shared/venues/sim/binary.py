"""The binary (Kalshi-style) sim venue: markets from pluggable sources, fills that walk the book, Kalshi fees.

Conventions match the live Kalshi adapter: prices are YES prices in dollars; a NO order at limit L buys NO at
``1 − YES bid``; quantities are centi-contracts (100 = one contract); the taker fee is ``kalshi_fee_cents`` per
execution level. An IOC/FOK order is a taker: it fills at once against the replayed book up to its limit (IOC
keeps a partial fill, FOK needs all of it).

A GTC opening order is a post-only maker order (ORDER_STYLE=rest|rest_then_take): refused if it would cross, else it
rests at its limit behind the displayed size at that price (its queue). The queue model then steps through venue
time (``QUEUE_STEP``) and fills it only when the market reaches it:
- the opposite side comes to or through its price: that displayed size trades, the queue ahead first, then it;
- while it is at (or alone inside) the best bid, a deterministic tape (per seed, market and step) trades a share
  of the opposite touch's size at its price: the queue ahead first, then it;
- while better bids stand ahead of it, nothing reaches it.
Fills are at the order's own price and pay the maker fee of the series (``quadratic_with_maker_fees``, else 0).
What is left when the market closes is cancelled by the venue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Literal, Protocol

from shared.clock import Clock
from shared.money.fees import KalshiFeeType, kalshi_fee_cents
from shared.venues.base import (
    Balance,
    BookLevel,
    Candle,
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
from shared.venues.sim import rng
from shared.venues.sim.common import SIM_VENUE, SimVenueBase
from shared.venues.sim.ledger import FillPart, OrderRecord
from shared.venues.sim.taker import take_levels

CENT = Decimal("0.01")
RECENT = timedelta(days=1)  # closed/settled markets stay listed this long
QUEUE_STEP = timedelta(seconds=30)  # the queue model's clock: one tape print per market per step
TAPE_RATE = 0.10  # mean share of the opposite touch's displayed size that trades at the best bid per step


def side_book(side: str, yes_bids: Sequence[BookLevel], yes_asks: Sequence[BookLevel]
              ) -> tuple[list[BookLevel], list[BookLevel]]:
    """(bids, asks) priced as the side traded: NO bids are ``1 − YES asks``, NO asks ``1 − YES bids``."""
    if side == "yes":
        return list(yes_bids), list(yes_asks)
    return [BookLevel(1 - a.price, a.size) for a in yes_asks], [BookLevel(1 - b.price, b.size) for b in yes_bids]


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """A binary market's static facts; its status follows from the venue clock."""

    symbol: str
    title: str
    category: str
    underlying: str
    open_time: datetime
    close_time: datetime
    settle_time: datetime
    result: Literal["yes", "no"]
    strike_type: str | None = None
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    fee_type: KalshiFeeType = "quadratic"
    attributes: dict[str, str] = field(default_factory=dict)

    def status(self, now: datetime) -> MarketStatus:
        if now < self.open_time:
            return "unopened"
        if now < self.close_time:
            return "open"
        return "closed" if now < self.settle_time else "settled"

    def instrument(self, now: datetime) -> Instrument:
        status = self.status(now)
        return Instrument(
            venue=SIM_VENUE, symbol=self.symbol, kind="binary", title=self.title, category=self.category,
            underlying=self.underlying, status=status, open_time=self.open_time, close_time=self.close_time,
            strike_type=self.strike_type, floor_strike=self.floor_strike, cap_strike=self.cap_strike,
            result=self.result if status == "settled" else None, fee_type=self.fee_type,
            attributes=dict(self.attributes),
        )


class MarketSource(Protocol):
    """One family of replayed markets (weather brackets, BTC 15-minute, recorded quotes, ...)."""

    def markets(self, now: datetime) -> list[MarketSpec]:
        """Markets listed at ``now``: open ones plus those closed within the last day."""
        ...

    def spec(self, symbol: str) -> MarketSpec | None:
        """The market named ``symbol`` if this source offers it (at any time), else None."""
        ...

    def book(self, spec: MarketSpec, now: datetime) -> tuple[list[BookLevel], list[BookLevel]]:
        """(YES bids, YES asks), best first, while the market is open."""
        ...

    def candles(self, symbol: str, granularity_s: int, count: int, now: datetime) -> list[Candle] | None:
        """Candles of the market's underlying if this source has them for ``symbol``, else None."""
        ...


def quote_levels(
    seed: int, key: object, fair: float, *, half_spread_cents: int, depth: int = 5, base_size: int = 40_000,
    tilt: float = 0.0,
) -> tuple[list[BookLevel], list[BookLevel]]:
    """A book around a fair YES probability: whole-cent levels 1 cent apart, sizes in centi-contracts.

    ``tilt`` in (-1, 1) leans size towards the bids (positive) or the asks (negative): the imbalance a real book
    shows when flow is one-sided. Bids stay >= 1 cent and asks <= 99 cents, so a near-certain market shows one side.
    """
    centre = max(0.0, min(100.0, fair * 100.0))
    bid = int(centre - half_spread_cents)
    ask = -int(-(centre + half_spread_cents) // 1)
    if ask <= bid:
        ask = bid + 1
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []
    for level in range(depth):
        grow = 1.0 + 0.6 * level
        size_b = base_size * grow * (0.5 + rng.unit(seed, key, "bsz", level)) * (1.0 + tilt)
        size_a = base_size * grow * (0.5 + rng.unit(seed, key, "asz", level)) * (1.0 - tilt)
        if 1 <= bid - level <= 99:
            bids.append(BookLevel(Decimal(bid - level) * CENT, max(100, int(size_b) // 100 * 100)))
        if 1 <= ask + level <= 99:
            asks.append(BookLevel(Decimal(ask + level) * CENT, max(100, int(size_a) // 100 * 100)))
    return bids, asks


class BinarySimVenue(SimVenueBase):
    """A Kalshi-like venue over one or more market sources."""

    def __init__(
        self, surface: str, clock: Clock, state_dir: Path, seed: int, starting_cash_cents: int,
        sources: Sequence[MarketSource],
    ) -> None:
        super().__init__(surface, clock, state_dir, seed, starting_cash_cents)
        self.sources = tuple(sources)

    # ---------------------------------------------------------------- markets
    def _find(self, symbol: str) -> tuple[MarketSource, MarketSpec]:
        for source in self.sources:
            spec = source.spec(symbol)
            if spec is not None:
                return source, spec
        raise NotFoundError(self.name, f"no market {symbol}")

    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]:
        """Markets listed now (open, plus those closed or settled within the last day); filtered by status."""
        now = self.clock.now()
        out = [s.instrument(now) for source in self.sources for s in source.markets(now)]
        return [i for i in out if status is None or i.status == status]

    def instrument(self, symbol: str) -> Instrument:
        return self._find(symbol)[1].instrument(self.clock.now())

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook:
        """YES bids and YES asks (asks are ``1 − NO bids``); empty unless the market is open."""
        now = self.clock.now()
        source, spec = self._find(symbol)
        if spec.status(now) != "open":
            return OrderBook(symbol, now, (), ())
        bids, asks = source.book(spec, now)
        return OrderBook(symbol, now, tuple(bids[:depth]), tuple(asks[:depth]))

    def quote(self, symbol: str) -> Quote:
        book = self.orderbook(symbol, 1)
        return Quote(
            symbol, book.at,
            book.bids[0].price if book.bids else None, book.asks[0].price if book.asks else None,
            book.bids[0].size if book.bids else None, book.asks[0].size if book.asks else None,
        )

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        now = self.clock.now()
        for source in self.sources:
            found = source.candles(symbol, granularity_s, count, now)
            if found is not None:
                return found
        raise NotFoundError(self.name, f"no candles for {symbol}")

    # ----------------------------------------------------------------- orders
    def _execute(self, request: OrderRequest, now: datetime, venue_order_id: str) -> OrderRecord:
        def reject(reason: str) -> OrderRecord:
            return self._rejected(request, now, venue_order_id, reason)

        if request.side not in ("yes", "no"):
            return reject("invalid_side: binary markets trade yes or no")
        if request.quantity <= 0:
            return reject("invalid_quantity")
        try:
            source, spec = self._find(request.symbol)
        except NotFoundError:
            return reject("unknown_market")
        if spec.status(now) != "open":
            return reject(f"market_{spec.status(now)}")
        if request.intent == "close":
            held = self._holdings(now).get((request.symbol, request.side), (0, Decimal(0)))[0]
            if held < request.quantity:
                return reject(f"insufficient_position: hold {held}, selling {request.quantity}")
        yes_bids, yes_asks = source.book(spec, now)
        if request.time_in_force == "gtc":
            return self._rest(request, spec, yes_bids, yes_asks, now, venue_order_id)
        # The levels this order takes, as prices of the side it trades (NO prices are 1 − YES prices).
        if request.intent == "open":
            levels = yes_asks if request.side == "yes" else [BookLevel(1 - b.price, b.size) for b in yes_bids]
        else:
            levels = yes_bids if request.side == "yes" else [BookLevel(1 - a.price, a.size) for a in yes_asks]
        fill = take_levels(request, [(level.price, level.size) for level in levels],
                           lambda take, price: kalshi_fee_cents(take, price * 100, fee_type=spec.fee_type))
        if fill is None:
            return replace(reject("no_liquidity_within_limit"), status="cancelled")
        if request.intent == "open" and -fill.cash_delta_cents > self._cash(now):
            return reject("insufficient_balance")
        return OrderRecord(
            client_order_id=request.client_order_id, venue_order_id=venue_order_id, symbol=request.symbol,
            side=request.side, intent=request.intent, quantity=request.quantity,
            status="filled" if fill.remaining == 0 else "partially_filled", at=now, limit_price=request.limit_price,
            fills=fill.parts, reason="" if fill.remaining == 0 else "ioc_remainder_cancelled",
            cash_delta_cents=fill.cash_delta_cents,
        )

    # ---------------------------------------------------------- resting orders
    def _rest(self, request: OrderRequest, spec: MarketSpec, yes_bids: Sequence[BookLevel],
              yes_asks: Sequence[BookLevel], now: datetime, venue_order_id: str) -> OrderRecord:
        """A post-only opening order: rests behind the displayed size at its price, or is refused."""
        limit = request.limit_price
        if request.intent != "open":
            return self._rejected(request, now, venue_order_id, "resting_close_unsupported")
        if limit is None:
            return self._rejected(request, now, venue_order_id, "limit_price_required")
        bids, asks = side_book(request.side, yes_bids, yes_asks)
        if asks and asks[0].price <= limit:
            return self._rejected(request, now, venue_order_id, "post_only_would_cross")
        worst = _notional_up(request.quantity, limit) + kalshi_fee_cents(
            request.quantity, limit * 100, maker=True, fee_type=spec.fee_type)
        if worst > self._cash(now) - self._reserved():
            return self._rejected(request, now, venue_order_id, "insufficient_balance")
        return OrderRecord(
            client_order_id=request.client_order_id, venue_order_id=venue_order_id, symbol=request.symbol,
            side=request.side, intent="open", quantity=request.quantity, status="resting", at=now,
            limit_price=limit, queue_ahead=sum(level.size for level in bids if level.price == limit),
            evaluated_until=now,
        )

    def _reserved(self) -> int:
        """Cash the unfilled rest of every resting order holds back (its worst case: all of it fills)."""
        total = 0
        for order in self.ledger.resting.values():
            assert order.limit_price is not None
            total += _notional_up(order.quantity - order.filled_quantity, order.limit_price)
        return total

    def _advance_locked(self, now: datetime) -> None:
        for record in list(self.ledger.resting.values()):
            updated = self._advance_one(record, now)
            if updated is not record:
                self.ledger.append_update(updated)

    def _advance_one(self, record: OrderRecord, now: datetime) -> OrderRecord:
        """The state of one resting order at ``now`` under the queue model; ``record`` itself if nothing filled or
        ended (the steps that only ate into the queue are recomputed the same next time: they depend on nothing
        but the seed, the market and the step)."""
        source, spec = self._find(record.symbol)
        limit = record.limit_price
        assert limit is not None
        remaining = record.quantity - record.filled_quantity
        queue = record.queue_ahead
        fills = list(record.fills)
        t = record.evaluated_until or record.at
        while remaining > 0 and t + QUEUE_STEP <= now and t + QUEUE_STEP < spec.close_time:
            t += QUEUE_STEP
            bids, asks = side_book(record.side, *source.book(spec, t))
            crossing = sum(level.size for level in asks if level.price <= limit)
            if crossing:
                volume = crossing  # the market came to (or through) our price
            elif not bids or bids[0].price <= limit:
                touch = asks[0].size if asks else 0
                draw = rng.unit(self.seed, record.symbol, "tape", int(t.timestamp()))
                volume = int(2 * TAPE_RATE * draw * touch) // 100 * 100
            else:
                volume = 0  # better bids stand ahead: nothing trades at our price
            eaten = min(queue, volume)
            queue -= eaten
            take = min(remaining, volume - eaten)
            if take:
                fee = kalshi_fee_cents(take, limit * 100, maker=True, fee_type=spec.fee_type)
                fills.append(FillPart(take, limit, fee, at=t))
                remaining -= take
        closed = remaining > 0 and now >= spec.close_time
        if len(fills) == len(record.fills) and not closed:
            return record
        notional = sum((Decimal(f.quantity) * f.price for f in fills), Decimal(0))
        state = replace(
            record, fills=tuple(fills), queue_ahead=queue, evaluated_until=t,
            status="filled" if remaining == 0 else "resting",
            cash_delta_cents=-int(notional.to_integral_value(ROUND_CEILING)) - sum(f.fees_cents for f in fills),
        )
        return self._ended(state, "market_closed") if closed else state

    # -------------------------------------------------------------- portfolio
    def _holdings(self, now: datetime) -> dict[tuple[str, str], tuple[int, Decimal]]:
        """(symbol, side) -> (centi-contracts held, average buy price), from every filled order up to now."""
        self.ledger.sync()
        qty: dict[tuple[str, str], int] = defaultdict(int)
        bought: dict[tuple[str, str], tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
        for order in self.ledger.orders:
            # A resting order's fills carry their own time (another process may have stepped it further).
            parts = [f for f in order.fills if (f.at or order.at) <= now]
            if order.at > now or not parts:
                continue
            key = (order.symbol, order.side)
            filled = sum(f.quantity for f in parts)
            if order.intent == "open":
                qty[key] += filled
                n, cost = bought[key]
                bought[key] = (n + filled, cost + sum((f.price * f.quantity for f in parts), Decimal(0)))
            else:
                qty[key] -= filled
        return {k: (q, (bought[k][1] / bought[k][0]).quantize(Decimal("0.0001")) if bought[k][0] else Decimal(0))
                for k, q in qty.items() if q > 0}

    def _settled(self, now: datetime) -> list[tuple[str, str, int, MarketSpec]]:
        out = []
        for (symbol, side), (quantity, _avg) in sorted(self._holdings(now).items()):
            spec = self._find(symbol)[1]
            if spec.status(now) == "settled":
                out.append((symbol, side, quantity, spec))
        return out

    def positions(self) -> list[Position]:
        """Open YES/NO holdings; a position leaves this list once its market settles (see settlements)."""
        self.advance()
        now = self.clock.now()
        settled = {(s, side) for s, side, _q, _spec in self._settled(now)}
        return [
            Position(symbol, side, quantity, avg)  # type: ignore[arg-type]
            for (symbol, side), (quantity, avg) in sorted(self._holdings(now).items())
            if (symbol, side) not in settled
        ]

    def settlements(self, since: datetime | None = None) -> list[Settlement]:
        """Settled holdings: a winning centi-contract pays 1 cent (a contract pays $1); no settlement fee."""
        self.advance()
        now = self.clock.now()
        out = []
        for symbol, side, quantity, spec in self._settled(now):
            if since is not None and spec.settle_time < since:
                continue
            revenue = quantity if spec.result == side else 0
            out.append(Settlement(symbol, spec.result, spec.settle_time, revenue_cents=revenue))
        return out

    def _cash(self, now: datetime) -> int:
        self.ledger.sync()
        cash = self.starting_cash_cents + sum(o.cash_delta_cents for o in self.ledger.orders if o.at <= now)
        return cash + sum(q if spec.result == side else 0 for _s, side, q, spec in self._settled(now))

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        """Sell every contract held in ``symbol`` at the bid (both sides, YES first)."""
        now = self.clock.now()
        held = {side: q for (s, side), (q, _a) in self._holdings(now).items() if s == symbol}
        side = "yes" if held.get("yes") else "no"
        return self.place_order(
            OrderRequest(client_order_id, symbol, side, "close", held.get(side, 0) or 1, None, "ioc")  # type: ignore[arg-type]
        )

    def balance(self) -> Balance:
        """Cash (starting cash + order cash flows + settlement payouts) and cash plus holdings at the mid."""
        self.advance()
        now = self.clock.now()
        cash = self._cash(now)
        value = Decimal(cash)
        settled = {(s, side) for s, side, _q, _spec in self._settled(now)}
        for (symbol, side), (quantity, avg) in self._holdings(now).items():
            if (symbol, side) in settled:
                continue
            mid = self.quote(symbol).mid
            yes_value = mid if mid is not None else (avg if side == "yes" else 1 - avg)
            value += Decimal(quantity) * (yes_value if side == "yes" else 1 - yes_value)
        return Balance(cash, int(value.to_integral_value(ROUND_FLOOR)))


def _notional_up(quantity: int, price: Decimal) -> int:
    """Cents paid for ``quantity`` centi-contracts at ``price`` dollars, rounded up."""
    return int((Decimal(quantity) * price).to_integral_value(ROUND_CEILING))
