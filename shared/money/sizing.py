"""Position sizing: fractional Kelly for binary contracts, risk-per-trade for FX and stocks.

Both are hard-capped by the position cap, ``min(max_position_pct × bankroll, max_position_cents)``, measured on the
position's cost (fees excluded): the cash a binary position ties up, the notional of a share position, or the
margin of an FX position (notional × ``margin_rate``). Quantities are integers rounded down, never negative, and
a position whose cost would exceed the cap is cut to the largest quantity that fits.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from shared.money.edge import ONE, as_decimal

_HUNDRED = Decimal(100)


def position_cap_cents(bankroll_cents: int, max_position_pct: Decimal, max_position_cents: int) -> int:
    """The most one position may cost: the smaller of the percentage cap and the absolute cap (never negative)."""
    if bankroll_cents <= 0:
        return 0
    pct_cap = int((Decimal(bankroll_cents) * max_position_pct).to_integral_value(rounding=ROUND_FLOOR))
    return max(0, min(pct_cap, max_position_cents))


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def kelly_count(
    *,
    bankroll_cents: int,
    p_win: float | Decimal,
    price: Decimal,
    fee_per_contract: Decimal = Decimal(0),
    kelly_fraction: Decimal,
    max_position_pct: Decimal,
    max_position_cents: int,
    lot_centi: int = 100,
) -> int:
    """Centi-contracts to buy: fractional Kelly on the fee-inclusive price ``q = price + fee_per_contract``.

    A contract bought at ``q`` that pays $1 has full-Kelly stake ``(p − q) / (1 − q)`` of bankroll, i.e.
    ``(p − q) / (q (1 − q))`` contracts per bankroll dollar; ``f`` of that is bought. ``p − q`` is the edge after
    fees (``shared.money.edge``); a non-positive edge buys nothing. The bare price would understate what each
    contract really costs and overstate its odds, oversizing cheap contracts, where the fee is a large part of the
    stake. The count is
    rounded down to a multiple of ``lot_centi`` (100: whole contracts) and cut so that ``count × price`` stays
    within the position cap.
    """
    if lot_centi <= 0:
        raise ValueError("lot_centi must be positive")
    if bankroll_cents <= 0 or not Decimal(0) < price < ONE or fee_per_contract < 0:
        return 0
    stake = price + fee_per_contract
    edge = as_decimal(p_win) - stake
    if edge <= 0 or kelly_fraction <= 0:
        return 0
    # edge > 0 and p_win <= 1 imply 0 < stake < 1. contracts = bankroll_dollars × f × edge / (q (1 − q));
    # centi-contracts = contracts × 100 = bankroll_cents × f × edge / (q (1 − q)).
    kelly_centi = _floor(Decimal(bankroll_cents) * kelly_fraction * edge / (stake * (ONE - stake)))
    cap_cents = position_cap_cents(bankroll_cents, max_position_pct, max_position_cents)
    # cost_cents = count_centi × price_dollars (count/100 contracts × price × 100 cents)
    cap_centi = _floor(Decimal(cap_cents) / price)
    count = min(kelly_centi, cap_centi)
    return max(0, count - count % lot_centi)


def binary_cost_cents(count_centi: int, price: Decimal) -> int:
    """Cash a binary position ties up, fees excluded: count/100 contracts × price dollars, in cents (rounded up)."""
    return int((Decimal(count_centi) * price).to_integral_value(rounding="ROUND_CEILING"))


def risk_units(
    *,
    bankroll_cents: int,
    risk_per_trade_pct: Decimal,
    entry: Decimal,
    stop_loss: Decimal,
    max_position_pct: Decimal,
    max_position_cents: int,
    quote_to_account: Decimal = ONE,
    margin_rate: Decimal = ONE,
    lot: int = 1,
) -> int:
    """Units (FX) or shares (stocks) so that hitting the stop loses at most ``risk_per_trade_pct`` of bankroll.

    ``units = risk budget / stop distance`` (both in account cents), rounded down to a multiple of ``lot``, then cut
    so that the position's cost, ``units × entry × quote_to_account × margin_rate``, stays within the position cap.
    ``margin_rate`` is 1 for cash equities and the venue's margin requirement for FX (e.g. 0.02 at 50:1).
    """
    if lot <= 0:
        raise ValueError("lot must be positive")
    if bankroll_cents <= 0 or risk_per_trade_pct <= 0 or entry <= 0 or quote_to_account <= 0 or margin_rate <= 0:
        return 0
    stop_distance = abs(entry - stop_loss)
    if stop_distance == 0:
        return 0
    budget_cents = Decimal(bankroll_cents) * risk_per_trade_pct
    by_risk = _floor(budget_cents / (stop_distance * quote_to_account * _HUNDRED))
    cap_cents = position_cap_cents(bankroll_cents, max_position_pct, max_position_cents)
    by_cap = _floor(Decimal(cap_cents) / (entry * quote_to_account * margin_rate * _HUNDRED))
    units = min(by_risk, by_cap)
    return max(0, units - units % lot)


def position_cost_cents(
    units: int, entry: Decimal, *, quote_to_account: Decimal = ONE, margin_rate: Decimal = ONE
) -> int:
    """Cost of an FX/stock position as the caps measure it (notional × margin rate, account cents, rounded up)."""
    value = Decimal(units) * entry * quote_to_account * margin_rate * _HUNDRED
    return int(value.to_integral_value(rounding="ROUND_CEILING"))
