"""What a surface hands the risk chain: a :class:`Candidate` (a would-be entry) or an :class:`ExitRequest`.

A candidate is fully priced and sized by the surface before it reaches the chain (use ``shared.money.edge`` and
``shared.money.sizing``): the chain re-derives the edge from these fields rather than trusting a number.

Units: ``price`` / ``current_price`` are the price of the side bought (binary: dollars per contract, e.g. the NO
price is 1 − YES bid; FX/stocks: the quote the order would fill at); ``quantity`` is centi-contracts (Kalshi), units
(FX) or shares; ``cost_cents`` is the cash (binary, stocks) or margin (FX) the position ties up, fees excluded;
``fee_cents`` is the entry fee for a binary contract, and the expected round-trip costs (spread + commission) for
a bracket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shared.money.edge import as_decimal
from shared.records import SURFACES

BINARY_SIDES = frozenset({"yes", "no"})
BRACKET_SIDES = frozenset({"long", "short"})
_SIDES = BINARY_SIDES | BRACKET_SIDES


class CandidateError(ValueError):
    """A candidate that cannot be evaluated (missing or inconsistent fields)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A would-be entry on one surface. ``candidate_id`` is the id the signal will be published under."""

    candidate_id: str
    surface: str
    sub_strategy: str
    venue: str
    instrument: str
    side: str
    price: Decimal
    current_price: Decimal
    quantity: int
    cost_cents: int
    fee_cents: int
    p_model: float
    p_market: float
    confidence: float
    model_spread: float | None = None  # None: fewer than two independent opinions, so no disagreement to measure
    models: tuple[str, ...] = ()
    category: str = ""
    underlying: str = ""
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    quote_to_account: Decimal = Decimal(1)
    title: str = ""
    p_model_decimal: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validated here, once, at the edge: the chain builds its decision records from these fields without
        # validating them again (see RiskChain.decision).
        if self.surface not in SURFACES:
            raise CandidateError(f"unknown surface {self.surface!r}")
        if self.side not in _SIDES:
            raise CandidateError(f"unknown side {self.side!r}")
        for name in ("candidate_id", "sub_strategy", "venue", "instrument", "category", "underlying", "title"):
            if not isinstance(getattr(self, name), str):
                raise CandidateError(f"{name} must be a string")
        if not self.candidate_id or not self.instrument:
            raise CandidateError("candidate_id and instrument must not be empty")
        if not isinstance(self.models, tuple) or not all(isinstance(m, str) for m in self.models):
            raise CandidateError("models must be a tuple of strings")
        for name in ("quantity", "cost_cents", "fee_cents"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise CandidateError(f"{name} must be an integer (cents, centi-contracts, units or shares)")
        for name in ("p_model", "p_market", "confidence", "model_spread"):
            value = getattr(self, name)
            if value is None and name == "model_spread":
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
                raise CandidateError(f"{name} must be a number")
            if type(value) is not float:  # the decision record holds floats: an int 1 becomes 1.0, as validation would
                object.__setattr__(self, name, float(value))
        if not isinstance(self.price, Decimal) or not isinstance(self.current_price, Decimal):
            raise CandidateError("price and current_price must be Decimal (never float)")
        if self.quantity < 0 or self.cost_cents < 0 or self.fee_cents < 0:
            raise CandidateError("quantity, cost and fees must be non-negative")
        for name in ("p_model", "p_market", "confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise CandidateError(f"{name} out of [0, 1]: {value}")
        if self.model_spread is not None and self.model_spread < 0:
            raise CandidateError("model_spread must be non-negative")
        # Converted once here rather than in every edge computation (frozen: set through object.__setattr__).
        object.__setattr__(self, "p_model_decimal", as_decimal(self.p_model))

    @property
    def is_binary(self) -> bool:
        return self.side in BINARY_SIDES


@dataclass(frozen=True, slots=True)
class ExitRequest:
    """Closing or cancelling an existing position: always allowed, never gated (halts block new risk only)."""

    surface: str
    instrument: str
    side: str
    trade_id: str = ""
    sub_strategy: str = ""
    reason: str = ""
    kind: str = "exit"  # "exit" (close a position) or "cancel" (pull a resting order)

    def __post_init__(self) -> None:
        if self.surface not in SURFACES:
            raise CandidateError(f"unknown surface {self.surface!r}")
        if self.side not in _SIDES:
            raise CandidateError(f"unknown side {self.side!r}")
        if self.kind not in ("exit", "cancel"):
            raise CandidateError(f"unknown exit kind {self.kind!r}")
