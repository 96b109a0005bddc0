"""What every sim venue shares: the order ledger, idempotent order placement, lookups and fills."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
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
            now = self.clock.now()
            self._advance_locked(now)
            existing = self.ledger.by_client_id(request.client_order_id)
            if existing is not None:
                return existing.result()
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

    # ---------------------------------------------------------- resting orders
    def _advance_locked(self, now: datetime) -> None:
        """Bring every resting order up to ``now`` (the queue model; called under the ledger lock). Takers only
        here: nothing rests."""
        return None

    def advance(self, now: datetime | None = None) -> None:
        """Bring resting orders up to the venue's now (a no-op, without taking the lock, when none rests)."""
        self.ledger.sync()
        if not self.ledger.resting:
            return
        with self.ledger.locked():
            self.ledger.sync()
            self._advance_locked(self.clock.now() if now is None else now)

    def cancel_order(self, venue_order_id: str) -> None:
        """Cancel what is left of a resting order (what filled before the cancel stays filled); an order that is
        no longer resting (filled, ended) is left as it is."""
        with self.ledger.locked():
            self.ledger.sync()
            self._advance_locked(self.clock.now())
            record = self.ledger.by_venue_id(venue_order_id)
            if record is None:
                raise NotFoundError(self.name, f"no order {venue_order_id}")
            if record.is_resting:
                self.ledger.append_update(self._ended(record, "cancelled"))

    @staticmethod
    def _ended(record: OrderRecord, reason: str) -> OrderRecord:
        """A resting order's end: ``partially_filled`` if anything filled (what did stays), else ``cancelled``."""
        return replace(record, status="partially_filled" if record.fills else "cancelled", reason=reason)

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        """The persisted result of an order sent under ``client_order_id`` (by any process), or None. A resting
        order answers ``resting`` (with what has filled so far) until it fills or ends."""
        self.advance()
        record = self.ledger.by_client_id(client_order_id)
        return None if record is None else record.result()

    def fills(self, since: datetime | None = None) -> list[Fill]:
        """Executions of orders plus venue-side exits (stop loss / take profit), oldest first."""
        self.advance()
        self.ledger.sync()
        now = self.clock.now()
        out = [f for o in self.ledger.orders for f in o.fill_records()] + self._venue_fills(now)
        out = [f for f in out if f.at <= now and (since is None or f.at >= since)]
        return sorted(out, key=lambda f: (f.at, f.venue_order_id))

    def _venue_fills(self, now: datetime) -> list[Fill]:
        return []
