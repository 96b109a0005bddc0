"""What every sim venue shares: the order ledger, idempotent order placement, lookups and fills."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path

from shared.clock import Clock
from shared.ids import derive_id
from shared.venues.base import Fill, NotFoundError, OrderRequest, OrderResult
from shared.venues.sim.ledger import OrderLedger, OrderRecord

SIM_VENUE = "sim"


class SimVenueBase(ABC):
    """Idempotent order placement over the persistent ledger; subclasses execute orders against their data."""

    name = SIM_VENUE

    def __init__(self, surface: str, clock: Clock, state_dir: Path, seed: int, starting_cash_cents: int) -> None:
        self.surface = surface
        self.clock = clock
        self.seed = seed
        self.starting_cash_cents = starting_cash_cents
        self.ledger = OrderLedger(state_dir)

    # ----------------------------------------------------------------- orders
    def place_order(self, request: OrderRequest) -> OrderResult:
        """Execute an order now, once per client order id: a repeat returns the first order's result."""
        with self.ledger.locked():
            self.ledger.sync()
            existing = self.ledger.by_client_id(request.client_order_id)
            if existing is not None:
                return existing.result()
            now = self.clock.now()
            record = self._execute(request, now, derive_id("simorder", f"{self.surface}:{request.client_order_id}"))
            self.ledger.append(record)
            return record.result()

    @abstractmethod
    def _execute(self, request: OrderRequest, now: datetime, venue_order_id: str) -> OrderRecord:
        """Execute ``request`` against the replayed market at ``now``; never raises for a business refusal."""

    def _rejected(self, request: OrderRequest, now: datetime, venue_order_id: str, reason: str) -> OrderRecord:
        return OrderRecord(
            client_order_id=request.client_order_id, venue_order_id=venue_order_id, symbol=request.symbol,
            side=request.side, intent=request.intent, quantity=request.quantity, status="rejected", at=now,
            limit_price=request.limit_price, reason=reason,
        )

    def cancel_order(self, venue_order_id: str) -> None:
        """Sim orders never rest (they fill or end at once), so cancelling a known order is a no-op."""
        if self.ledger.by_venue_id(venue_order_id) is None:
            raise NotFoundError(self.name, f"no order {venue_order_id}")

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        """The persisted result of an order sent under ``client_order_id`` (by any process), or None."""
        record = self.ledger.by_client_id(client_order_id)
        return None if record is None else record.result()

    def fills(self, since: datetime | None = None) -> list[Fill]:
        """Executions of orders plus venue-side exits (stop loss / take profit), oldest first."""
        self.ledger.sync()
        now = self.clock.now()
        out = [f for o in self.ledger.orders for f in o.fill_records()] + self._venue_fills(now)
        out = [f for f in out if f.at <= now and (since is None or f.at >= since)]
        return sorted(out, key=lambda f: (f.at, f.venue_order_id))

    def _venue_fills(self, now: datetime) -> list[Fill]:
        return []
