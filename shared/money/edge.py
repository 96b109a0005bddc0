"""Edge after fees: binary contracts (both sides) and ATR brackets (FX, stocks).

Conventions:
- A binary contract's price is the price of the side bought, in dollars: buying YES pays the YES ask; buying NO
  pays ``1 − YES bid`` (the NO ask implied by the YES book).
- ``p_win`` is the probability that the side bought wins (for a bracket: that the take-profit is hit before the
  stop-loss), the same meaning as ``Signal.p_model``.
- ``edge`` (what ``Signal.edge`` and the minimum-edge gate use) is in **probability points after fees**: for a
  binary, ``p_win − price − fee per contract``, which is also the expected profit of one contract in dollars
  (0.03 = 3¢ a contract). A longshot's return on stake can look large on a tiny edge (a 2¢ contract with
  p = 0.03 "returns" 40 % on a 1¢ edge), so the ratio is only recorded beside it, as ``roi``, never gated on.
- For a bracket the same quantity is ``p_win − p_breakeven``: the probability above the one at which the
  bracket's expected value after costs is zero, ``p_breakeven = (risk + costs) / (reward + risk)``. It equals
  ``EV / (reward + risk)``, the EV per unit of the bracket's full swing. A binary contract is the bracket with
  reward ``1 − price``, risk ``price`` and costs the fee, so the two definitions agree and one ``MIN_EDGE``
  means the same thing on every surface. For a driftless price ``sl / (sl + tp)`` is the no-edge probability
  (``p_market``), so a bracket's edge is ``p_model − p_market − costs / (reward + risk)``.
Decimal arithmetic throughout; probabilities arrive as floats and are converted through their shortest repr.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from shared.money.fees import KalshiFeeType, kalshi_fee_cents

ONE = Decimal(1)
_HUNDRED = Decimal(100)


def as_decimal(value: float | Decimal | int) -> Decimal:
    """A probability or ratio as Decimal via its shortest repr (0.1 -> Decimal('0.1'), not 0.1000000000000000055)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value))


@dataclass(frozen=True, slots=True)
class BinaryEdge:
    """One side of a binary contract, priced and charged."""

    side: Literal["yes", "no"]
    price: Decimal  # dollars per contract for the side bought
    fee_per_contract: Decimal  # dollars
    edge: Decimal  # p_win − price − fee: probability points after fees = expected dollars per contract
    roi: Decimal  # edge / (price + fee): expected return on the stake, recorded beside the edge, never gated on

    @property
    def positive(self) -> bool:
        return self.edge > 0


def binary_edge(
    side: Literal["yes", "no"], p_win: float | Decimal, price: Decimal, fee_cents: int, count_centi: int
) -> BinaryEdge:
    """Edge after fees of buying ``count_centi`` centi-contracts of ``side`` at ``price``, paying ``fee_cents``.

    ``fee_cents`` is the fee for the whole order; per contract it is ``fee_cents / count_centi`` dollars (cents
    over hundredths of a contract).
    """
    if not Decimal(0) < price < ONE:
        raise ValueError(f"binary price must be strictly between 0 and 1: {price}")
    if count_centi <= 0:
        raise ValueError("count must be positive to price an edge")
    p = as_decimal(p_win)
    if not Decimal(0) <= p <= ONE:
        raise ValueError(f"p_win out of [0, 1]: {p_win}")
    fee_per_contract = Decimal(fee_cents) / Decimal(count_centi)  # cents / (count/100) / 100 = dollars
    edge = p - price - fee_per_contract
    return BinaryEdge(side, price, fee_per_contract, edge, edge / (price + fee_per_contract))


def side_price(side: Literal["yes", "no"], yes_bid: Decimal, yes_ask: Decimal) -> Decimal:
    """What one contract of ``side`` costs a taker: the YES ask, or 1 − the YES bid for NO."""
    return yes_ask if side == "yes" else ONE - yes_bid


def binary_side_edges(
    p_yes: float | Decimal,
    yes_bid: Decimal,
    yes_ask: Decimal,
    count_centi: int,
    *,
    maker: bool = False,
    fee_type: KalshiFeeType = "quadratic",
    fee_multiplier: Decimal = ONE,
) -> dict[str, BinaryEdge]:
    """Both sides of a binary market priced off its YES book, each after the Kalshi fee for ``count_centi``.

    A side whose price is not strictly inside (0, 1) (an empty book side) is left out.
    """
    if yes_bid > yes_ask:
        raise ValueError(f"crossed book: bid {yes_bid} > ask {yes_ask}")
    p = as_decimal(p_yes)
    out: dict[str, BinaryEdge] = {}
    for side, p_win in (("yes", p), ("no", ONE - p)):
        price = side_price(side, yes_bid, yes_ask)  # type: ignore[arg-type]
        if not Decimal(0) < price < ONE:
            continue
        fee = kalshi_fee_cents(
            count_centi, price * _HUNDRED, maker=maker, fee_type=fee_type, fee_multiplier=fee_multiplier
        )
        out[side] = binary_edge(side, p_win, price, fee, count_centi)  # type: ignore[arg-type]
    return out


@dataclass(frozen=True, slots=True)
class BracketEV:
    """The expected value of a stop-loss / take-profit bracket, in account cents."""

    ev_cents: Decimal  # p × TP gain − (1 − p) × SL loss − costs
    reward_cents: Decimal  # gain if TP is hit, before costs
    risk_cents: Decimal  # loss if SL is hit, before costs
    costs_cents: int
    edge: Decimal  # ev / (reward + risk) = p_win − p_breakeven: probability points after costs
    roi: Decimal  # ev / (risk + costs): expected return per dollar put at risk, recorded beside the edge

    @property
    def positive(self) -> bool:
        return self.ev_cents > 0

    @property
    def p_breakeven(self) -> Decimal:
        """The probability of TP first at which the bracket's EV after costs is zero."""
        return (self.risk_cents + self.costs_cents) / (self.reward_cents + self.risk_cents)


def bracket_ev(
    side: Literal["long", "short"],
    p_win: float | Decimal,
    entry: Decimal,
    take_profit: Decimal,
    stop_loss: Decimal,
    units: int,
    costs_cents: int,
    *,
    quote_to_account: Decimal = ONE,
) -> BracketEV:
    """EV of an ATR bracket: p_win × TP distance − (1 − p_win) × SL distance − costs, for ``units``, and its edge
    in probability points, ``EV / (reward + risk)`` (see the module docstring).

    Distances are in the quote currency per unit, converted to account cents with ``quote_to_account``.
    The bracket must be on the right sides of the entry (long: SL < entry < TP; short: TP < entry < SL).
    """
    if units <= 0:
        raise ValueError("units must be positive to price a bracket")
    if costs_cents < 0:
        raise ValueError("costs must be non-negative")
    if side == "long":
        if not stop_loss < entry < take_profit:
            raise ValueError(f"long bracket needs SL < entry < TP: {stop_loss} / {entry} / {take_profit}")
        tp_distance, sl_distance = take_profit - entry, entry - stop_loss
    else:
        if not take_profit < entry < stop_loss:
            raise ValueError(f"short bracket needs TP < entry < SL: {take_profit} / {entry} / {stop_loss}")
        tp_distance, sl_distance = entry - take_profit, stop_loss - entry
    p = as_decimal(p_win)
    if not Decimal(0) <= p <= ONE:
        raise ValueError(f"p_win out of [0, 1]: {p_win}")
    scale = Decimal(units) * quote_to_account * _HUNDRED
    reward, risk = tp_distance * scale, sl_distance * scale
    ev = p * reward - (ONE - p) * risk - costs_cents
    return BracketEV(ev, reward, risk, costs_cents, ev / (reward + risk), ev / (risk + costs_cents))
