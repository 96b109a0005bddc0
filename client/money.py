"""Deposits and withdrawals. A withdrawal crystallizes commission; both lines are written in one locked append."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from client.config import ClientConfig
from client.engine import enqueue_commission
from client.ledger import Ledger, MoneyEvent
from client.outbox import Outbox
from client.store import StatePaths
from shared.ids import new_id
from shared.timeutil import utcnow


class AmountError(ValueError):
    """An amount the user typed that is not a positive number of dollars with at most two decimals."""


def parse_dollars(text: str) -> int:
    """``"100"`` / ``"100.5"`` / ``"$1,234.56"`` -> integer cents; no float on the way."""
    cleaned = text.strip().replace("$", "").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise AmountError(f"the amount must be positive: {text!r}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise AmountError(f"at most two decimals (whole cents): {text!r}")
    return int(cents)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    withdraw: MoneyEvent
    commission: MoneyEvent | None
    ledger_after: Ledger


def load_ledger(paths: StatePaths, config: ClientConfig) -> Ledger:
    """The ledger rebuilt from the client's own records."""
    ledger = Ledger(config.commission_rate)
    for name in ("orders", "money"):
        for entry in paths.log(name).reader().read():
            ledger.apply_entry(entry)
    return ledger


@contextmanager
def _money_lock(paths: StatePaths) -> Iterator[None]:
    paths.ensure()
    fd = os.open(paths.money_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def deposit(config: ClientConfig, amount_cents: int, *, now: Callable[[], datetime] = utcnow) -> Ledger:
    """Record a deposit; returns the ledger after it."""
    paths = StatePaths(config.state_dir)
    with _money_lock(paths):
        at = now()
        paths.log("money").append(MoneyEvent(id=new_id(at), type="deposit", amount_cents=amount_cents, at=at))
        return load_ledger(paths, config)


def withdraw(config: ClientConfig, amount_cents: int, *, now: Callable[[], datetime] = utcnow) -> Withdrawal:
    """Withdraw cash: crystallize commission above the high-water mark, record both, queue the commission report.

    Raises :class:`client.ledger.LedgerError` if the cash (after the commission due) does not cover the amount.
    """
    paths = StatePaths(config.state_dir)
    with _money_lock(paths):
        ledger = load_ledger(paths, config)
        due = ledger.plan_withdrawal(amount_cents)
        at = now()
        out = MoneyEvent(id=new_id(at), type="withdraw", amount_cents=amount_cents, at=at)
        commission = None
        if due.amount_cents > 0 or due.hwm_after_cents != due.hwm_before_cents:
            commission = MoneyEvent(
                id=new_id(at), type="commission", amount_cents=due.amount_cents, at=at,
                hwm_before_cents=due.hwm_before_cents, hwm_after_cents=due.hwm_after_cents,
            )
        # One locked write (one fsync): the commission and the withdrawal that crystallized it land together.
        paths.log("money").append_many([e for e in (commission, out) if e is not None])
        if commission is not None:
            enqueue_commission(Outbox(paths.log("outbox"), paths.delivery_lock), commission)
        return Withdrawal(out, commission, load_ledger(paths, config))
