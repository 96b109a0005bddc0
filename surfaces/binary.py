"""Helpers for binary (Kalshi-style) markets: which side to buy, and the probability maths the strategies share."""

from __future__ import annotations

import math
from decimal import Decimal

from shared.venues.base import Instrument, Quote


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def best_side(p_yes: float, quote: Quote) -> tuple[str, Decimal, float, float] | None:
    """The side with the larger raw edge: (side, price paid, p_model of that side, p_market of that side).

    YES is bought at the YES ask; NO at 1 − YES bid (the NO ask). None if neither side has a price or an edge.
    """
    options: list[tuple[str, Decimal, float, float]] = []
    if quote.ask is not None and Decimal(0) < quote.ask < Decimal(1):
        options.append(("yes", quote.ask, p_yes, float(quote.ask)))
    if quote.bid is not None and Decimal(0) < quote.bid < Decimal(1):
        no_price = Decimal(1) - quote.bid
        options.append(("no", no_price, 1.0 - p_yes, float(no_price)))
    scored = [(p - float(price), option) for option in options for p, price in [(option[2], option[1])]]
    scored = [item for item in scored if item[0] > 0]
    if not scored:
        return None
    return max(scored, key=lambda item: item[0])[1]


def integer_outcome_probability(instrument: Instrument, mean: float, sd: float) -> float | None:
    """P(YES) for a market on a whole-number outcome (a daily high in °F) with a normal belief N(mean, sd).

    between [floor, cap]: floor ≤ x ≤ cap; less (cap n): x < n; greater (floor n): x > n — Kalshi's strike types.
    """
    kind = instrument.strike_type
    if kind == "between" and instrument.floor_strike is not None and instrument.cap_strike is not None:
        low, high = float(instrument.floor_strike) - 0.5, float(instrument.cap_strike) + 0.5
        return normal_cdf((high - mean) / sd) - normal_cdf((low - mean) / sd)
    if kind in ("less", "less_or_equal") and instrument.cap_strike is not None:
        edge = float(instrument.cap_strike) - (0.5 if kind == "less" else -0.5)
        return normal_cdf((edge - mean) / sd)
    if kind in ("greater", "greater_or_equal") and instrument.floor_strike is not None:
        edge = float(instrument.floor_strike) + (0.5 if kind == "greater" else -0.5)
        return 1.0 - normal_cdf((edge - mean) / sd)
    return None
