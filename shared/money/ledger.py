"""A surface's money state, derived from its own ``logs/<surface>/trades.jsonl`` and nothing else.

Usage (one ledger per surface and mode; paper and live never mix, and no ledger reads another surface's log)::

    ledger = Ledger.rebuild(log_dir, "kalshi_st", "paper", bankroll_cents=settings.bankroll_cents,
                            day_boundary_tz=settings.day_boundary_tz)
    ledger.apply(trade)        # after writing a Trade state yourself (idempotent)
    ledger.sync()              # pick up states others appended (the resolver's ``resolved`` lines)

Trades go ``intent -> placed -> filled -> resolved | rejected | cancelled`` under one ``id``; the ledger keeps the
latest state per id. A state never moves an id backwards (a late ``placed`` line after ``filled`` is ignored), and
re-applying a state replaces that id's contribution rather than adding to it, so applying a state directly *and*
reading it back with :meth:`sync` counts it once, and a rebuilt ledger equals the incrementally updated one.

Money (integer cents):
- ``committed``: cash tied up by open and pending trades, ``cost_cents + fees`` each.
- ``cash = bankroll + realized − committed``; ``equity = bankroll + realized`` (open positions at cost).
- realized P&L per trading day and week of the trade's ``resolved_at`` (venue time) in ``day_boundary_tz``.
- ``peak_equity``: the highest equity reached, replaying realized P&L in resolution-time order (so it depends on
  which trades resolved, not on the order a process applied them), and ``drawdown = (peak − equity) / peak``.
A terminal state's trading day comes from its ``resolved_at`` (venue time; ``opened_at`` if missing), never from
the bus stamp, so a state applied directly and the same state read back from the log land on the same day.
Open exposure is kept per market (instrument), underlying and category, plus the sides held on each underlying.

Reservations: the risk chain reserves an accepted candidate's exposure until its intent trade is applied, so two
candidates decided in one tick cannot both take the last slot; they are not part of :meth:`state` (they are not in
the log) and expire after ``reservation_ttl`` seconds if no trade ever arrives. A reservation lives only until its
intent is applied, a moment later in the same tick, so there are seldom more than a few: queries scan them instead
of keeping aggregates, which makes reserving and releasing (once per accepted candidate) nearly free.
"""

from __future__ import annotations

import bisect
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, TypeVar

from pydantic import ValidationError

from shared.bus import LogReader
from shared.money.periods import trading_day, trading_week, zone
from shared.paths import stream_path
from shared.records import Trade, parse_record

log = logging.getLogger(__name__)

_K = TypeVar("_K")
_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_BANKROLL_CENTS = 1_000_000
_RANK = {"intent": 0, "placed": 1, "filled": 2, "resolved": 3, "rejected": 3, "cancelled": 3}
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
class _Book:
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
        # Inlined (no helper calls): this runs for every reservation, on the risk chain's hot path.
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


def _inc(totals: dict[_K, int], key: _K, amount: int) -> None:
    value = totals.get(key, 0) + amount
    if value:
        totals[key] = value
    else:
        totals.pop(key, None)


@dataclass(frozen=True)
class LedgerState:
    """Everything the ledger derived from the log, comparable with ``==`` (reservations excluded)."""

    surface: str
    mode: str
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


class Ledger:
    """One surface's cash, exposure, realized P&L, peak equity and positions, for one trading mode."""

    def __init__(
        self,
        surface: str,
        mode: str = "paper",
        *,
        bankroll_cents: int = DEFAULT_BANKROLL_CENTS,
        day_boundary_tz: str = "UTC",
        log_dir: Path | None = None,
        reservation_ttl: float = 120.0,
    ) -> None:
        if bankroll_cents <= 0:
            raise ValueError("bankroll must be positive")
        zone(day_boundary_tz)  # an unknown zone fails here, at start, not at the first trade
        self.surface = surface
        self.mode = mode
        self.bankroll_cents = bankroll_cents
        self.day_boundary_tz = day_boundary_tz
        self.reservation_ttl = reservation_ttl
        self.realized_cents = 0
        self.peak_equity_cents = bankroll_cents
        self._resolutions: list[tuple[datetime, str, int]] = []  # (resolved at, trade id, pnl), sorted
        self._running_equity = bankroll_cents
        self.ignored = 0  # states of another mode or surface, or malformed lines, skipped
        self.version = 0  # bumped by every applied state: lets callers cache what they derive from the ledger
        self._book = _Book()
        self._reserved: dict[str, tuple[Holding, float]] = {}  # signal id -> (holding, expiry by time.monotonic())
        self._reserved_committed = 0
        self._latest: dict[str, Trade] = {}
        self._by_day: dict[date, int] = {}
        self._by_week: dict[date, int] = {}
        self._last_exit: dict[str, datetime] = {}
        self._signal_ids: set[str] = set()
        self._reader: LogReader | None = (
            LogReader(stream_path(log_dir, surface, "trades")) if log_dir is not None else None
        )

    # ---------------------------------------------------------------- building
    @classmethod
    def rebuild(
        cls,
        log_dir: Path,
        surface: str,
        mode: str = "paper",
        *,
        bankroll_cents: int = DEFAULT_BANKROLL_CENTS,
        day_boundary_tz: str = "UTC",
        reservation_ttl: float = 120.0,
    ) -> Ledger:
        """A ledger built from ``logs/<surface>/trades.jsonl``, positioned to :meth:`sync` what is appended next."""
        ledger = cls(
            surface,
            mode,
            bankroll_cents=bankroll_cents,
            day_boundary_tz=day_boundary_tz,
            log_dir=log_dir,
            reservation_ttl=reservation_ttl,
        )
        ledger.sync()
        return ledger

    def sync(self) -> int:
        """Apply the trade states appended to this surface's log since the last call; returns how many applied."""
        self._expire_reservations()
        if self._reader is None:
            return 0
        applied = 0
        for entry in self._reader.read():
            if entry.data.get("kind") != "trade":
                continue
            try:
                trade = parse_record(Trade, entry.data, entry.ts)
            except ValidationError as exc:
                self.ignored += 1
                log.warning("%s trades: skipped invalid trade at byte %d: %s", self.surface, entry.offset, exc)
                continue
            applied += self.apply(trade)
        return applied

    def apply(self, trade: Trade) -> bool:
        """Fold one trade state in; False if it belongs to another mode or surface or would move its id backwards."""
        if trade.mode != self.mode or trade.surface != self.surface:
            self.ignored += 1
            return False
        previous = self._latest.get(trade.id)
        if previous is not None and _RANK[trade.status] < _RANK[previous.status]:
            return False
        if previous is not None:
            self._unfold(previous)
        self._latest[trade.id] = trade
        self.version += 1
        self._fold(trade)
        self._signal_ids.add(trade.signal_id)
        self.release(trade.signal_id)
        return True

    def _fold(self, trade: Trade) -> None:
        if _RANK[trade.status] < 3:
            self._book.add(_holding(trade))
            return
        pnl = trade.pnl or 0
        self.realized_cents += pnl
        when = _resolution_time(trade)
        if when is not None and pnl:
            _inc(self._by_day, trading_day(when, self.day_boundary_tz), pnl)
            _inc(self._by_week, trading_week(when, self.day_boundary_tz), pnl)
        elif pnl:
            log.warning(
                "%s: trade %s realized %dc without resolved_at; no trading day gets it", self.surface, trade.id, pnl
            )
        if pnl:
            self._add_resolution((when or _NO_TIME, trade.id, pnl))
        if trade.resolved_at is not None:
            last = self._last_exit.get(trade.instrument)
            if last is None or trade.resolved_at > last:
                self._last_exit[trade.instrument] = trade.resolved_at

    def _unfold(self, trade: Trade) -> None:
        if _RANK[trade.status] < 3:
            self._book.remove(trade.id)
            return
        # Only a terminal state replacing a terminal one (a corrected pnl) gets here; last_exit keeps the latest.
        pnl = trade.pnl or 0
        self.realized_cents -= pnl
        when = _resolution_time(trade)
        if when is not None and pnl:
            _inc(self._by_day, trading_day(when, self.day_boundary_tz), -pnl)
            _inc(self._by_week, trading_week(when, self.day_boundary_tz), -pnl)
        if pnl:
            self._resolutions.remove((when or _NO_TIME, trade.id, pnl))
            self._recompute_peak()

    def _add_resolution(self, entry: tuple[datetime, str, int]) -> None:
        # Peak equity is the running maximum over resolutions in resolution-time order, so it depends only on
        # which trades resolved, not on the order a process happened to apply them: rebuild == incremental.
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

    # ---------------------------------------------------------------- reservations
    def reserve(self, holding: Holding) -> None:
        """Hold exposure for an accepted candidate (key = its signal id) until its trade arrives or it expires."""
        key = holding.key
        if key in self._reserved:
            self.release(key)
        self._reserved[key] = (holding, time.monotonic() + self.reservation_ttl)
        self._reserved_committed += holding.cost_cents + holding.fees_cents

    def release(self, signal_id: str) -> bool:
        """Drop a reservation (its trade arrived, or the caller gave up on it); True if there was one."""
        entry = self._reserved.pop(signal_id, None)
        if entry is None:
            return False
        self._reserved_committed -= entry[0].cost_cents + entry[0].fees_cents
        return True

    def _expire_reservations(self) -> None:
        if not self._reserved:
            return
        now = time.monotonic()
        for key in [k for k, (_, expires) in self._reserved.items() if expires <= now]:
            self.release(key)

    def reservations(self) -> list[Holding]:
        """The exposure reserved for accepted candidates whose trades have not arrived yet."""
        return [holding for holding, _ in self._reserved.values()]

    # ---------------------------------------------------------------- queries
    @property
    def equity_cents(self) -> int:
        """Bankroll plus realized P&L (open positions at cost)."""
        return self.bankroll_cents + self.realized_cents

    @property
    def committed_cents(self) -> int:
        """Cash tied up by open and pending trades and reservations (cost plus entry fees)."""
        return self._book.committed + self._reserved_committed

    @property
    def cash_cents(self) -> int:
        """Cash free for new positions."""
        # Spelled out rather than through the two properties: the risk chain asks once per candidate.
        return self.bankroll_cents + self.realized_cents - self._book.committed - self._reserved_committed

    @property
    def exposure_cents(self) -> int:
        """Total cost of open and pending positions (fees excluded)."""
        return sum(self._book.by_market.values()) + sum(h.cost_cents for h, _ in self._reserved.values())

    @property
    def drawdown(self) -> Decimal:
        """``(peak − equity) / peak`` as a fraction, 0 at a new high."""
        peak = self.peak_equity_cents
        return Decimal(max(0, peak - self.equity_cents)) / Decimal(peak) if peak > 0 else Decimal(1)

    @property
    def open_positions(self) -> int:
        """Open and pending trades plus reservations."""
        return len(self._book.holdings) + len(self._reserved)

    def realized_on(self, day: date) -> int:
        """Realized P&L of one trading day."""
        return self._by_day.get(day, 0)

    def realized_in_week(self, monday: date) -> int:
        """Realized P&L of the trading week that starts on ``monday``."""
        return self._by_week.get(monday, 0)

    def realized_today(self, now: datetime) -> int:
        """Realized P&L of ``now``'s trading day in the surface's day-boundary zone."""
        return self._by_day.get(trading_day(now, self.day_boundary_tz), 0)

    def realized_this_week(self, now: datetime) -> int:
        """Realized P&L of ``now``'s trading week (Monday start) in the surface's day-boundary zone."""
        return self._by_week.get(trading_week(now, self.day_boundary_tz), 0)

    def market_exposure(self, instrument: str) -> int:
        """Cost of the open, pending and reserved positions on one market."""
        total = self._book.by_market.get(instrument, 0)
        if self._reserved:
            total += sum(h.cost_cents for h, _ in self._reserved.values() if h.instrument == instrument)
        return total

    def underlying_exposure(self, underlying: str) -> int:
        """Cost of the open, pending and reserved positions on one underlying."""
        total = self._book.by_underlying.get(underlying, 0)
        if self._reserved and underlying:  # positions without an underlying are not aggregated under ""
            total += sum(h.cost_cents for h, _ in self._reserved.values() if h.underlying == underlying)
        return total

    def category_exposure(self, category: str) -> int:
        """Cost of the open, pending and reserved positions in one category."""
        total = self._book.by_category.get(category, 0)
        if self._reserved and category:
            total += sum(h.cost_cents for h, _ in self._reserved.values() if h.category == category)
        return total

    def is_open(self, instrument: str) -> bool:
        """True if a trade on ``instrument`` is open or pending (or reserved)."""
        if instrument in self._book.count_by_market:
            return True
        return bool(self._reserved) and any(h.instrument == instrument for h, _ in self._reserved.values())

    def holds_side(self, underlying: str, side: str) -> bool:
        """True if an open, pending or reserved position on ``underlying`` is on ``side``."""
        if (underlying, side) in self._book.sides:
            return True
        return bool(self._reserved and underlying) and any(
            h.underlying == underlying and h.side == side for h, _ in self._reserved.values()
        )

    def has_signal(self, signal_id: str) -> bool:
        """True if a trade or reservation already exists for this signal id."""
        return signal_id in self._signal_ids or signal_id in self._reserved

    def last_exit(self, instrument: str) -> datetime | None:
        """When the latest closed position on ``instrument`` resolved (venue time), if any."""
        return self._last_exit.get(instrument)

    def holdings(self) -> list[Holding]:
        """Open and pending positions from the log (reservations excluded)."""
        return list(self._book.holdings.values())

    def trade(self, trade_id: str) -> Trade | None:
        """The latest state of one trade."""
        return self._latest.get(trade_id)

    def state(self) -> LedgerState:
        """A comparable snapshot of what the log says (for ``rebuild == incremental`` checks and the dashboard)."""
        return LedgerState(
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
            signal_ids=frozenset(self._signal_ids),
        )


def _resolution_time(trade: Trade) -> datetime | None:
    # Venue time from the record itself, never the bus stamp: a state applied directly has no stamp, and the
    # ledger must come out the same whether a state was applied directly or read back from the log.
    return trade.resolved_at if trade.resolved_at is not None else trade.opened_at


def _holding(trade: Trade) -> Holding:
    return Holding(
        key=trade.id,
        signal_id=trade.signal_id,
        instrument=trade.instrument,
        underlying=trade.underlying,
        category=trade.category,
        side=trade.side,
        cost_cents=_cost_cents(trade),
        fees_cents=trade.fees,
    )


def _cost_cents(trade: Trade) -> int:
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
