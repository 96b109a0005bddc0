"""What a strategy hands the loop: proposals with a probability, before fees, sizing and the risk chain."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from shared.records import Side
from shared.venues.base import Instrument, Venue


@dataclass(frozen=True, slots=True)
class Proposal:
    """A trade a strategy would like to take.

    ``price`` is the price of what is bought: for a binary, the price of the chosen side (YES ask, or 1 − YES bid
    for NO); for FX/STK the entry (ask for long, bid for short). ``p_model`` and ``p_market`` are probabilities
    that the chosen side wins (for brackets: that the take-profit is hit before the stop).
    """

    sub_strategy: str
    instrument: Instrument
    side: Side
    price: Decimal
    p_model: float
    p_market: float
    confidence: float
    model_spread: float | None = None  # disagreement of independent models; None on one opinion (not agreement)
    models: tuple[str, ...] = ()
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    eta_hours: float | None = None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TickContext:
    """What a strategy sees on one tick."""

    venue: Venue
    now: datetime  # venue time
    instruments: tuple[Instrument, ...]


class Strategy(Protocol):
    name: str

    def propose(self, tick: TickContext) -> Iterable[Proposal]:
        """Proposals for this tick, yielded as each is priced so the loop can act on it at once (a market's
        signal does not wait for the rest of the scan); most ticks propose little or nothing."""
        ...


def clamp_probability(p: float, low: float = 0.01, high: float = 0.99) -> float:
    """Keep a model's probability away from 0 and 1: no model here is sure enough to bet at those odds."""
    return min(high, max(low, p))
