"""Subscribers section: aggregate callback statistics, never a subscriber id.

Suppression is per figure: each figure is withheld unless the subscribers it aggregates number at least
``min_cohort``, because a small group's aggregate identifies its members. A cohort (all subscribers, or those on
one surface) of ten that acked, of whom one resolved, shows its ack count and withholds its P&L: that P&L would be
the one subscriber's. The overall cohort also withholds a figure when subtracting the surfaces shown from it would
leave fewer than the minimum. :data:`DEFAULT_MIN_COHORT` is the one default, for this audit and the dashboard
alike, and :func:`shown` the one rule both apply.
Callbacks are idempotent on the wire; a repeated (subscriber, signal, kind) counts once here too.
Slippage is the adverse move of the subscriber's fill from the signal's ``limit_price``, in basis points of
the limit: paying more on a buy (yes / no / long) or receiving less on a short is positive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from shared.audit.stats import median, ratio
from shared.records import Callback, Signal

DEFAULT_MIN_COHORT = 5
"""Fewest subscribers a figure may aggregate: ``tbot audit --min-cohort`` and the dashboard's ``MIN_COHORT``."""
ALL = "*"

T = TypeVar("T")


def shown(value: T, contributors: int, min_cohort: int) -> T | None:
    """``value``, a figure aggregating ``contributors`` distinct subscribers; None when they are too few to hide
    each one among the others."""
    return value if contributors >= min_cohort else None


@dataclass(frozen=True, slots=True)
class CohortStats:
    """One cohort's aggregates; a figure is None when the subscribers it aggregates are fewer than the minimum.

    ``suppressed`` means every figure is withheld (the whole cohort is smaller than the minimum).
    """

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


_GROUPS = ("ackers", "executors", "resolvers", "slippers")


@dataclass(slots=True)
class _Cohort:
    """Running sums, with the subscribers behind each group of figures (what decides whether it may be shown)."""

    subscribers: set[str] = field(default_factory=set)
    ackers: set[str] = field(default_factory=set)
    executors: set[str] = field(default_factory=set)
    resolvers: set[str] = field(default_factory=set)
    slippers: set[str] = field(default_factory=set)
    acks: int = 0
    executions: int = 0
    resolutions: int = 0
    fees: int = 0
    pnl: int = 0
    wins: int = 0
    slippage: list[float] = field(default_factory=list)

    def group(self, name: str) -> set[str]:
        """The subscribers behind one group of figures (a name of :data:`_GROUPS`)."""
        found: set[str] = getattr(self, name)
        return found

    def stats(self, name: str, min_cohort: int, withhold: frozenset[str] = frozenset()) -> CohortStats:
        """Each figure shown if enough subscribers stand behind it and its group is not in ``withhold``."""

        def by(group: str) -> Callable[[T], T | None]:
            behind = 0 if group in withhold else len(self.group(group))
            return lambda value: shown(value, behind, min_cohort)

        acked, executed, resolved, slipped = by("ackers"), by("executors"), by("resolvers"), by("slippers")
        adverse = sum(1 for s in self.slippage if s > 0)
        return CohortStats(
            cohort=name,
            suppressed=len(self.subscribers) < min_cohort,
            subscribers=shown(len(self.subscribers), len(self.subscribers), min_cohort),
            acks=acked(self.acks),
            executions=executed(self.executions),
            fees_cents=executed(self.fees),
            resolutions=resolved(self.resolutions),
            resolved_pnl_cents=resolved(self.pnl),
            wins=resolved(self.wins),
            win_rate=resolved(ratio(self.wins, self.resolutions)),
            slippage_n=slipped(len(self.slippage)),
            slippage_mean_bps=slipped(sum(self.slippage) / len(self.slippage) if self.slippage else None),
            slippage_median_bps=slipped(median(self.slippage)),
            adverse_rate=slipped(ratio(adverse, len(self.slippage))),
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
    """Aggregate overall and per surface (the signal's), withholding each figure that aggregates fewer than
    ``min_cohort`` subscribers."""
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
                cohort.ackers.add(event.subscriber)
        elif event.kind == "executed" and event.fill is not None:
            # A fill price of 0 is a client that reported no price: an execution, but no slippage to measure.
            slip = slippage_bps(signal, event.fill) if signal is not None and event.fill > 0 else None
            for cohort in targets:
                cohort.executions += 1
                cohort.executors.add(event.subscriber)
                cohort.fees += event.fees_cents or 0
                if slip is not None:
                    cohort.slippage.append(slip)
                    cohort.slippers.add(event.subscriber)
        elif event.kind == "resolved" and event.pnl_cents is not None:
            for cohort in targets:
                cohort.resolutions += 1
                cohort.resolvers.add(event.subscriber)
                cohort.pnl += event.pnl_cents
                cohort.wins += 1 if event.pnl_cents > 0 else 0
    ordered = [ALL, *sorted(k for k in cohorts if k != ALL)]
    parts = [cohorts[k] for k in ordered[1:]]
    stats = [cohorts[ALL].stats(ALL, min_cohort, _complementary(parts, min_cohort))]
    stats += [cohorts[k].stats(k, min_cohort) for k in ordered[1:]]
    return SubscribersSection(
        min_cohort=min_cohort, cohorts=stats, invalid_bodies=reduced.invalid_bodies, duplicates=reduced.duplicates,
    )


def _complementary(parts: list[_Cohort], min_cohort: int) -> frozenset[str]:
    """Groups of figures the overall cohort must withhold too, or subtraction would reveal a small group.

    Every figure is a sum over events, each on one surface: the total minus the surfaces shown is the sum of those
    withheld. That is safe only if the subscribers behind the withheld ones are, together, at least the minimum.
    """
    withhold = set()
    for group in _GROUPS:
        hidden: set[str] = set()
        for part in parts:
            if len(part.group(group)) < min_cohort:
                hidden |= part.group(group)
        if 0 < len(hidden) < min_cohort:
            withhold.add(group)
    return frozenset(withhold)


def build_subscribers(callbacks: Iterable[Callback], signals: dict[str, Signal],
                      min_cohort: int = DEFAULT_MIN_COHORT) -> SubscribersSection:
    """Aggregate callbacks given the signals they refer to (digest + aggregate in one call)."""
    return aggregate(digest(callbacks), signals, min_cohort)
