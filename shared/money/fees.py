"""Venue fee schedules, exact to the cent.

Kalshi (quadratic series): fee = roundup_to_cent(coef × C × P × (1 − P)), coef 0.07 for takers and 0.0175 for
makers on ``quadratic_with_maker_fees`` series (makers pay nothing elsewhere), scaled by the series'
``fee_multiplier``. Computed on integers: a binary float charges $0.64 instead of $0.63 for 100 contracts at $0.10.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Literal

KalshiFeeType = Literal["quadratic", "quadratic_with_maker_fees", "flat"]

TAKER_COEF = Decimal("0.07")
MAKER_COEF = Decimal("0.0175")


def kalshi_fee_cents(
    count_centi: int,
    price_cents: int | Decimal,
    *,
    maker: bool = False,
    fee_type: KalshiFeeType = "quadratic",
    fee_multiplier: Decimal = Decimal(1),
) -> int:
    """Fee in integer cents for ``count_centi`` centi-contracts (100 = one contract) at ``price_cents``.

    ``price_cents`` may be a Decimal for sub-penny markets (e.g. Decimal("0.5") for $0.005).
    """
    if count_centi < 0:
        raise ValueError("count must be non-negative")
    price = Decimal(price_cents)
    if not Decimal(0) <= price <= Decimal(100):
        raise ValueError(f"price out of range: {price_cents} cents")
    if count_centi == 0:
        return 0
    if maker:
        if fee_type != "quadratic_with_maker_fees":
            return 0
        coef = MAKER_COEF
    else:
        coef = TAKER_COEF
    if fee_type == "flat":
        raise ValueError("flat-fee series need the series' fee table; not supported")
    # cents = 100 × coef × (count_centi / 100) × (price / 100) × ((100 − price) / 100)
    raw_cents = coef * fee_multiplier * Decimal(count_centi) * price * (Decimal(100) - price) / Decimal(10_000)
    return int(raw_cents.to_integral_value(rounding=ROUND_CEILING))
