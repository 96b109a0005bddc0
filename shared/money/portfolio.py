"""The portfolio fold: the one piece of code that turns a trade log into positions and P&L.

A :class:`Portfolio` is a pure, incremental reducer. Feed it trade states (``apply``) and breaker events
(``apply_event``) in log order; it never reads a file itself. Every view of money in tbot is this fold over some
log: the surface loop's risk chain (through :class:`shared.money.ledger.Ledger`, which adds the log reader and the
chain's reservations), the resolver's open positions, the dashboard, the audit, and the subscriber client's ledger
(over its own ``orders.jsonl``). Because they share the fold, they cannot disagree.

Rules of the fold:
- Trades go ``intent -> placed -> filled -> resolved | rejected | cancelled`` under one ``id``; the latest state per
  id counts. A state never moves an id backwards (a late ``placed`` after ``filled`` is ignored), and re-applying a
  state replaces that id's contribution, so applying a state directly *and* reading it back counts it once and a
  rebuild equals the incrementally updated fold.
- Money is integer cents. ``committed`` = cost + fees of open and pending trades; ``cash = bankroll + realized −
  committed``; ``equity = bankroll + realized`` (open positions at cost).
- Results are dated in venue time: a resolved trade counts on the trading day (and Monday-start week) of its
  ``resolved_at`` in ``day_boundary_tz``, never on the day its record was written. A replay or backtest therefore
  gives one row per venue day.
- ``peak_equity`` replays realized P&L in resolution-time order, so it depends only on which trades resolved.
- A portfolio may be restricted to one surface and one mode (paper and live never mix); ``None`` accepts all, which
  the subscriber client uses over its own records.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple, TypeVar

from shared.money.periods import trading_day, trading_week, zone
from shared.records import BreakerEvent, Trade

_K = TypeVar("_K")
_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_BANKROLL_CENTS = 1_000_000
# A resting order ranks with placed (it reached the venue); its records may follow one another (partial fills).
RANK = {"intent": 0, "placed": 1, "resting": 1, "filled": 2, "resolved": 3, "rejected": 3, "cancelled": 3}
_OPPOSITE = {"yes": "no", "no": "yes", "long": "short", "short": "long"}


def opposite_side(side: str) -> str:
    """The side that contradicts ``side`` (yes/no, long/short)."""
    return _OPPOSITE[side]


class Holding(NamedTuple):
    """The exposure one open or pending trade (or reservation) contributes.

    A NamedTuple: immutable like a frozen dataclass, and several times cheaper to build (one per reservation).
    """

    key: str  # trade id, or the signal id of a reservation
    signal_id: str
    instrument: str
    underlying: str
    category: str
    side: str
    cost_cents: int
    fees_cents: int


@dataclass(slots=True)
class Book:
    """Aggregates over a set of holdings, updated by adding and removing one holding at a time.

    Zero entries are dropped, so two books holding the same positions compare equal however they got there.
    """

    holdings: dict[str, Holding] = field(default_factory=dict)
    committed: int = 0
    by_market: dict[str, int] = field(default_factory=dict)
    count_by_market: dict[str, int] = field(default_factory=dict)
    by_underlying: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    sides: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, h: Holding) -> None:
        self.holdings[h.key] = h
        self._bump(h, 1)

    def remove(self, key: str) -> Holding | None:
        h = self.holdings.pop(key, None)
        if h is not None:
            self._bump(h, -1)
        return h

    def _bump(self, h: Holding, sign: int) -> None:
        # Inlined (no helper calls): the risk chain's reservations run through here on its hot path.
        cost = sign * h.cost_cents
        self.committed += cost + sign * h.fees_cents
        market = h.instrument
        by_market, counts = self.by_market, self.count_by_market
        value = by_market.get(market, 0) + cost
        if value:
            by_market[market] = value
        else:
            by_market.pop(market, None)
        count = counts.get(market, 0) + sign
        if count:
            counts[market] = count
        else:
            del counts[market]
        underlying = h.underlying
        if underlying:
            by_underlying, sides = self.by_underlying, self.sides
            value = by_underlying.get(underlying, 0) + cost
            if value:
                by_underlying[underlying] = value
            else:
                by_underlying.pop(underlying, None)
            key = (underlying, h.side)
            count = sides.get(key, 0) + sign
            if count:
                sides[key] = count
            else:
                del sides[key]
        category = h.category
        if category:
            by_category = self.by_category
            value = by_category.get(category, 0) + cost
            if value:
                by_category[category] = value
            else:
                by_category.pop(category, None)


@dataclass(slots=True)
class ClassTotals:
    """Resolved trades of one class (e.g. one result kind: sim, real-data paper, live)."""

    resolved: int = 0
    wins: int = 0
    realized_cents: int = 0
    fees_cents: int = 0

    def add(self, trade: Trade, sign: int) -> None:
        pnl = trade.pnl or 0
        self.resolved += sign
        self.wins += sign * (pnl > 0)
        self.realized_cents += sign * pnl
        self.fees_cents += sign * trade.fees


def _inc(totals: dict[_K, int], key: _K, amount: int) -> None:
    value = totals.get(key, 0) + amount
    if value:
        totals[key] = value
    else:
        totals.pop(key, None)


@dataclass(frozen=True)
class PortfolioState:
    """Everything the fold derived, comparable with ``==`` (for rebuild == incremental checks)."""

    surface: str | None
    mode: str | None
    bankroll_cents: int
    realized_cents: int
    committed_cents: int
    peak_equity_cents: int
    realized_by_day: dict[date, int]
    realized_by_week: dict[date, int]
    holdings: dict[str, Holding]
    last_exit: dict[str, datetime]
    statuses: dict[str, str]
    signal_ids: frozenset[str]
    fees_realized_cents: int
    resolved: int
    wins: int
    tripped: frozenset[str]


class Portfolio:
    """One surface's (or one subscriber's) positions, cash, exposure, realized P&L by venue day and week, peak
    equity, drawdown and breaker state, folded from trade states and breaker events."""

    def __init__(
        self,
        surface: str | None,
        mode: str | None = "paper",
        *,
        bankroll_cents: int = DEFAULT_BANKROLL_CENTS,
        day_boundary_tz: str = "UTC",
        classify: Callable[[Trade], str] | None = None,
    ) -> None:
        if bankroll_cents < 0:
            raise ValueError("bankroll must not be negative")
        zone(day_boundary_tz)  # an unknown zone fails here, at start, not at the first trade
        self.surface = surface
        self.mode = mode
        self.bankroll_cents = bankroll_cents
        self.day_boundary_tz = day_boundary_tz
        self.realized_cents = 0
        self.fees_realized_cents = 0
        self.resolved = 0
        self.wins = 0
        self.placed = 0  # trades that reached the venue (placed or beyond)
        self.filled = 0  # trades that filled (filled or resolved from a fill)
        self.by_source: Counter[str] = Counter()
        self.realized_by_source: dict[str, int] = {}
        # Resolved totals per class when a classifier is given (the dashboard classifies by result kind), so a view
        # of them is this fold's, never a second count over the log.
        self.classify = classify
        self.by_class: dict[str, ClassTotals] = {}
        self.peak_equity_cents = bankroll_cents
        self.ignored = 0  # states of another mode or surface skipped
        self.version = 0  # bumped by every applied state or event: lets callers cache what they derive
        self.tripped: dict[str, BreakerEvent] = {}
        self._resolutions: list[tuple[datetime, str, int]] = []  # (resolved at, trade id, pnl), sorted
        self._running_equity = bankroll_cents
        self._book = Book()
        self._latest: dict[str, Trade] = {}
        self._by_signal: dict[str, str] = {}
        self._by_day: dict[date, int] = {}
        self._by_week: dict[date, int] = {}
        self._last_exit: dict[str, datetime] = {}

    # ---------------------------------------------------------------- folding
    def accepts(self, trade: Trade) -> bool:
        """True if ``trade`` belongs to this portfolio's surface and mode."""
        return (self.mode is None or trade.mode == self.mode) and (
            self.surface is None or trade.surface == self.surface
        )

    def apply(self, trade: Trade) -> bool:
        """Fold one trade state in; False if it belongs elsewhere or would move its id backwards."""
        if not self.accepts(trade):
            self.ignored += 1
            return False
        previous = self._latest.get(trade.id)
        if previous is not None and RANK[trade.status] < RANK[previous.status]:
            return False
        if previous is not None:
            self._unfold(previous)
        self._latest[trade.id] = trade
        self._by_signal[trade.signal_id] = trade.id
        self.version += 1
        self._fold(trade, previous)
        return True

    def apply_event(self, event: BreakerEvent) -> bool:
        """Fold one breaker event (trip or reset); False if it is another surface's."""
        if self.surface is not None and event.surface != self.surface:
            return False
        if event.action == "trip":
            self.tripped[event.breaker] = event
        else:
            self.tripped.pop(event.breaker, None)
        self.version += 1
        return True

    def _fold(self, trade: Trade, previous: Trade | None) -> None:
        rank = RANK[trade.status]
        before = RANK[previous.status] if previous is not None else -1
        reached_venue = trade.status in ("placed", "resting", "filled", "resolved")
        if reached_venue and (previous is None or previous.status == "intent"):
            self.placed += 1
        if trade.status in ("filled", "resolved") and (previous is None or before < 2):
            self.filled += 1
        if rank < 3:
            self._book.add(_holding(trade))
            return
        if trade.status != "resolved":
            return
        pnl = trade.pnl or 0
        self.realized_cents += pnl
        self.fees_realized_cents += trade.fees
        self.resolved += 1
        self.wins += pnl > 0
        source = trade.resolution_source or "unknown"
        self.by_source[source] += 1
        _inc(self.realized_by_source, source, pnl)
        if self.classify is not None:
            self.by_class.setdefault(self.classify(trade), ClassTotals()).add(trade, 1)
        when = resolution_time(trade)
        if when is not None:
            _inc(self._by_day, trading_day(when, self.day_boundary_tz), pnl)
            _inc(self._by_week, trading_week(when, self.day_boundary_tz), pnl)
        self._add_resolution((when or _NO_TIME, trade.id, pnl))
        if trade.resolved_at is not None:
            last = self._last_exit.get(trade.instrument)
            if last is None or trade.resolved_at > last:
                self._last_exit[trade.instrument] = trade.resolved_at

    def _unfold(self, trade: Trade) -> None:
        if RANK[trade.status] < 3:
            self._book.remove(trade.id)
            return
        if trade.status != "resolved":
            return
        # Only a resolved state replaced by another (a duplicate or a correction) gets here.
        pnl = trade.pnl or 0
        self.realized_cents -= pnl
        self.fees_realized_cents -= trade.fees
        self.resolved -= 1
        self.wins -= pnl > 0
        source = trade.resolution_source or "unknown"
        self.by_source[source] -= 1
        if not self.by_source[source]:
            del self.by_source[source]
        _inc(self.realized_by_source, source, -pnl)
        if self.classify is not None:
            key = self.classify(trade)
            totals = self.by_class[key]
            totals.add(trade, -1)
            if not totals.resolved:
                del self.by_class[key]
        when = resolution_time(trade)
        if when is not None:
            _inc(self._by_day, trading_day(when, self.day_boundary_tz), -pnl)
            _inc(self._by_week, trading_week(when, self.day_boundary_tz), -pnl)
        self._resolutions.remove((when or _NO_TIME, trade.id, pnl))
        self._recompute_peak()

    def _add_resolution(self, entry: tuple[datetime, str, int]) -> None:
        resolutions = self._resolutions
        if not resolutions or entry >= resolutions[-1]:
            resolutions.append(entry)
            self._running_equity += entry[2]
            if self._running_equity > self.peak_equity_cents:
                self.peak_equity_cents = self._running_equity
            return
        bisect.insort(resolutions, entry)
        self._recompute_peak()

    def _recompute_peak(self) -> None:
        equity = peak = self.bankroll_cents
        for _, _, pnl in self._resolutions:
            equity += pnl
            if equity > peak:
                peak = equity
        self._running_equity = equity
        self.peak_equity_cents = peak

    # ---------------------------------------------------------------- money
    @property
    def equity_cents(self) -> int:
        """Bankroll plus realized P&L (open positions at cost)."""
        return self.bankroll_cents + self.realized_cents

    @property
    def committed_cents(self) -> int:
        """Cash tied up by open and pending trades (cost plus entry fees)."""
        return self._book.committed

    @property
    def cash_cents(self) -> int:
        """Cash free for new positions."""
        return self.bankroll_cents + self.realized_cents - self._book.committed

    @property
    def exposure_cents(self) -> int:
        """Total cost of open and pending positions (fees excluded)."""
        return sum(self._book.by_market.values())

    @property
    def open_fees_cents(self) -> int:
        """Entry fees of the open and pending positions."""
        return sum(h.fees_cents for h in self._book.holdings.values())

    @property
    def drawdown(self) -> Decimal:
        """``(peak − equity) / peak`` as a fraction, 0 at a new high."""
        peak = self.peak_equity_cents
        return Decimal(max(0, peak - self.equity_cents)) / Decimal(peak) if peak > 0 else Decimal(0)

    @property
    def max_drawdown_cents(self) -> int:
        """The largest fall of equity from a previous peak, in resolution-time order."""
        equity = peak = self.bankroll_cents
        worst = 0
        for _, _, pnl in self._resolutions:
            equity += pnl
            peak = max(peak, equity)
            worst = max(worst, peak - equity)
        return worst

    def realized_on(self, day: date) -> int:
        """Realized P&L of one trading (venue) day."""
        return self._by_day.get(day, 0)

    def realized_in_week(self, monday: date) -> int:
        """Realized P&L of the trading week that starts on ``monday``."""
        return self._by_week.get(monday, 0)

    def realized_today(self, now: datetime) -> int:
        """Realized P&L of ``now``'s trading day (venue time) in the day-boundary zone."""
        return self._by_day.get(trading_day(now, self.day_boundary_tz), 0)

    def realized_this_week(self, now: datetime) -> int:
        """Realized P&L of ``now``'s trading week (Monday start) in the day-boundary zone."""
        return self._by_week.get(trading_week(now, self.day_boundary_tz), 0)

    def daily_pnl(self) -> dict[date, int]:
        """Realized P&L per venue day (days with a zero total are absent)."""
        return dict(sorted(self._by_day.items()))

    def equity_curve(self) -> list[tuple[datetime, int]]:
        """Cumulative realized P&L after each resolution, in resolution (venue) time order."""
        total = 0
        out: list[tuple[datetime, int]] = []
        for when, _, pnl in self._resolutions:
            total += pnl
            out.append((when, total))
        return out

    # ---------------------------------------------------------------- positions
    def market_exposure(self, instrument: str) -> int:
        return self._book.by_market.get(instrument, 0)

    def underlying_exposure(self, underlying: str) -> int:
        return self._book.by_underlying.get(underlying, 0)

    def category_exposure(self, category: str) -> int:
        return self._book.by_category.get(category, 0)

    @property
    def open_positions(self) -> int:
        """Open and pending trades."""
        return len(self._book.holdings)

    def is_open(self, instrument: str) -> bool:
        return instrument in self._book.count_by_market

    def holds_side(self, underlying: str, side: str) -> bool:
        return (underlying, side) in self._book.sides

    def has_signal(self, signal_id: str) -> bool:
        return signal_id in self._by_signal

    def last_exit(self, instrument: str) -> datetime | None:
        """When the latest closed position on ``instrument`` resolved (venue time), if any."""
        return self._last_exit.get(instrument)

    def holdings(self) -> list[Holding]:
        """Open and pending positions."""
        return list(self._book.holdings.values())

    def trade(self, trade_id: str) -> Trade | None:
        """The latest state of one trade."""
        return self._latest.get(trade_id)

    def trade_for_signal(self, signal_id: str) -> Trade | None:
        """The latest state of the trade a signal opened."""
        trade_id = self._by_signal.get(signal_id)
        return None if trade_id is None else self._latest.get(trade_id)

    def trades(self) -> list[Trade]:
        """The latest state of every trade, in the order each id first appeared."""
        return list(self._latest.values())

    def open_trades(self, statuses: tuple[str, ...] = ("intent", "placed", "resting", "filled")) -> list[Trade]:
        """The latest state of every trade still open whose status is in ``statuses`` (a walk over the open book,
        not over every trade ever made)."""
        latest = self._latest
        return [trade for key in self._book.holdings if (trade := latest[key]).status in statuses]

    @property
    def tripped_names(self) -> frozenset[str]:
        return frozenset(self.tripped)

    def state(self) -> PortfolioState:
        """A comparable snapshot of what the fold says."""
        return PortfolioState(
            surface=self.surface,
            mode=self.mode,
            bankroll_cents=self.bankroll_cents,
            realized_cents=self.realized_cents,
            committed_cents=self._book.committed,
            peak_equity_cents=self.peak_equity_cents,
            realized_by_day=dict(self._by_day),
            realized_by_week=dict(self._by_week),
            holdings=dict(self._book.holdings),
            last_exit=dict(self._last_exit),
            statuses={key: t.status for key, t in self._latest.items()},
            signal_ids=frozenset(self._by_signal),
            fees_realized_cents=self.fees_realized_cents,
            resolved=self.resolved,
            wins=self.wins,
            tripped=frozenset(self.tripped),
        )


def resolution_time(trade: Trade) -> datetime | None:
    """The venue time a trade's result counts at: ``resolved_at`` (``opened_at`` if missing), never the bus stamp,
    so a state applied directly and the same state read back from the log land on the same day."""
    return trade.resolved_at if trade.resolved_at is not None else trade.opened_at


def venue_day(trade: Trade, day_boundary_tz: str = "UTC") -> date | None:
    """The trading (venue) day a resolved trade counts on."""
    when = resolution_time(trade)
    return None if when is None else trading_day(when, day_boundary_tz)


def _holding(trade: Trade) -> Holding:
    return Holding(
        key=trade.id,
        signal_id=trade.signal_id,
        instrument=trade.instrument,
        underlying=trade.underlying,
        category=trade.category,
        side=trade.side,
        cost_cents=cost_cents(trade),
        fees_cents=trade.fees,
    )


def cost_cents(trade: Trade) -> int:
    """The trade's cost: ``cost_cents`` when the writer set it, else quantity × price (binary: count × dollars)."""
    if trade.cost_cents is not None:
        return trade.cost_cents
    price = trade.fill_price if trade.fill_price is not None else trade.limit_price
    if price is None:
        return 0
    if trade.count is not None:
        return int((Decimal(trade.count) * price).to_integral_value(rounding="ROUND_CEILING"))
    if trade.units is not None:
        return int((Decimal(trade.units) * price * 100).to_integral_value(rounding="ROUND_CEILING"))
    return 0
