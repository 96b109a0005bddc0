"""The durable order lifecycle: intent → placed → filled (→ resolved by the resolver), each state a new record.

A maker order (``order_style`` rest or rest_then_take, binary venues) goes intent → resting (→ resting again as it
partly fills, or as it is moved to a new price under a new client order id) → filled (what filled) | cancelled
(nothing did: cancelled, expired, or the venue ended it). Its resting records carry the whole order's count and
worst-case cost, so the caps count it as if it had filled. What to do with it each tick is
``surfaces/resting.py``'s; this module only does it durably.

Why it is shaped this way:
- The intent is fsync'd to the surface's trades log *before* the order is sent, with a client order id derived
  from the signal id. Whatever happens next (a crash before the send, after the send, after the fill), a restart
  finds the intent and asks the venue about that client order id instead of guessing.
- ``reconcile`` runs before a restarted surface trades: every non-terminal, unfilled intent is settled against
  the venue, so there is no duplicate order, no orphaned position and no position the log does not know.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from shared.bus import JsonlLog
from shared.clock import Clock
from shared.ids import derive_id
from shared.money.portfolio import Portfolio
from shared.money.sizing import binary_cost_cents
from shared.records import TERMINAL_STATUSES, Mode, OrderStyle, Side, Surface, Trade, parse_record
from shared.venues.base import NotFoundError, OrderRequest, OrderResult, Position, Venue, VenueError

log = logging.getLogger(__name__)

REST_MARK = "order_style=rest"  # an intent's reason when the order will rest: reconciling reads it
RestartPolicy = Literal["adopt", "cancel"]


def rest_client_order_id(signal_id: str, version: int) -> str:
    """The client order id of a signal's resting order: version 0 is the signal's own order id (a taker's), each
    move to a new price a new version."""
    return derive_id("coid", signal_id if version == 0 else f"{signal_id}#v{version}")


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """Everything needed to open one position for one signal."""

    signal_id: str
    surface: Surface
    sub_strategy: str
    instrument: str
    side: Side
    quantity: int  # centi-contracts (binary) or units / shares
    limit_price: Decimal
    cost_cents: int | None = None  # cash (binary, stocks) or margin (FX) the position ties up, fees excluded
    category: str = ""
    underlying: str = ""
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    eta_hours: float | None = None
    # take: an IOC at limit_price (the default). rest / rest_then_take: a post-only order at rest_price (binary
    # venues); limit_price stays the taker price the decision cleared the gates at, cost_cents its worst case.
    order_style: OrderStyle = "take"
    rest_price: Decimal | None = None

    @property
    def trade_id(self) -> str:
        return derive_id("trade", self.signal_id)

    @property
    def client_order_id(self) -> str:
        return rest_client_order_id(self.signal_id, 0)

    @property
    def rests(self) -> bool:
        return self.order_style != "take" and self.rest_price is not None


def latest_states(trades: Iterable[Trade]) -> dict[str, Trade]:
    """The latest state of every trade id, by the portfolio fold's rules (a state never moves an id backwards)."""
    portfolio = Portfolio(None, None, bankroll_cents=0)
    for trade in trades:
        portfolio.apply(trade)
    return {trade.id: trade for trade in portfolio.trades()}


def read_trades(log: JsonlLog) -> list[Trade]:
    """Every valid trade record of a log (corrupt lines are skipped and counted by the reader)."""
    reader = log.reader()
    return [parse_record(Trade, entry.data, entry.ts) for entry in reader.read() if entry.data.get("kind") == "trade"]


class OrderLifecycle:
    """Opens positions durably on one venue and reconciles unfinished intents after a restart."""

    def __init__(self, venue: Venue, trades: JsonlLog, mode: Mode, *, binary: bool) -> None:
        self.venue = venue
        self.trades = trades
        self.mode = mode
        self.binary = binary
        self.clock: Clock = venue.clock
        self.adopted: list[Trade] = []  # resting orders the last reconcile kept (resting="adopt")

    def intent(self, plan: OrderPlan) -> Trade:
        """The intent record of a plan (what :meth:`execute` writes first)."""
        return self._base(plan)

    def _base(self, plan: OrderPlan) -> Trade:
        return Trade(
            id=plan.trade_id,
            signal_id=plan.signal_id,
            client_order_id=plan.client_order_id,
            status="intent",
            mode=self.mode,
            surface=plan.surface,
            sub_strategy=plan.sub_strategy,
            venue=self.venue.name,
            instrument=plan.instrument,
            side=plan.side,
            category=plan.category,
            underlying=plan.underlying,
            count=plan.quantity if self.binary else None,
            units=None if self.binary else plan.quantity,
            limit_price=plan.limit_price,
            cost_cents=plan.cost_cents,
            eta_hours=plan.eta_hours,
            stop_loss=plan.stop_loss,
            take_profit=plan.take_profit,
        )

    def execute(self, plan: OrderPlan) -> Trade:
        """Write the intent (fsync'd), send the order, record what the venue did. Returns the latest state.

        A resting plan (binary venues) sends a post-only GTC order at ``rest_price`` and returns its ``resting``
        state (or what it ended as)."""
        if plan.rests and self.binary:
            return self._execute_rest(plan)
        intent = self._base(plan)
        self.trades.append(intent)
        request = OrderRequest(
            client_order_id=plan.client_order_id,
            symbol=plan.instrument,
            side=plan.side,
            intent="open",
            quantity=plan.quantity,
            limit_price=plan.limit_price,
            time_in_force="ioc",
            stop_loss=plan.stop_loss,
            take_profit=plan.take_profit,
        )
        result = self._send(intent, request)
        if isinstance(result, Trade):
            return result
        return self._record_result(intent, result)

    def _send(self, intent: Trade, request: OrderRequest) -> OrderResult | Trade:
        """Send; on an error ask the venue by client order id (a timeout after the send); record a rejection."""
        try:
            return self.venue.place_order(request)
        except VenueError as exc:
            found = self._lookup(request.client_order_id)
            if found is None:
                rejected = intent.model_copy(update={"status": "rejected", "reason": str(exc)[:300]})
                self.trades.append(rejected)
                return rejected
            return found

    # ------------------------------------------------------------------ resting orders
    def _execute_rest(self, plan: OrderPlan) -> Trade:
        assert plan.rest_price is not None
        intent = self._base(plan).model_copy(update={"limit_price": plan.rest_price, "reason": REST_MARK})
        self.trades.append(intent)
        return self._send_rest(intent)

    def _send_rest(self, state: Trade) -> Trade:
        assert state.limit_price is not None and state.count is not None
        request = OrderRequest(
            client_order_id=state.client_order_id, symbol=state.instrument, side=state.side, intent="open",
            quantity=state.count, limit_price=state.limit_price, time_in_force="gtc",
        )
        result = self._send(state, request)
        if isinstance(result, Trade):
            return result
        return self._record_rest(state, result)

    def _record_rest(self, state: Trade, result: OrderResult) -> Trade:
        """Record a resting order's answer from the venue: still resting (with what filled so far), or its end."""
        if result.status == "filled":
            return self._finish(state, result, "")
        if result.status in ("resting", "partially_filled"):
            # partially_filled: Kalshi says so of a GTC order that partly filled and still rests.
            return self._resting(state, result)
        return self._finish(state, result, result.reason or result.status)

    def _resting(self, state: Trade, result: OrderResult) -> Trade:
        reason = f"resting: {result.filled_quantity} of {state.count} filled"
        if state.status == "resting" and state.reason == reason and state.venue_order_id == result.venue_order_id:
            return state  # nothing new
        resting = state.model_copy(update={
            "status": "resting", "venue_order_id": result.venue_order_id, "reason": reason,
            "fill_price": result.avg_fill_price, "fees": result.fees_cents,
            "opened_at": state.opened_at or result.at,
        })
        self.trades.append(resting)
        return resting

    def _finish(self, state: Trade, result: OrderResult, reason: str) -> Trade:
        """A resting order's end: filled with what filled (a part, when it was cancelled or expired), else
        cancelled (or rejected) with ``reason``."""
        if result.filled_quantity <= 0:
            status = "rejected" if result.status == "rejected" else "cancelled"
            end = state.model_copy(update={"status": status, "venue_order_id": result.venue_order_id or
                                           state.venue_order_id, "reason": reason[:300], "fill_price": None,
                                           "fees": 0})
            self.trades.append(end)
            return end
        update = self._filled_update(state, result)
        update["reason"] = reason[:300]
        update["venue_order_id"] = result.venue_order_id
        filled = state.model_copy(update=update)
        self.trades.append(filled)
        return filled

    def refresh(self, trade: Trade) -> Trade:
        """Ask the venue about a resting order and record what changed (fills, or its end)."""
        result = self._lookup(trade.client_order_id)
        if result is None:
            if trade.venue_order_id is None:  # a move recorded before its send: the venue never saw it
                return self._never_sent(trade)
            log.error("resting order %s is unknown to the venue", trade.client_order_id)
            return trade
        return self._record_rest(trade, result)

    def cancel(self, trade: Trade, reason: str) -> Trade:
        """Cancel a resting order at the venue and record its end: filled with what filled before the cancel took
        (a fill racing the cancel is kept, never re-sent), else cancelled with ``reason``. If the venue still shows
        it resting, its state is recorded and the cancel is tried again next time."""
        result = self._cancel_at_venue(trade)
        if result is None:
            return self._never_sent(trade)
        if result.status == "resting":
            return self._resting(trade, result)
        return self._finish(trade, result, reason)

    def _cancel_at_venue(self, trade: Trade) -> OrderResult | None:
        """Cancel (what is left of) the order and return the venue's word on it afterwards (None: never sent)."""
        if trade.venue_order_id is not None:
            with contextlib.suppress(NotFoundError):  # already gone: the lookup below says how it ended
                self.venue.cancel_order(trade.venue_order_id)
        return self._lookup(trade.client_order_id)

    def replace(self, trade: Trade, price: Decimal, version: int) -> Trade:
        """Move a resting order to ``price``: cancel it, and only if nothing of it filled (a fill racing the cancel
        ends the move: the trade is filled with that, nothing is sent again), record the new order under the next
        client order id (derived from the signal id and ``version``) before sending it. The old order's end is
        inside that record (its reason); the trade stays one id, resting throughout."""
        result = self._cancel_at_venue(trade)
        if result is None:
            return self._never_sent(trade)
        if result.status == "resting":
            return self._resting(trade, result)  # the venue has not cancelled it yet: tried again next tick
        if result.filled_quantity > 0:
            return self._finish(trade, result, "filled while being moved")
        moved = trade.model_copy(update={
            "status": "resting", "client_order_id": rest_client_order_id(trade.signal_id, version),
            "limit_price": price, "venue_order_id": None, "fill_price": None, "fees": 0,
            "reason": f"moving to {price} (v{version}); {trade.client_order_id} cancelled unfilled",
        })
        self.trades.append(moved)
        return self._send_rest(moved)

    def _never_sent(self, trade: Trade) -> Trade:
        cancelled = trade.model_copy(update={"status": "cancelled", "reason": "reconciled: never sent"})
        self.trades.append(cancelled)
        return cancelled

    def _lookup(self, client_order_id: str) -> OrderResult | None:
        try:
            return self.venue.order_by_client_id(client_order_id)
        except VenueError as exc:
            log.error("order lookup for %s failed: %s", client_order_id, exc)
            raise

    def _record_result(self, intent: Trade, result: OrderResult) -> Trade:
        if result.status in ("rejected", "cancelled") or result.filled_quantity <= 0:
            terminal = intent.model_copy(
                update={"status": "rejected" if result.status == "rejected" else "cancelled",
                        "venue_order_id": result.venue_order_id, "reason": result.reason[:300]}
            )
            self.trades.append(terminal)
            return terminal
        placed = intent.model_copy(update={"status": "placed", "venue_order_id": result.venue_order_id})
        filled = placed.model_copy(update=self._filled_update(intent, result))
        # One locked write, one fsync for both states (group commit).
        self.trades.append_many([placed, filled])
        return filled

    def _filled_update(self, intent: Trade, result: OrderResult) -> dict[str, object]:
        price = result.avg_fill_price if result.avg_fill_price is not None else intent.limit_price
        assert price is not None
        filled_update: dict[str, object] = {
            "status": "filled",
            "fill_price": price,
            "fees": result.fees_cents,
            "opened_at": result.at,
        }
        if self.binary:
            filled_update["count"] = result.filled_quantity
            filled_update["cost_cents"] = binary_cost_cents(result.filled_quantity, price)
        else:
            filled_update["units"] = result.filled_quantity
            requested = intent.units or result.filled_quantity
            if intent.cost_cents is not None and requested:
                # A partial fill ties up its share of the planned cost (rounded up: never understate risk).
                filled_update["cost_cents"] = -(-intent.cost_cents * result.filled_quantity // requested)
        return filled_update

    def reconcile(self, resting: RestartPolicy = "cancel") -> list[Trade]:
        """Settle every unfinished intent against the venue (see :meth:`settle`). Returns the records written.

        Resting orders are found by client order id: one the venue still holds is cancelled (``resting="cancel"``,
        the default: a quote left behind by a crash is stale) or kept (``"adopt"``; :attr:`adopted` lists them for
        the loop to go on tracking). Run at start, before trading. A venue position that no trade in the log
        accounts for raises: the operator must look.
        """
        self.adopted = []
        latest = latest_states(read_trades(self.trades))
        written: list[Trade] = []
        for trade in list(latest.values()):
            if trade.status in TERMINAL_STATUSES or trade.status == "filled":
                continue
            state = self.refresh(trade) if trade.status == "resting" else self.settle(trade)
            if state.status == "resting":
                if resting == "cancel":
                    state = self.cancel(state, "reconciled: cancelled at restart")
                if state.status == "resting":
                    self.adopted.append(state)
            if state is not trade:
                written.append(state)
                latest[state.id] = state
        self._check_orphans(latest)
        return written

    def settle(self, trade: Trade) -> Trade:
        """Bring one unfinished intent (or placed order) to the state the venue knows, and record it.

        - the venue has it: record placed + filled, or its terminal state (a crash after the send or the fill);
        - the venue never saw it: record cancelled (a crash before the send). The signal is stale by now, so it is
          not re-sent.
        A venue error propagates: the intent stays unfinished and is tried again later.
        """
        result = self._lookup(trade.client_order_id)
        if result is None:
            return self._never_sent(trade)
        if result.status == "resting" or trade.reason == REST_MARK:
            return self._record_rest(trade, result)  # a maker order sent before its resting state was written
        return self._record_result(trade.model_copy(update={"status": "intent"}), result)

    def _check_orphans(self, latest: dict[str, Trade]) -> None:
        # Resolved trades count as known: the resolver closes at the venue before it records the resolution.
        known = {t.client_order_id for t in latest.values() if t.status in ("filled", "resolved")}
        orphans: list[Position] = [
            p for p in self.venue.positions() if p.client_order_id is not None and p.client_order_id not in known
        ]
        if orphans:
            names = ", ".join(f"{p.symbol} ({p.client_order_id})" for p in orphans[:5])
            raise OrphanPositionError(f"venue holds positions the trade log does not know: {names}")


class OrphanPositionError(RuntimeError):
    """The venue holds a position that no filled trade in the log explains."""
