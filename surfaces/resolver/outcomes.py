"""Pure settlement maths: what a position made, and what to call a venue's exit.

Which exit happened, and at what price, is the venue's business (its fills): the sim's one trigger rule lives in
``shared.venues.sim.linear`` and a live venue enforces its own stop and target orders. What is left here is
what the venue does not say in one word: the name of an exit, read from its fill price against the levels.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

ExitReason = Literal["stop_loss", "take_profit", "stop_loss_gap", "take_profit_gap", "closed"]


def exit_reason(side: str, stop_loss: Decimal | None, take_profit: Decimal | None, price: Decimal) -> ExitReason:
    """Name an exit fill: at a level is that level's exit, beyond it the market gapped (or slipped) through it,
    between the levels it was a close at market (by the operator, the resolver or a venue without brackets).

    Beyond both is impossible for one fill; the stop is checked first because a long's stop sits below its
    target (a short's above), so a price can be beyond at most one of them.
    """
    long = side == "long"
    if stop_loss is not None and (price <= stop_loss if long else price >= stop_loss):
        return "stop_loss" if price == stop_loss else "stop_loss_gap"
    if take_profit is not None and (price >= take_profit if long else price <= take_profit):
        return "take_profit" if price == take_profit else "take_profit_gap"
    return "closed"


def binary_payout_cents(count_centi: int, won: bool) -> int:
    """A winning contract pays $1: 100 centi-contracts pay 100 cents, so the payout in cents is the centi-count."""
    return count_centi if won else 0


def binary_pnl_cents(count_centi: int, cost_cents: int, fees_cents: int, result: str, side: str) -> int:
    """Realized P&L of a held binary side after fees. A void market refunds the premium; fees are not refunded."""
    if result == "void":
        return -fees_cents
    won = result == side
    return binary_payout_cents(count_centi, won) - cost_cents - fees_cents


def price_pnl(side: str, units: int, entry: Decimal, exit_price: Decimal) -> Decimal:
    """P&L in the quote currency of ``units`` held long or short from ``entry`` to ``exit_price``."""
    sign = Decimal(1) if side == "long" else Decimal(-1)
    return sign * Decimal(units) * (exit_price - entry)


def to_cents(amount: Decimal) -> int:
    """Dollars to whole cents, half-even (no systematic bias across many trades)."""
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_EVEN))
