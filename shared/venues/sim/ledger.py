"""The sim venue's memory: every order it accepted, rejected or filled, in ``logs/sim/<surface>/orders.jsonl``.

The venue keeps no other state. Positions, fills, cash and settlements are folded from this log plus the replayed
data, so a restarted process, or the resolver in another process, sees the same account. The log is FSYNC'd, and
``place_order`` checks for an existing client order id and appends under one exclusive file lock, so the same
client order id sent twice (even by two processes at once) fills once.

A resting (maker) order is a ``sim_order`` line whose status is ``resting``; each later state of it (a fill from
the queue model, a cancel, the market's close) is a new ``sim_order_update`` line carrying the whole new state of
that client order id. The first ``sim_order`` line of a client order id wins; its updates replace it in the fold.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from shared.bus import Durability, JsonlLog
from shared.timeutil import from_iso, to_iso
from shared.venues.base import Fill, OrderIntent, OrderResult, OrderSide, OrderStatus

# Logs written before orders said open/close carried the Kalshi-style ``action``: buy opened, sell closed.
_LEGACY_ACTION: dict[str, OrderIntent] = {"buy": "open", "sell": "close"}


def sim_dir(log_dir: Path, surface: str) -> Path:
    """``logs/sim/<surface>``: the sim venue's own files for one surface."""
    return log_dir / "sim" / surface


@dataclass(frozen=True, slots=True)
class FillPart:
    """One execution of an order at one price level.

    A closing execution (FX/STK) names the position it closed and the P&L it realized in account cents before
    fees, as the venue booked it at that moment (a JPY P&L converted at the replayed USD_JPY of the exit). The
    spread cost is what the execution paid against the mid, already inside ``price``.
    """

    quantity: int
    price: Decimal
    fees_cents: int
    closes: str | None = None
    realized_pnl_cents: int | None = None
    spread_cost_cents: int = 0
    at: datetime | None = None  # a resting order's fill: when the queue model filled it (None: the order's time)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quantity": self.quantity, "price": format(self.price, "f"),
                               "fees_cents": self.fees_cents}
        # Only what is set: a line without these reads back the same (logs written before them stay valid).
        if self.closes is not None:
            out["closes"] = self.closes
        if self.realized_pnl_cents is not None:
            out["realized_pnl_cents"] = self.realized_pnl_cents
        if self.spread_cost_cents:
            out["spread_cost_cents"] = self.spread_cost_cents
        if self.at is not None:
            out["at"] = to_iso(self.at)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FillPart:
        realized = data.get("realized_pnl_cents")
        closes = data.get("closes")
        return cls(int(data["quantity"]), Decimal(str(data["price"])), int(data["fees_cents"]),
                   None if closes is None else str(closes), None if realized is None else int(realized),
                   int(data.get("spread_cost_cents", 0)), from_iso(str(data["at"])) if data.get("at") else None)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as the sim venue executed it. ``cash_delta_cents`` is what it did to the account's cash."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: OrderSide
    intent: OrderIntent
    quantity: int
    status: OrderStatus
    at: datetime
    limit_price: Decimal | None = None
    fills: tuple[FillPart, ...] = ()
    reason: str = ""
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    closes: str | None = None  # the venue position id an exit order closed (FX/STK)
    cash_delta_cents: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    # A resting order: the displayed size ahead of it at its price when it arrived, still unconsumed by volume as of
    # ``evaluated_until`` (the last queue-model step this state reflects).
    queue_ahead: int = 0
    evaluated_until: datetime | None = None

    @property
    def is_resting(self) -> bool:
        return self.status == "resting"

    @property
    def filled_quantity(self) -> int:
        return sum(f.quantity for f in self.fills)

    @property
    def fees_cents(self) -> int:
        return sum(f.fees_cents for f in self.fills)

    @property
    def avg_fill_price(self) -> Decimal | None:
        qty = self.filled_quantity
        if qty == 0:
            return None
        return (sum((f.price * f.quantity for f in self.fills), Decimal(0)) / qty).quantize(Decimal("0.000001"))

    def result(self) -> OrderResult:
        """The venue-neutral answer to ``place_order`` / ``order_by_client_id``."""
        return OrderResult(
            client_order_id=self.client_order_id,
            venue_order_id=self.venue_order_id,
            status=self.status,
            filled_quantity=self.filled_quantity,
            avg_fill_price=self.avg_fill_price,
            fees_cents=self.fees_cents,
            at=self.at,
            reason=self.reason,
        )

    def fill_records(self) -> list[Fill]:
        """One :class:`Fill` per execution level. An opening order is the position it opens (FX/STK: the venue
        position id is the opening order's id); a closing execution names the position it closed."""
        opened = self.venue_order_id if self.intent == "open" else None
        return [
            Fill(self.venue_order_id, self.client_order_id, self.symbol, self.side, self.intent, f.quantity, f.price,
                 f.fees_cents, f.at or self.at, position_id=f.closes or opened, realized_pnl_cents=f.realized_pnl_cents,
                 spread_cost_cents=f.spread_cost_cents)
            for f in self.fills
        ]

    def to_json(self, kind: str = "sim_order") -> dict[str, Any]:
        def dec(value: Decimal | None) -> str | None:
            return None if value is None else format(value, "f")

        out: dict[str, Any] = {
            "kind": kind,
            "schema": 1,
            "client_order_id": self.client_order_id,
            "venue_order_id": self.venue_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "intent": self.intent,
            "quantity": self.quantity,
            "status": self.status,
            "at": to_iso(self.at),
            "limit_price": dec(self.limit_price),
            "fills": [f.to_json() for f in self.fills],
            "reason": self.reason,
            "stop_loss": dec(self.stop_loss),
            "take_profit": dec(self.take_profit),
            "closes": self.closes,
            "cash_delta_cents": self.cash_delta_cents,
            "extra": self.extra,
        }
        # Only for resting orders: a taker order's line reads as before.
        if self.queue_ahead:
            out["queue_ahead"] = self.queue_ahead
        if self.evaluated_until is not None:
            out["evaluated_until"] = to_iso(self.evaluated_until)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderRecord:
        def dec(value: object) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        return cls(
            client_order_id=str(data["client_order_id"]),
            venue_order_id=str(data["venue_order_id"]),
            symbol=str(data["symbol"]),
            side=cast(OrderSide, data["side"]),
            intent=cast(OrderIntent, data["intent"]) if "intent" in data else _LEGACY_ACTION[str(data["action"])],
            quantity=int(data["quantity"]),
            status=cast(OrderStatus, data["status"]),
            at=from_iso(str(data["at"])),
            limit_price=dec(data.get("limit_price")),
            fills=tuple(FillPart.from_json(f) for f in data["fills"]),
            reason=str(data.get("reason", "")),
            stop_loss=dec(data.get("stop_loss")),
            take_profit=dec(data.get("take_profit")),
            closes=data.get("closes"),
            cash_delta_cents=int(data.get("cash_delta_cents", 0)),
            extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
            queue_ahead=int(data.get("queue_ahead", 0)),
            evaluated_until=from_iso(str(data["evaluated_until"])) if data.get("evaluated_until") else None,
        )


class OrderLedger:
    """The orders log of one sim venue, folded incrementally (other processes may append at any time)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.log = JsonlLog(directory / "orders.jsonl", Durability.FSYNC)
        self._reader = self.log.reader(0)
        self._lock_path = directory / "orders.lock"
        self.orders: list[OrderRecord] = []
        self._by_client: dict[str, OrderRecord] = {}
        self._by_venue: dict[str, OrderRecord] = {}
        self._index: dict[str, int] = {}
        self.resting: dict[str, OrderRecord] = {}  # client order id -> the latest state of each order still resting

    def sync(self) -> None:
        """Fold any records appended since the last call (by this process or another)."""
        if not self.log.path.exists():
            return
        for entry in self._reader.read():
            kind = entry.data.get("kind")
            if kind == "sim_order_update":
                update = OrderRecord.from_json(entry.data)
                if update.client_order_id in self._by_client:  # an update of an order this log never had is noise
                    self._store(update, self._index[update.client_order_id])
                continue
            if kind != "sim_order":
                continue
            record = OrderRecord.from_json(entry.data)
            if record.client_order_id in self._by_client:
                continue  # first write wins; a duplicate line can only come from a crash between append and reply
            self.orders.append(record)
            self._store(record, len(self.orders) - 1)

    def _store(self, record: OrderRecord, index: int) -> None:
        self.orders[index] = record
        self._index[record.client_order_id] = index
        self._by_client[record.client_order_id] = record
        self._by_venue[record.venue_order_id] = record
        if record.is_resting:
            self.resting[record.client_order_id] = record
        else:
            self.resting.pop(record.client_order_id, None)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes: check-then-append for one client order id is atomic."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def by_client_id(self, client_order_id: str) -> OrderRecord | None:
        self.sync()
        return self._by_client.get(client_order_id)

    def by_venue_id(self, venue_order_id: str) -> OrderRecord | None:
        self.sync()
        return self._by_venue.get(venue_order_id)

    def append(self, record: OrderRecord) -> None:
        """Persist (fsync) and fold one record; call inside :meth:`locked` after checking for a duplicate."""
        self.log.append(record.to_json())
        self.sync()

    def append_update(self, record: OrderRecord) -> None:
        """Persist (fsync) and fold a new state of a known order (a resting order filled, cancelled or closed)."""
        self.log.append(record.to_json("sim_order_update"))
        self.sync()
