"""A surface's money state for its risk chain: the portfolio fold over ``logs/<surface>/trades.jsonl``, kept in
step with the log, plus the chain's reservations.

Usage (one ledger per surface and mode; paper and live never mix, and no ledger reads another surface's log)::

    ledger = Ledger.rebuild(log_dir, "kalshi_st", "paper", bankroll_cents=settings.bankroll_cents,
                            day_boundary_tz=settings.day_boundary_tz)
    ledger.apply(trade)        # after writing a Trade state yourself (idempotent)
    ledger.sync()              # pick up states others appended (the resolver's ``resolved`` lines)
    ledger.take_exits()        # the positions the resolver closed since the last call (rapid-exit protection)

Everything about money (cash, exposure, realized P&L per venue day and week, peak equity, drawdown, positions) is
:class:`shared.money.portfolio.Portfolio`, the one fold of a trade log; this class adds only the log reader and
the reservations.

Reservations: the risk chain reserves an accepted candidate's exposure until its intent trade is applied, so two
candidates decided in one tick cannot both take the last slot; they are not part of :meth:`state` (they are not in
the log) and expire after ``reservation_ttl`` seconds if no trade ever arrives. A reservation lives only until its
intent is applied, a moment later in the same tick, so there are seldom more than a few: queries scan them instead
of keeping aggregates, which makes reserving and releasing (once per accepted candidate) nearly free.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import NamedTuple

from pydantic import ValidationError

from shared.bus import LogReader
from shared.money.portfolio import (
    DEFAULT_BANKROLL_CENTS,
    Holding,
    Portfolio,
    PortfolioState,
    opposite_side,
)
from shared.paths import stream_path
from shared.records import Trade, parse_record
from shared.surfaces import SURFACE_TABLE

log = logging.getLogger(__name__)

LedgerState = PortfolioState

__all__ = ["DEFAULT_BANKROLL_CENTS", "Exit", "Holding", "Ledger", "LedgerState", "opposite_side"]


class Exit(NamedTuple):
    """A position the surface learned was closed (not settled): what the rapid-exit monitor counts."""

    trade: Trade


class Ledger(Portfolio):
    """One surface's cash, exposure, realized P&L, peak equity and positions, for one trading mode."""

    surface: str  # a ledger is always one surface's (a bare Portfolio may span several)
    mode: str

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
        super().__init__(surface, mode, bankroll_cents=bankroll_cents, day_boundary_tz=day_boundary_tz)
        self.reservation_ttl = reservation_ttl
        self._reserved: dict[str, tuple[Holding, float]] = {}  # signal id -> (holding, expiry by time.monotonic())
        self._reserved_committed = 0
        self._exits: list[Exit] = []
        spec = SURFACE_TABLE.get(surface)
        # Binary contracts settle; only linear positions (FX, stocks) are exited, and only exits count as rapid.
        self._counts_exits = spec is not None and not spec.binary
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
        ledger._exits.clear()  # exits already in the log at start-up are history, not news for the rapid-exit rule
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
        previous = self._latest.get(trade.id)
        if not super().apply(trade):
            return False
        self.release(trade.signal_id)
        if (
            self._counts_exits
            and trade.status == "resolved"
            and (previous is None or previous.status != "resolved")
        ):
            self._exits.append(Exit(trade))
        return True

    def take_exits(self) -> list[Exit]:
        """The exits applied since the last call (oldest first), for the rapid-exit monitor."""
        exits, self._exits = self._exits, []
        return exits

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
    def open_positions(self) -> int:
        """Open and pending trades plus reservations."""
        return len(self._book.holdings) + len(self._reserved)

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
        return signal_id in self._by_signal or signal_id in self._reserved
