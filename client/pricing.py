"""Instrument arithmetic: how much a stake buys, what it costs, what it pays. Integer cents and Decimal only.

- Kalshi binaries are bought in whole contracts (quantities are centi-contracts, so 100 per contract) at the
  price of the side bought; a winning contract pays $1.00.
- Stocks: whole shares; the stake is the notional value.
- FX: integer units of the base currency; the stake is the notional in USD. Pairs must involve USD (the eight
  majors do), so P&L converts to USD without a third rate.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from shared.money.fees import kalshi_fee_cents

CENTS = Decimal(100)


class UnsupportedInstrument(ValueError):
    """The client cannot size or value this instrument (e.g. an FX cross without USD)."""


def kind_of(surface: str) -> str:
    """binary | fx | equity, from the signal's surface."""
    if surface in ("kalshi_st", "kalshi_lt"):
        return "binary"
    if surface == "fx":
        return "fx"
    if surface == "stocks":
        return "equity"
    raise UnsupportedInstrument(f"unknown surface {surface!r}")


def is_buy(side: str) -> bool:
    """Binary sides and longs buy; shorts sell."""
    return side != "short"


def _fx_legs(pair: str) -> tuple[str, str]:
    parts = pair.replace("/", "_").upper().split("_")
    if len(parts) != 2 or not all(len(p) == 3 for p in parts):
        raise UnsupportedInstrument(f"not an FX pair: {pair!r}")
    return parts[0], parts[1]


def quantity_for_stake(surface: str, instrument: str, price: Decimal, stake_cents: int) -> int:
    """The largest quantity (centi-contracts, units or shares) whose cost at ``price`` fits in the stake."""
    if stake_cents <= 0 or price <= 0:
        return 0
    kind = kind_of(surface)
    if kind == "binary":
        price_cents = price * CENTS
        contracts = int((Decimal(stake_cents) / price_cents).to_integral_value(rounding=ROUND_FLOOR))
        return contracts * 100
    if kind == "equity":
        return int((Decimal(stake_cents) / (price * CENTS)).to_integral_value(rounding=ROUND_FLOOR))
    base, quote = _fx_legs(instrument)
    if base == "USD":
        return stake_cents // 100
    if quote == "USD":
        return int((Decimal(stake_cents) / (price * CENTS)).to_integral_value(rounding=ROUND_FLOOR))
    raise UnsupportedInstrument(f"{instrument}: FX crosses without USD are not supported")


def cost_cents(surface: str, instrument: str, price: Decimal, quantity: int) -> int:
    """Cash committed (binary) or notional in USD (FX, stocks) for ``quantity`` at ``price``, rounded up."""
    kind = kind_of(surface)
    if kind == "binary":
        raw = Decimal(quantity) * price  # centi-contracts × dollars = cents
    elif kind == "equity":
        raw = Decimal(quantity) * price * CENTS
    else:
        base, quote = _fx_legs(instrument)
        if base == "USD":
            raw = Decimal(quantity) * CENTS
        elif quote == "USD":
            raw = Decimal(quantity) * price * CENTS
        else:
            raise UnsupportedInstrument(f"{instrument}: FX crosses without USD are not supported")
    return int(raw.to_integral_value(rounding=ROUND_CEILING))


def entry_fee_cents(
    surface: str,
    price: Decimal,
    quantity: int,
    *,
    notional_cents: int,
    stock_per_share: Decimal,
    stock_min_cents: int,
    stock_max_pct: Decimal,
    fx_per_million_cents: int,
) -> int:
    """The fee for one fill: Kalshi taker fee, IBKR-style per-share commission, or FX commission per million."""
    kind = kind_of(surface)
    if kind == "binary":
        return kalshi_fee_cents(quantity, price * CENTS)
    if kind == "equity":
        if quantity == 0:
            return 0
        per_share = (Decimal(quantity) * stock_per_share * CENTS).to_integral_value(rounding=ROUND_CEILING)
        cap = (Decimal(notional_cents) * stock_max_pct).to_integral_value(rounding=ROUND_CEILING)
        return int(min(max(per_share, Decimal(stock_min_cents)), max(cap, Decimal(stock_min_cents))))
    raw = Decimal(notional_cents) * Decimal(fx_per_million_cents) / Decimal(100_000_000)
    return int(raw.to_integral_value(rounding=ROUND_CEILING))


def binary_payout_pnl(quantity: int, fill_price: Decimal, outcome: str) -> int:
    """Gross P&L of centi-contracts bought at ``fill_price`` when the side bought wins, loses or is voided."""
    cost = Decimal(quantity) * fill_price
    if outcome == "win":
        gross = Decimal(quantity) - cost  # each contract pays $1.00 = 100 cents per 100 centi-contracts
    elif outcome == "loss":
        gross = -cost
    elif outcome == "void":
        gross = Decimal(0)  # a voided market returns the stake
    else:
        raise ValueError(f"unknown outcome {outcome!r}")
    return int(gross.to_integral_value(rounding=ROUND_HALF_EVEN))


def bracket_pnl(instrument: str, surface: str, side: str, quantity: int, fill: Decimal, exit_price: Decimal) -> int:
    """Gross P&L in USD cents of an FX or stock position closed at ``exit_price``."""
    direction = Decimal(1) if is_buy(side) else Decimal(-1)
    quote_pnl = (exit_price - fill) * Decimal(quantity) * direction
    if kind_of(surface) == "fx":
        base, quote = _fx_legs(instrument)
        if quote != "USD":
            if base != "USD":
                raise UnsupportedInstrument(f"{instrument}: FX crosses without USD are not supported")
            quote_pnl = quote_pnl / exit_price  # quote currency -> USD at the exit rate
    return int((quote_pnl * CENTS).to_integral_value(rounding=ROUND_HALF_EVEN))
