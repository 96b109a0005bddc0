"""A binary taker order against a displayed book: the one walk both the sim venue and paper on live data use.

The order takes levels best first while they are within its limit (an opening order buys the side at or below the
limit, a closing one sells it at or above), never more than a level shows, each level paying its own fee. An FOK
order that cannot fill whole takes nothing. Cash: an opening fill pays its notional (rounded up to the cent) plus
fees; a closing fill receives its notional (rounded down) less fees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from shared.venues.base import OrderRequest
from shared.venues.sim.ledger import FillPart


@dataclass(frozen=True, slots=True)
class TakerFill:
    """What a taker order took: the parts, the levels they came from (index into the levels given) and the cash."""

    parts: tuple[FillPart, ...]
    taken: tuple[tuple[int, int], ...]  # (level index, quantity)
    remaining: int
    cash_delta_cents: int


def take_levels(request: OrderRequest, levels: Sequence[tuple[Decimal, int]],
                fee_cents: Callable[[int, Decimal], int]) -> TakerFill | None:
    """Walk ``levels`` (price of the side traded, displayed size; best first) for ``request``; None if nothing can
    fill (no level within the limit, or an FOK that cannot fill whole)."""
    limit = request.limit_price
    parts: list[FillPart] = []
    taken: list[tuple[int, int]] = []
    remaining = request.quantity
    for index, (price, size) in enumerate(levels):
        if remaining == 0:
            break
        within = limit is None or (price <= limit if request.intent == "open" else price >= limit)
        if not within:
            break
        if size <= 0:
            continue
        take = min(remaining, size)
        parts.append(FillPart(take, price, fee_cents(take, price)))
        taken.append((index, take))
        remaining -= take
    if not parts or (request.time_in_force == "fok" and remaining):
        return None
    notional = sum((Decimal(p.quantity) * p.price for p in parts), Decimal(0))  # cents: centi-contracts × dollars
    fees = sum(p.fees_cents for p in parts)
    if request.intent == "open":
        cash = -int(notional.to_integral_value(ROUND_CEILING)) - fees
    else:
        cash = int(notional.to_integral_value(ROUND_FLOOR)) - fees
    return TakerFill(tuple(parts), tuple(taken), remaining, cash)
