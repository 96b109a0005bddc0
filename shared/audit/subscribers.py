"""Subscribers section: aggregate callback statistics, never a subscriber id.

A cohort (all subscribers, or those on one surface) with fewer distinct subscribers than ``min_cohort`` is
suppressed: its figures are withheld, because a small group's aggregate identifies its members.
Callbacks are idempotent on the wire; a repeated (subscriber, signal, kind) counts once here too.
Slippage is the adverse move of the subscriber's fill from the signal's ``limit_price``, in basis points of
the limit: paying more on a buy (yes / no / long) or receiving less on a short is positive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shared.audit.stats import median, ratio
from shared.records import Callback, Signal

DEFAULT_MIN_COHORT = 5
ALL = "*"


@dataclass(frozen=True, slots=True)
class CohortStats:
    """One cohort's aggregates; every figure is None when the cohort is suppressed."""

    cohort: str
    suppressed: bool
    subscribers: int | None
    acks: int | None
    executions: int | None
    resolutions: int | None
    fees_cents: int | None
    resolved_pnl_cents: int | None
    wins: int | None
    win_rate: float | None
    slippage_n: int | None
    slippage_mean_bps: float | None
    slippage_median_bps: float | None
    adverse_rate: float | None


@dataclass(frozen=True, slots=True)
class SubscribersSection:
    min_cohort: int
    cohorts: list[CohortStats]
    invalid_bodies: int
    duplicates: int


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _cents(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def slippage_bps(signal: Signal, fill: Decimal) -> float | None:
    """Adverse slippage of a fill against the signal's limit, in basis points; None if the limit is 0."""
    if signal.limit_price <= 0:
        return None
    move = fill - signal.limit_price if signal.side != "short" else signal.limit_price - fill
    return float(move / signal.limit_price * 10_000)


class _Cohort:
    def __init__(self) -> None:
        self.subscribers: set[str] = set()
        self.acks = self.executions = self.resolutions = self.fees = self.pnl = self.wins = 0
        self.slippage: list[float] = []

    def stats(self, name: str, min_cohort: int) -> CohortStats:
        count = len(self.subscribers)
        if count < min_cohort:
            return CohortStats(name, True, *([None] * 12))
        adverse = sum(1 for s in self.slippage if s > 0)
        return CohortStats(
            cohort=name, suppressed=False, subscribers=count, acks=self.acks, executions=self.executions,
            resolutions=self.resolutions, fees_cents=self.fees, resolved_pnl_cents=self.pnl, wins=self.wins,
            win_rate=ratio(self.wins, self.resolutions), slippage_n=len(self.slippage),
            slippage_mean_bps=sum(self.slippage) / len(self.slippage) if self.slippage else None,
            slippage_median_bps=median(self.slippage), adverse_rate=ratio(adverse, len(self.slippage)),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A callback reduced to what the aggregates need (a few dozen bytes, however many callbacks there are)."""

    subscriber: str
    signal_id: str
    kind: str
    fill: Decimal | None = None
    fees_cents: int | None = None
    pnl_cents: int | None = None


@dataclass(slots=True)
class Digest:
    """The window's callbacks, deduplicated and reduced; built in one streaming pass."""

    events: list[Event]
    duplicates: int
    invalid_bodies: int

    @property
    def signal_ids(self) -> set[str]:
        return {e.signal_id for e in self.events}


def digest(callbacks: Iterable[Callback]) -> Digest:
    """Reduce a stream of callbacks; a repeated (subscriber, signal, kind) counts once, a bad body is counted."""
    seen: set[tuple[str, str, str]] = set()
    events: list[Event] = []
    duplicates = invalid = 0
    for callback in callbacks:
        key = (callback.subscriber_id, callback.signal_id, callback.callback)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        event = Event(callback.subscriber_id, callback.signal_id, callback.callback)
        if callback.callback == "executed":
            fill = _decimal(callback.body.get("fill_price"))
            fees = _cents(callback.body.get("fees_cents", 0))
            if fill is None or fees is None:
                invalid += 1
                event = Event(callback.subscriber_id, callback.signal_id, "invalid")
            else:
                event = Event(callback.subscriber_id, callback.signal_id, "executed", fill=fill, fees_cents=fees)
        elif callback.callback == "resolved":
            pnl = _cents(callback.body.get("pnl_cents"))
            if pnl is None:
                invalid += 1
                event = Event(callback.subscriber_id, callback.signal_id, "invalid")
            else:
                event = Event(callback.subscriber_id, callback.signal_id, "resolved", pnl_cents=pnl)
        events.append(event)
    return Digest(events, duplicates, invalid)


def aggregate(reduced: Digest, signals: dict[str, Signal], min_cohort: int = DEFAULT_MIN_COHORT) -> SubscribersSection:
    """Aggregate overall and per surface (the signal's), suppressing cohorts under ``min_cohort`` subscribers."""
    cohorts: dict[str, _Cohort] = {ALL: _Cohort()}
    for event in reduced.events:
        signal = signals.get(event.signal_id)
        surface = signal.surface if signal is not None else "unknown"
        targets = (cohorts[ALL], cohorts.setdefault(surface, _Cohort()))
        for cohort in targets:
            cohort.subscribers.add(event.subscriber)
        if event.kind == "ack":
            for cohort in targets:
                cohort.acks += 1
        elif event.kind == "executed" and event.fill is not None:
            # A fill price of 0 is a client that reported no price: an execution, but no slippage to measure.
            slip = slippage_bps(signal, event.fill) if signal is not None and event.fill > 0 else None
            for cohort in targets:
                cohort.executions += 1
                cohort.fees += event.fees_cents or 0
                if slip is not None:
                    cohort.slippage.append(slip)
        elif event.kind == "resolved" and event.pnl_cents is not None:
            for cohort in targets:
                cohort.resolutions += 1
                cohort.pnl += event.pnl_cents
                cohort.wins += 1 if event.pnl_cents > 0 else 0
    ordered = [ALL, *sorted(k for k in cohorts if k != ALL)]
    return SubscribersSection(
        min_cohort=min_cohort, cohorts=[cohorts[k].stats(k, min_cohort) for k in ordered],
        invalid_bodies=reduced.invalid_bodies, duplicates=reduced.duplicates,
    )


def build_subscribers(callbacks: Iterable[Callback], signals: dict[str, Signal],
                      min_cohort: int = DEFAULT_MIN_COHORT) -> SubscribersSection:
    """Aggregate callbacks given the signals they refer to (digest + aggregate in one call)."""
    return aggregate(digest(callbacks), signals, min_cohort)
