"""Instrument arithmetic: how much a stake buys, what it costs, what it pays. Integer cents and Decimal only.

- Kalshi binaries are bought in whole contracts (quantities are centi-contracts, so 100 per contract) at the
  price of the side bought; a winning contract pays $1.00.
- Stocks: whole shares; the stake is the notional value.
- FX: integer units of the base currency; the stake is the notional in USD. A cross (``EUR_JPY``) converts with
  the ``USD_<quote>`` rate beside it (``usd_quote_rate``), which the caller reads from its broker's quotes; without
  one a cross cannot be priced and is skipped (reason ``unsupported``).

What kind an instrument is comes from the table of surfaces (``shared.surfaces``), every fee from the venue's
schedule in ``shared.money.fees`` and every FX conversion from ``shared.money.fx``: the client keeps no copy of
either, so a subscriber's paper fees are the operator's to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import cast, get_args

from client.config import BrokerSection
from shared.money.fees import (
    FX_COMMISSION_PER_MILLION_CENTS,
    IBKR_MAX_PCT_OF_VALUE,
    IBKR_MIN_PER_ORDER_CENTS,
    IBKR_PER_SHARE,
    KalshiFeeType,
    fx_commission_cents,
    ibkr_commission_cents,
    kalshi_fee_cents,
)
from shared.money.fx import MissingRate, NotAPair, base_unit_usd, quote_to_usd
from shared.surfaces import InstrumentKind, UnknownSurface, surface_spec
from shared.venues.base import Instrument, OrderSide, direction

CENTS = Decimal(100)


class UnsupportedInstrument(ValueError):
    """The client cannot size or value this instrument (e.g. an FX cross without USD)."""


def kind_of(surface: str) -> InstrumentKind:
    """binary | fx | equity, from the signal's surface (its row in the table of surfaces)."""
    try:
        return surface_spec(surface).instrument_kind
    except UnknownSurface as exc:
        raise UnsupportedInstrument(str(exc)) from None


def is_buy(side: str) -> bool:
    """Whether opening ``side`` buys: binary sides and longs buy, shorts sell (``shared.venues.base.direction``)."""
    if side not in get_args(OrderSide):
        raise UnsupportedInstrument(f"unknown side {side!r}")
    return direction(cast(OrderSide, side), "open") == "buy"


def _usd_per_base_unit(instrument: str, price: Decimal, usd_quote_rate: Decimal | None = None) -> Decimal:
    try:
        return base_unit_usd(instrument, price, usd_quote_rate=usd_quote_rate)
    except NotAPair as exc:
        raise UnsupportedInstrument(str(exc)) from None
    except MissingRate as exc:
        raise UnsupportedInstrument(f"{exc} (no quote for it)") from None


def quantity_for_stake(
    surface: str, instrument: str, price: Decimal, stake_cents: int, *, usd_quote_rate: Decimal | None = None
) -> int:
    """The largest quantity (centi-contracts, units or shares) whose cost at ``price`` fits in the stake."""
    if stake_cents <= 0 or price <= 0:
        return 0
    kind = kind_of(surface)
    if kind == "binary":
        contracts = int((Decimal(stake_cents) / (price * CENTS)).to_integral_value(rounding=ROUND_FLOOR))
        return contracts * 100
    unit_cents = (price if kind == "equity" else _usd_per_base_unit(instrument, price, usd_quote_rate)) * CENTS
    return int((Decimal(stake_cents) / unit_cents).to_integral_value(rounding=ROUND_FLOOR))


def cost_cents(
    surface: str, instrument: str, price: Decimal, quantity: int, *, usd_quote_rate: Decimal | None = None
) -> int:
    """Cash committed (binary) or notional in USD (FX, stocks) for ``quantity`` at ``price``, rounded up."""
    kind = kind_of(surface)
    if kind == "binary":
        raw = Decimal(quantity) * price  # centi-contracts × dollars = cents
    elif kind == "equity":
        raw = Decimal(quantity) * price * CENTS
    else:
        raw = Decimal(quantity) * _usd_per_base_unit(instrument, price, usd_quote_rate) * CENTS
    return int(raw.to_integral_value(rounding=ROUND_CEILING))


# ------------------------------------------------------------------------------------------------------------ fees
@dataclass(frozen=True, slots=True)
class FeeTerms:
    """The subscriber's broker commission terms (config ``[broker]``); the defaults are the shared schedules'."""

    stock_per_share: Decimal = IBKR_PER_SHARE
    stock_min_cents: int = IBKR_MIN_PER_ORDER_CENTS
    stock_max_pct: Decimal = IBKR_MAX_PCT_OF_VALUE
    fx_per_million_cents: int = FX_COMMISSION_PER_MILLION_CENTS

    @classmethod
    def of(cls, broker: BrokerSection) -> FeeTerms:
        return cls(broker.stock_commission_per_share, broker.stock_min_commission_cents,
                   broker.stock_max_commission_pct, broker.fx_commission_per_million_cents)


@dataclass(frozen=True, slots=True)
class SeriesFee:
    """A Kalshi series' fee schedule. Signals do not carry it; the market's :class:`Instrument` does."""

    fee_type: KalshiFeeType = "quadratic"
    multiplier: Decimal = Decimal(1)

    @classmethod
    def of(cls, instrument: Instrument | None) -> SeriesFee:
        """The instrument's schedule, or Kalshi's standard one (quadratic taker fee, multiplier 1) without it."""
        if instrument is None or instrument.kind != "binary":
            return DEFAULT_SERIES_FEE
        if instrument.fee_type not in get_args(KalshiFeeType):
            raise UnsupportedInstrument(f"{instrument.symbol}: unknown Kalshi fee type {instrument.fee_type!r}")
        return cls(cast(KalshiFeeType, instrument.fee_type), instrument.fee_multiplier)


DEFAULT_SERIES_FEE = SeriesFee()


def fee_cents(
    surface: str,
    instrument: str,
    price: Decimal,
    quantity: int,
    terms: FeeTerms,
    *,
    series: SeriesFee = DEFAULT_SERIES_FEE,
    usd_quote_rate: Decimal | None = None,
) -> int:
    """The fee for one fill (entry or exit), from the venue's schedule in ``shared.money.fees``.

    Kalshi: the series' taker fee. Stocks: IBKR's fixed-rate commission. FX: the per-million commission on the
    notional in USD (0 on OANDA's standard account, where the cost is the spread already in the fill price).
    """
    kind = kind_of(surface)
    try:
        if kind == "binary":
            return kalshi_fee_cents(quantity, price * CENTS, fee_type=series.fee_type,
                                    fee_multiplier=series.multiplier)
        if kind == "equity":
            return ibkr_commission_cents(quantity, price, per_share=terms.stock_per_share,
                                         minimum_cents=terms.stock_min_cents, max_pct_of_value=terms.stock_max_pct)
        return fx_commission_cents(quantity, base_to_account=_usd_per_base_unit(instrument, price, usd_quote_rate),
                                   per_million_cents=terms.fx_per_million_cents)
    except UnsupportedInstrument:
        raise
    except ValueError as exc:  # a flat-fee series, a price out of range: the fill cannot be priced honestly
        raise UnsupportedInstrument(f"{instrument}: {exc}") from None


# ------------------------------------------------------------------------------------------------------------ P&L
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


def bracket_pnl(
    instrument: str,
    surface: str,
    side: str,
    quantity: int,
    fill: Decimal,
    exit_price: Decimal,
    *,
    usd_quote_rate: Decimal | None = None,
) -> int:
    """Gross P&L in USD cents of an FX or stock position closed at ``exit_price`` (a cross needs its USD rate)."""
    sign = Decimal(1) if is_buy(side) else Decimal(-1)
    quote_pnl = (exit_price - fill) * Decimal(quantity) * sign
    if kind_of(surface) == "fx":
        try:
            # USD_XXX converts at the exit rate, a cross at its USD_<quote> rate
            quote_pnl = quote_to_usd(quote_pnl, instrument, exit_price, usd_quote_rate=usd_quote_rate)
        except NotAPair as exc:
            raise UnsupportedInstrument(str(exc)) from None
        except MissingRate as exc:
            raise UnsupportedInstrument(f"{exc} (no quote for it)") from None
    return int((quote_pnl * CENTS).to_integral_value(rounding=ROUND_HALF_EVEN))
