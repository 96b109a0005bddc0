"""The subscriber's ledger: cash, open positions, realized P&L, deposits, withdrawals and commission.

It is a fold over the client's own records (``orders.jsonl`` trade lines and ``money.jsonl`` money lines), so it
can always be rebuilt from them; ``run`` keeps it up to date incrementally and the two must agree.
The trade lines go through the operator's own portfolio fold (``shared.money.portfolio.Portfolio``), so a
subscriber's positions and P&L follow exactly the rules the operator's ledger, dashboard and audit follow; this
module adds only the subscriber's money (deposits, withdrawals, commission) and the per-day stake cap.
All amounts are integer cents.

Cash = deposits − withdrawals − commission + realized P&L − (cost + entry fees of open positions).
Equity = cash + cost of open positions (open positions are marked at cost, not at market).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field

from client.commission import DEFAULT_RATE, Crystallization, accrued, crystallize
from shared.bus import Entry
from shared.money.portfolio import Portfolio, cost_cents
from shared.records import Record, Trade, UtcTime, parse_record
from shared.timeutil import utcnow


class MoneyEvent(Record):
    """A deposit, a withdrawal, or commission crystallized by a withdrawal."""

    KIND: ClassVar[str] = "money"
    kind: Literal["money"] = "money"
    id: str
    type: Literal["deposit", "withdraw", "commission"]
    amount_cents: int = Field(ge=0)
    at: UtcTime
    hwm_before_cents: int | None = None
    hwm_after_cents: int | None = None


@dataclass(frozen=True, slots=True)
class OpenPosition:
    signal_id: str
    surface: str
    instrument: str
    side: str
    quantity: int
    fill_price: Decimal
    cost_cents: int
    fees_cents: int
    opened_at: datetime | None


class LedgerError(Exception):
    """A money operation the ledger cannot allow (e.g. withdrawing more than the cash)."""


class Ledger:
    """Incremental ledger; feed it every trade and money record in file order."""

    def __init__(self, commission_rate: Decimal = DEFAULT_RATE) -> None:
        self.rate = commission_rate
        self.deposits_cents = 0
        self.withdrawals_cents = 0
        self.commission_cents = 0
        self.hwm_cents = 0
        # Every surface and both modes: the subscriber's records are one account.
        self.portfolio = Portfolio(None, None, bankroll_cents=0)
        self._stake_by_signal: dict[str, tuple[date, int]] = {}
        self._money_ids: set[str] = set()

    # ------------------------------------------------------------------ folding records
    def apply_trade(self, trade: Trade) -> None:
        """Fold one order-lifecycle line. Repeated states of one trade are harmless (idempotent)."""
        previous = self.portfolio.trade_for_signal(trade.signal_id)
        if not self.portfolio.apply(trade) or (previous is not None and previous.status == trade.status):
            return
        day = (trade.opened_at or trade.ts or utcnow()).date()
        if trade.status == "intent":
            self._stake_by_signal[trade.signal_id] = (day, trade.cost_cents or 0)
        elif trade.status == "filled":
            first_day = self._stake_by_signal.get(trade.signal_id, (day, 0))[0]
            self._stake_by_signal[trade.signal_id] = (first_day, trade.cost_cents or 0)
        elif trade.status in ("rejected", "cancelled"):
            day_stake = self._stake_by_signal.get(trade.signal_id)
            if day_stake is not None:
                self._stake_by_signal[trade.signal_id] = (day_stake[0], 0)

    @property
    def positions(self) -> dict[str, OpenPosition]:
        """Filled positions not yet resolved, by signal id."""
        return {
            t.signal_id: OpenPosition(
                t.signal_id, t.surface, t.instrument, t.side,
                t.count if t.count is not None else (t.units or 0),
                t.fill_price or Decimal(0), cost_cents(t), t.fees, t.opened_at,
            )
            for t in self.portfolio.open_trades(("filled",))
        }

    @property
    def realized_pnl_cents(self) -> int:
        return self.portfolio.realized_cents

    @property
    def fees_cents(self) -> int:
        """Fees paid: entry and exit fees of resolved trades plus entry fees of open positions."""
        return self.portfolio.fees_realized_cents + self.open_fees_cents

    @property
    def wins(self) -> int:
        return self.portfolio.wins

    @property
    def losses(self) -> int:
        return self.portfolio.resolved - self.portfolio.wins

    def apply_money(self, event: MoneyEvent) -> None:
        if event.id in self._money_ids:
            return
        self._money_ids.add(event.id)
        if event.type == "deposit":
            self.deposits_cents += event.amount_cents
        elif event.type == "withdraw":
            self.withdrawals_cents += event.amount_cents
        else:
            self.commission_cents += event.amount_cents
            if event.hwm_after_cents is not None:
                self.hwm_cents = max(self.hwm_cents, event.hwm_after_cents)

    def apply_entry(self, entry: Entry) -> None:
        """Fold one line read from ``orders.jsonl`` or ``money.jsonl``."""
        kind = entry.data.get("kind")
        if kind == "trade":
            self.apply_trade(parse_record(Trade, entry.data, entry.ts))
        elif kind == "money":
            self.apply_money(parse_record(MoneyEvent, entry.data, entry.ts))

    @classmethod
    def rebuild(cls, entries: Iterable[Entry], commission_rate: Decimal = DEFAULT_RATE) -> Ledger:
        """A fresh ledger from records alone."""
        ledger = cls(commission_rate)
        for entry in entries:
            ledger.apply_entry(entry)
        return ledger

    # ------------------------------------------------------------------ derived figures
    @property
    def open_cost_cents(self) -> int:
        return sum(cost_cents(t) for t in self.portfolio.open_trades(("filled",)))

    @property
    def open_fees_cents(self) -> int:
        return sum(t.fees for t in self.portfolio.open_trades(("filled",)))

    @property
    def cash_cents(self) -> int:
        return (
            self.deposits_cents - self.withdrawals_cents - self.commission_cents + self.realized_pnl_cents
            - self.open_cost_cents - self.open_fees_cents
        )

    @property
    def equity_cents(self) -> int:
        return self.cash_cents + self.open_cost_cents

    def staked_on(self, day: date) -> int:
        """Stake committed on a (UTC) day, for the per-day cap: intents and fills, not rejections."""
        return sum(stake for d, stake in self._stake_by_signal.values() if d == day)

    def knows(self, signal_id: str) -> bool:
        return self.portfolio.has_signal(signal_id)

    def status_of(self, signal_id: str) -> str | None:
        trade = self.portfolio.trade_for_signal(signal_id)
        return None if trade is None else trade.status

    def commission_accrued_cents(self) -> int:
        return accrued(self.realized_pnl_cents, self.hwm_cents, self.rate)

    def plan_withdrawal(self, amount_cents: int) -> Crystallization:
        """Check a withdrawal is possible and say what commission it crystallizes (nothing is written)."""
        if amount_cents <= 0:
            raise LedgerError("a withdrawal must be a positive amount")
        due = crystallize(self.realized_pnl_cents, self.hwm_cents, self.rate)
        if amount_cents + due.amount_cents > self.cash_cents:
            raise LedgerError(
                f"cannot withdraw {format_cents(amount_cents)}: cash is {format_cents(self.cash_cents)}"
                f" and {format_cents(due.amount_cents)} of commission falls due"
            )
        return due

    def snapshot(self) -> dict[str, Any]:
        """Every figure, as plain integers (what ``status --json`` prints and the rebuild test compares)."""
        return {
            "deposits_cents": self.deposits_cents,
            "withdrawals_cents": self.withdrawals_cents,
            "commission_cents": self.commission_cents,
            "realized_pnl_cents": self.realized_pnl_cents,
            "fees_cents": self.fees_cents,
            "hwm_cents": self.hwm_cents,
            "cash_cents": self.cash_cents,
            "equity_cents": self.equity_cents,
            "open_cost_cents": self.open_cost_cents,
            "open_positions": sorted(self.positions),
            "wins": self.wins,
            "losses": self.losses,
            "commission_accrued_cents": self.commission_accrued_cents(),
        }


def format_cents(cents: int) -> str:
    """``-1234`` -> ``-$12.34``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"
