"""Subscriber callbacks and commission reports: validated, idempotent, stored append-only, aggregated.

Idempotency keys are (subscriber, signal, kind) for callbacks and (subscriber, id) for commission. The stores
are folded from the logs (at boot and as lines are appended), so a restart rebuilds exactly the same state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.bus import Entry
from shared.records import Callback, UtcTime, parse_record

CallbackKind = Literal["ack", "executed", "resolved"]


class AckBody(BaseModel):
    """``POST /api/signals/{id}/ack``: the client saw and verified the signal."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    received_at: UtcTime | None = None


class ExecutedBody(BaseModel):
    """``POST /api/signals/{id}/executed``: the subscriber's own fill."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    fill_price: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=8, allow_inf_nan=False)]
    quantity: Annotated[int, Field(gt=0, le=10**12)]
    fees_cents: Annotated[int, Field(ge=0, le=10**12)]
    executed_at: UtcTime | None = None


class ResolvedBody(BaseModel):
    """``POST /api/signals/{id}/resolved``: the subscriber's realized P&L on the signal, after fees."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    pnl_cents: Annotated[int, Field(ge=-(10**12), le=10**12)]
    resolved_at: UtcTime


BODY_MODELS: dict[str, type[BaseModel]] = {"ack": AckBody, "executed": ExecutedBody, "resolved": ResolvedBody}


class CommissionBody(BaseModel):
    """``POST /api/commission``: commission a subscriber's client crystallized (amount only, no P&L detail)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    amount_cents: Annotated[int, Field(ge=0, le=10**12)]
    crystallized_at: UtcTime


class CommissionRecord(BaseModel):
    """One line of ``logs/feed/commission.jsonl``."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kind: Literal["commission"] = "commission"
    schema_version: int = Field(default=1, alias="schema")
    subscriber_id: str
    report_id: str
    amount_cents: int
    crystallized_at: UtcTime
    received_at: UtcTime


@dataclass(slots=True)
class SurfaceCallbackStats:
    subscribers: set[str] = field(default_factory=set)
    # Who stands behind each figure ("ack", "executed", "resolved", "slippage"): a figure is shown only when
    # enough subscribers stand behind it (shared.audit.subscribers.shown).
    contributors: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    acks: int = 0
    executions: int = 0
    resolved: int = 0
    wins: int = 0
    pnl_cents: int = 0
    fees_cents: int = 0
    slippage_sum: Decimal = Decimal(0)
    slippage_n: int = 0


class CallbackStore:
    """Every callback received, keyed for idempotency, with per-surface aggregates."""

    def __init__(self, signal_lookup: Any) -> None:
        # signal_lookup(signal_id) -> (surface, side, limit_price) | None, from the signal index
        self._lookup = signal_lookup
        self.seen: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.by_surface: dict[str, SurfaceCallbackStats] = defaultdict(SurfaceCallbackStats)
        self.invalid_records = 0

    def apply(self, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                record = parse_record(Callback, entry.data, entry.ts)
            except ValidationError:
                self.invalid_records += 1
                continue
            key = (record.subscriber_id, record.signal_id, record.callback)
            if key in self.seen:
                continue  # a duplicate line (two dashboards, or a replayed append) counts once
            self.seen[key] = record.body
            self._aggregate(record)

    def _aggregate(self, record: Callback) -> None:
        info = self._lookup(record.signal_id)
        if info is None:
            return
        surface, side, limit_price = info
        stats = self.by_surface[surface]
        stats.subscribers.add(record.subscriber_id)
        body = record.body
        try:
            if record.callback == "ack":
                stats.acks += 1
            elif record.callback == "executed":
                stats.executions += 1
                stats.fees_cents += int(body.get("fees_cents", 0))
                fill = Decimal(str(body["fill_price"]))
                if limit_price > 0:
                    adverse = (limit_price - fill) if side == "short" else (fill - limit_price)
                    stats.slippage_sum += adverse / limit_price
                    stats.slippage_n += 1
                    stats.contributors["slippage"].add(record.subscriber_id)
            else:
                stats.resolved += 1
                pnl = int(body.get("pnl_cents", 0))
                stats.pnl_cents += pnl
                stats.wins += pnl > 0
            stats.contributors[record.callback].add(record.subscriber_id)
        except (KeyError, ValueError, ArithmeticError):
            self.invalid_records += 1

    def has(self, subscriber_id: str, signal_id: str, kind: str) -> bool:
        return (subscriber_id, signal_id, kind) in self.seen


class CommissionStore:
    """Commission reports, keyed (subscriber, report id); the operator sees totals only."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], CommissionRecord] = {}
        self.total_cents = 0
        self.payers: set[str] = set()
        self.invalid_records = 0

    def apply(self, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                record = CommissionRecord.model_validate(entry.data)
            except ValidationError:
                self.invalid_records += 1
                continue
            key = (record.subscriber_id, record.report_id)
            if key in self.seen:
                continue
            self.seen[key] = record
            self.total_cents += record.amount_cents
            self.payers.add(record.subscriber_id)


def same_commission(a: CommissionRecord, amount_cents: int, crystallized_at: datetime) -> bool:
    return a.amount_cents == amount_cents and a.crystallized_at == crystallized_at
