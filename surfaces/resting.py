"""Resting (maker) orders of one surface: placed, watched, moved, cancelled and finished each tick.

ORDER_STYLE (per surface, per sub-strategy through ORDER_STYLE_OVERRIDES) says how an accepted plan trades on a
binary venue:
- ``take`` (the default): today's IOC at the decision's price; nothing here runs.
- ``rest``: a post-only order one tick inside the best bid of the side bought (or at it, when the spread is one
  tick), for REST_SECONDS; whatever has not filled then is cancelled.
- ``rest_then_take``: the same, and at expiry what is left is taken with an IOC at the decision's price if the
  book still offers it there (the edge the gates cleared still holds), unless STOP or a breaker holds.

Each tick, before new proposals, :meth:`RestingOrders.tick` brings every working order up to date through the
durable lifecycle (shared/execution.py: every state a record) and then, as a market maker who has been burned by
stale quotes would insist:
- STOP, a tripped breaker or a quarantine cancels every resting order of the surface (exits and settlements go on);
- an order past its expiry is cancelled (and, for rest_then_take, its remainder taken as above);
- an order whose edge at its own price (the decision's probability of the side, the maker fee of the series) no
  longer clears MIN_EDGE is cancelled;
- an unfilled order no longer at the best bid is moved: cancelled, and re-sent at the new price under the next
  client order id (signal id + version) if the edge holds there, else left cancelled. A fill racing the cancel
  ends the move (the trade is filled with what filled; nothing is sent again). A partly filled order is not moved.
The operator's signal is published once, at the first fill of any part.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from shared.execution import OrderLifecycle, OrderPlan
from shared.money.fees import KalshiFeeType, kalshi_fee_cents
from shared.money.sizing import binary_cost_cents
from shared.records import OrderStyle, Signal, Trade
from shared.venues.base import BookLevel, OrderBook, VenueError

log = logging.getLogger(__name__)

TICK = Decimal("0.01")
ORDER_STYLES: tuple[OrderStyle, ...] = ("take", "rest", "rest_then_take")


def parse_style_overrides(text: str) -> dict[str, OrderStyle]:
    """``"sub_strategy=style,..."`` (ORDER_STYLE_OVERRIDES) as a mapping; ValueError names a bad entry."""
    out: dict[str, OrderStyle] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, style = item.partition("=")
        style = style.strip()
        if not name.strip() or style not in ORDER_STYLES:
            raise ValueError(f"ORDER_STYLE_OVERRIDES: {item!r} is not sub_strategy=take|rest|rest_then_take")
        out[name.strip()] = style
    return out


def side_levels(book: OrderBook, side: str) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
    """(bids, asks) of a binary book priced as ``side``: NO bids are ``1 − YES asks``, NO asks ``1 − YES bids``."""
    if side == "yes":
        return book.bids, book.asks
    return (tuple(BookLevel(1 - a.price, a.size) for a in book.asks),
            tuple(BookLevel(1 - b.price, b.size) for b in book.bids))


def maker_price(book: OrderBook, side: str, ceiling: Decimal) -> Decimal | None:
    """Where a post-only order of ``side`` rests: one tick inside the best bid when that stays below the best ask,
    else at the best bid; never at or above ``ceiling`` (the taker price the decision cleared) or the ask. None
    when there is no such price (an empty or one-sided book)."""
    bids, asks = side_levels(book, side)
    if not bids or not asks:
        return None
    ask = asks[0].price
    price = bids[0].price + TICK if bids[0].price + TICK < ask else bids[0].price
    price = min(price, ceiling - TICK, ask - TICK)
    return price if price >= TICK else None


def capacity_at(book: OrderBook, side: str, price: Decimal) -> int:
    """What a taker could buy of ``side`` at or below ``price`` in the displayed book (centi-contracts)."""
    return sum(level.size for level in side_levels(book, side)[1] if level.price <= price)


def maker_edge(p_side: float, price: Decimal, fee_type: str) -> Decimal:
    """Dollars a contract a maker buy at ``price`` is expected to make (the probability of the side less price
    and maker fee)."""
    fee = Decimal(kalshi_fee_cents(100, price * 100, maker=True, fee_type=cast(KalshiFeeType, fee_type))) / 100
    return Decimal(str(p_side)) - price - fee


@dataclass
class Working:
    """One resting order being watched: its latest state and what deciding it knew."""

    trade: Trade
    expires_at: datetime
    style: OrderStyle
    p_side: float | None  # the decision's probability of the side (None: adopted at a restart)
    take_price: Decimal | None  # the decision's taker price (rest_then_take); None: never take
    signal: Signal | None
    version: int = 0


class RestingOrders:
    """The surface's working maker orders (see the module docstring)."""

    def __init__(
        self,
        lifecycle: OrderLifecycle,
        *,
        style: OrderStyle,
        rest_seconds: float,
        overrides: Mapping[str, OrderStyle] | None = None,
        min_edge: Callable[[], Decimal],
        halted: Callable[[], str | None],
        on_fill: Callable[[Signal], None],
        after_write: Callable[[], None] = lambda: None,
    ) -> None:
        self.lifecycle = lifecycle
        self.venue = lifecycle.venue
        self.style = style
        self.rest_seconds = rest_seconds
        self.overrides = dict(overrides or {})
        self.min_edge = min_edge
        self.halted = halted
        self.on_fill = on_fill
        self.after_write = after_write
        self.working: dict[str, Working] = {}
        self._published: set[str] = set()
        self._fee_types: dict[str, str] = {}

    def style_for(self, sub_strategy: str) -> OrderStyle:
        return self.overrides.get(sub_strategy, self.style)

    # ------------------------------------------------------------------ entry
    def prepare(self, plan: OrderPlan, signal: Signal, now: datetime) -> tuple[OrderPlan, Signal]:
        """The plan and signal for the sub-strategy's style: unchanged for ``take`` (or when the book offers no
        maker price: then the order takes, as the decision priced it)."""
        style = self.style_for(plan.sub_strategy)
        if style == "take" or not self.lifecycle.binary:
            return plan, signal
        book = self.venue.orderbook(plan.instrument, 10)
        price = maker_price(book, plan.side, plan.limit_price)
        if price is None:
            return plan, signal
        expires = now + timedelta(seconds=self.rest_seconds)
        rest_plan = replace(plan, order_style=style, rest_price=price)
        rest_signal = signal.model_copy(update={
            "order_style": style, "rest_expires_at": expires,
            "capacity": capacity_at(book, plan.side, plan.limit_price),
        })
        return rest_plan, rest_signal

    def track(self, trade: Trade, plan: OrderPlan, signal: Signal, p_side: float, now: datetime) -> None:
        """Watch a resting order from now on (a fill already recorded publishes the signal)."""
        self.working[trade.id] = Working(
            trade=trade, expires_at=now + timedelta(seconds=self.rest_seconds), style=plan.order_style,
            p_side=p_side, take_price=plan.limit_price if plan.order_style == "rest_then_take" else None,
            signal=signal,
        )
        if trade.fill_price is not None:
            self._fill(trade.id, signal)

    def adopt(self, trades: list[Trade], now: datetime) -> None:
        """Go on watching orders a restart found resting (RESTING_ON_RESTART=adopt): until REST_SECONDS from now,
        moved or cancelled on price only (the decision's probability is not in the trade log), never taken."""
        for trade in trades:
            self.working[trade.id] = Working(trade, now + timedelta(seconds=self.rest_seconds), "rest", None, None,
                                             None)

    # ------------------------------------------------------------------ each tick
    def tick(self, now: datetime) -> list[Trade]:
        """Bring every working order up to date and act on it. Returns the records' latest states."""
        out: list[Trade] = []
        halt = self.halted()
        for trade_id, work in list(self.working.items()):
            try:
                state = self._step(work, now, halt)
            except VenueError as exc:
                log.error("resting order %s: %s (tried again next tick)", work.trade.client_order_id, exc)
                continue
            self.after_write()
            out.append(state)
            if state.status != "resting":
                del self.working[trade_id]
        return out

    def _step(self, work: Working, now: datetime, halt: str | None) -> Trade:
        state = self._after(work, self.lifecycle.refresh(work.trade))
        if state.status != "resting":
            return state
        if halt is not None:
            return self._after(work, self.lifecycle.cancel(state, f"halted: {halt}"))
        if now >= work.expires_at:
            ended = self._after(work, self.lifecycle.cancel(state, "expired"))
            if ended.status != "resting" and work.take_price is not None:
                self._take_rest(work, ended)
            return ended
        assert state.limit_price is not None
        fee_type = self._fee_type(state.instrument)
        if work.p_side is not None and maker_edge(work.p_side, state.limit_price, fee_type) < self.min_edge():
            return self._after(work, self.lifecycle.cancel(state, "edge gone"))
        if state.reason.startswith("resting: 0 of"):
            book = self.venue.orderbook(state.instrument, 10)
            bids, _asks = side_levels(book, state.side)
            if bids and bids[0].price > state.limit_price:
                return self._move(work, state, book, fee_type)
        return state

    def _move(self, work: Working, state: Trade, book: OrderBook, fee_type: str) -> Trade:
        ceiling = work.take_price or (state.limit_price or TICK) + TICK * 100
        price = maker_price(book, state.side, ceiling)
        edge_ok = price is not None and (
            work.p_side is None or maker_edge(work.p_side, price, fee_type) >= self.min_edge())
        if price is None or not edge_ok or (work.take_price is None and work.p_side is None):
            return self._after(work, self.lifecycle.cancel(state, "outbid; no better price with edge"))
        work.version += 1
        return self._after(work, self.lifecycle.replace(state, price, work.version))

    def _take_rest(self, work: Working, ended: Trade) -> None:
        """rest_then_take at expiry: take what is left at the decision's price if the book still offers it."""
        assert work.take_price is not None and work.trade.count is not None
        left = work.trade.count - ((ended.count or 0) if ended.status == "filled" else 0)
        if left <= 0 or self.halted() is not None:
            return
        book = self.venue.orderbook(ended.instrument, 10)
        _bids, asks = side_levels(book, ended.side)
        if not asks or asks[0].price > work.take_price:
            log.info("%s: rest expired, edge gone at the ask; remainder not taken", ended.instrument)
            return
        plan = OrderPlan(
            signal_id=f"{ended.signal_id}#take", surface=ended.surface, sub_strategy=ended.sub_strategy,
            instrument=ended.instrument, side=ended.side, quantity=left, limit_price=work.take_price,
            cost_cents=binary_cost_cents(left, work.take_price), category=ended.category,
            underlying=ended.underlying, eta_hours=ended.eta_hours,
        )
        taken = self.lifecycle.execute(plan)
        self.after_write()
        if taken.status == "filled" and work.signal is not None:
            self._fill(ended.id, work.signal)

    def _after(self, work: Working, state: Trade) -> Trade:
        work.trade = state if state.status == "resting" else work.trade
        if state.fill_price is not None and work.signal is not None:
            self._fill(state.id, work.signal)
        return state

    def _fill(self, trade_id: str, signal: Signal) -> None:
        if trade_id in self._published:
            return
        self._published.add(trade_id)
        self.on_fill(signal)

    def _fee_type(self, symbol: str) -> str:
        if symbol not in self._fee_types:
            self._fee_types[symbol] = self.venue.instrument(symbol).fee_type
        return self._fee_types[symbol]
