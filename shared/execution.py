"""The durable order lifecycle: intent → placed → filled (→ resolved by the resolver), each state a new record.

Why it is shaped this way:
- The intent is fsync'd to the surface's trades log *before* the order is sent, with a client order id derived
  from the signal id. Whatever happens next (a crash before the send, after the send, after the fill), a restart
  finds the intent and asks the venue about that client order id instead of guessing.
- ``reconcile`` runs before a restarted surface trades: every non-terminal, unfilled intent is settled against
  the venue, so there is no duplicate order, no orphaned position and no position the log does not know.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shared.bus import JsonlLog
from shared.clock import Clock
from shared.ids import derive_id
from shared.money.portfolio import Portfolio
from shared.money.sizing import binary_cost_cents
from shared.records import TERMINAL_STATUSES, Mode, Side, Surface, Trade, parse_record
from shared.venues.base import OrderRequest, OrderResult, Position, Venue, VenueError

log = logging.getLogger(__name__)


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

    @property
    def trade_id(self) -> str:
        return derive_id("trade", self.signal_id)

    @property
    def client_order_id(self) -> str:
        return derive_id("coid", self.signal_id)


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
        """Write the intent (fsync'd), send the order, record what the venue did. Returns the latest state."""
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
        try:
            result = self.venue.place_order(request)
        except VenueError as exc:
            # The venue may or may not have the order (a timeout after the send): ask it before concluding.
            found = self._lookup(plan.client_order_id)
            if found is None:
                rejected = intent.model_copy(update={"status": "rejected", "reason": str(exc)[:300]})
                self.trades.append(rejected)
                return rejected
            result = found
        return self._record_result(intent, result)

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
        filled = placed.model_copy(update=filled_update)
        # One locked write, one fsync for both states (group commit).
        self.trades.append_many([placed, filled])
        return filled

    def reconcile(self) -> list[Trade]:
        """Settle every unfinished intent against the venue (see :meth:`settle`). Returns the records written.

        Run at start, before trading. A venue position that no trade in the log accounts for raises: the
        operator must look.
        """
        latest = latest_states(read_trades(self.trades))
        written = [self.settle(t) for t in latest.values() if t.status not in TERMINAL_STATUSES
                   and t.status != "filled"]
        latest.update((t.id, t) for t in written)
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
            cancelled = trade.model_copy(update={"status": "cancelled", "reason": "reconciled: never sent"})
            self.trades.append(cancelled)
            return cancelled
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
