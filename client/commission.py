"""The commission rule: 15% of realized profit above the high-water mark, crystallized only on a withdrawal.

The high-water mark (HWM) is a level of *cumulative realized P&L* (after trading fees), starting at 0. When the
subscriber withdraws, commission is due on the part of cumulative P&L above the HWM, and the HWM rises to the
current cumulative P&L. Losses after a crystallization push cumulative P&L below the HWM; they must be won back
before anything new is due. Commission paid is not trading P&L, so it never moves the HWM by itself.

Rounding: the amount is rounded down to the cent (in the subscriber's favour), on integers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

DEFAULT_RATE = Decimal("0.15")


@dataclass(frozen=True, slots=True)
class Crystallization:
    amount_cents: int
    hwm_before_cents: int
    hwm_after_cents: int
    profit_above_hwm_cents: int


def crystallize(realized_pnl_cents: int, hwm_cents: int, rate: Decimal = DEFAULT_RATE) -> Crystallization:
    """Commission due at a withdrawal, and the new high-water mark."""
    if not Decimal(0) <= rate <= Decimal(1):
        raise ValueError(f"commission rate out of range: {rate}")
    above = realized_pnl_cents - hwm_cents
    if above <= 0:
        return Crystallization(0, hwm_cents, hwm_cents, 0)
    amount = int((rate * above).to_integral_value(rounding=ROUND_FLOOR))
    return Crystallization(amount, hwm_cents, realized_pnl_cents, above)


def accrued(realized_pnl_cents: int, hwm_cents: int, rate: Decimal = DEFAULT_RATE) -> int:
    """What a withdrawal right now would crystallize (shown to the subscriber, never reported)."""
    return crystallize(realized_pnl_cents, hwm_cents, rate).amount_cents
