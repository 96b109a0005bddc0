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


# ---------------------------------------------------------------------------------------------------- FX (OANDA)
FX_COMMISSION_PER_MILLION_CENTS = 0
"""OANDA's standard account charges no commission (the cost is the spread); core pricing charges ~$50 per 1M."""


def _ceil_cents(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding=ROUND_CEILING))


def fx_spread_cost_cents(units: int, bid: Decimal, ask: Decimal, *, quote_to_account: Decimal = Decimal(1)) -> int:
    """Cost in account cents of crossing the spread for a round trip of ``units`` (half on entry, half on exit).

    Measured against the mid: buying at the ask and later selling at the bid costs ``units × (ask − bid)`` in the
    quote currency, converted with ``quote_to_account`` (1 for USD-quoted pairs on a USD account). Rounded up.
    """
    if units < 0:
        raise ValueError("units must be non-negative")
    if bid <= 0 or ask <= 0 or ask < bid:
        raise ValueError(f"invalid quote: bid {bid} ask {ask}")
    if quote_to_account <= 0:
        raise ValueError("quote_to_account must be positive")
    return _ceil_cents(Decimal(units) * (ask - bid) * quote_to_account * 100)


def fx_commission_cents(
    units: int,
    *,
    base_to_account: Decimal = Decimal(1),
    per_million_cents: int = FX_COMMISSION_PER_MILLION_CENTS,
) -> int:
    """Commission in cents for one side of ``units``: ``per_million_cents`` per 1,000,000 of notional in the
    account currency (``base_to_account`` converts base units: 1 for USD_JPY on a USD account, the EUR/USD rate
    for EUR_USD). Rounded up to the cent.
    """
    if units < 0 or per_million_cents < 0:
        raise ValueError("units and commission must be non-negative")
    if base_to_account <= 0:
        raise ValueError("base_to_account must be positive")
    return _ceil_cents(Decimal(units) * base_to_account * per_million_cents / Decimal(1_000_000))


def fx_round_trip_cost_cents(
    units: int,
    bid: Decimal,
    ask: Decimal,
    *,
    quote_to_account: Decimal = Decimal(1),
    base_to_account: Decimal = Decimal(1),
    per_million_cents: int = FX_COMMISSION_PER_MILLION_CENTS,
) -> int:
    """Spread plus commission on entry and exit: what an FX bracket pays whether it hits TP or SL."""
    commission = fx_commission_cents(units, base_to_account=base_to_account, per_million_cents=per_million_cents)
    return fx_spread_cost_cents(units, bid, ask, quote_to_account=quote_to_account) + 2 * commission


# ---------------------------------------------------------------------------------------------------- IBKR
IBKR_PER_SHARE = Decimal("0.005")
IBKR_MIN_PER_ORDER_CENTS = 100
IBKR_MAX_PCT_OF_VALUE = Decimal("0.01")


def ibkr_commission_cents(
    shares: int,
    price: Decimal,
    *,
    per_share: Decimal = IBKR_PER_SHARE,
    minimum_cents: int = IBKR_MIN_PER_ORDER_CENTS,
    max_pct_of_value: Decimal = IBKR_MAX_PCT_OF_VALUE,
) -> int:
    """IBKR Pro fixed-rate commission for one order, in cents, rounded up.

    Defaults are IBKR's US-stock fixed rate: USD 0.005 per share, minimum USD 1.00 per order, maximum 1% of the
    trade value; where that maximum is below the minimum, the maximum is charged (IBKR's own footnote).
    Zero shares cost nothing (no order is sent).
    """
    if shares < 0:
        raise ValueError("shares must be non-negative")
    if price <= 0:
        raise ValueError(f"invalid price: {price}")
    if per_share < 0 or minimum_cents < 0 or max_pct_of_value < 0:
        raise ValueError("commission parameters must be non-negative")
    if shares == 0:
        return 0
    per_share_cents = Decimal(shares) * per_share * 100
    cap_cents = Decimal(shares) * price * 100 * max_pct_of_value
    charged = min(max(per_share_cents, Decimal(minimum_cents)), cap_cents)
    return _ceil_cents(charged)


def ibkr_round_trip_cents(
    shares: int,
    entry: Decimal,
    exit_price: Decimal,
    *,
    per_share: Decimal = IBKR_PER_SHARE,
    minimum_cents: int = IBKR_MIN_PER_ORDER_CENTS,
    max_pct_of_value: Decimal = IBKR_MAX_PCT_OF_VALUE,
) -> int:
    """Commission for opening and closing ``shares``: two orders, each with its own minimum."""
    opening = ibkr_commission_cents(
        shares, entry, per_share=per_share, minimum_cents=minimum_cents, max_pct_of_value=max_pct_of_value
    )
    closing = ibkr_commission_cents(
        shares, exit_price, per_share=per_share, minimum_cents=minimum_cents, max_pct_of_value=max_pct_of_value
    )
    return opening + closing
