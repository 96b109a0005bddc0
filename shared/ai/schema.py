"""What goes into the ensemble and what comes out: the question, each model's answer, the combined result.

Probability convention: every ``p`` here is the probability that the question resolves **YES** (for a binary
market) or that the **long** side wins (for FX / stocks: the long bracket's take-profit is hit before its stop).
A caller that picks the other side uses :meth:`EnsembleResult.p_for_side`: ``p_model`` for ``no``/``short`` is
``1 - p``. Confidence and spread are side-independent.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.records import Price, Probability, Record, Surface, UtcTime

AbstainReason = Literal[
    "timeout",
    "rate_limited",
    "server_error",
    "connection_error",
    "auth_error",
    "bad_request",
    "unparseable",
    "out_of_range",
    "empty_response",
    "cost_cap",
    "error",
]
"""Why a model gave no usable answer. An abstention is never counted as a 0.5."""


class MarketQuestion(BaseModel):
    """One question put to the ensemble.

    ``context`` is the research the models see (JSON-serialisable); it is hashed with the question text and the
    category into the cache key, so changing the research asks again and an unchanged question is never paid
    for twice. ``p_market`` is *not* shown to the LLMs (their forecasts stay independent of the price) and is not
    part of the key; the offline model uses it with the optional ``features`` (each in [-1, 1], positive
    favouring YES / long; e.g. a normalised trend).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    market_id: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=2000)
    p_market: Probability
    category: str = ""
    context: dict[str, Any] = Field(default_factory=dict)
    features: dict[str, float] = Field(default_factory=dict)

    @field_validator("features")
    @classmethod
    def _features_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, feature in value.items():
            if not math.isfinite(feature) or not -1.0 <= feature <= 1.0:
                raise ValueError(f"feature {name!r} = {feature!r} is not in [-1, 1]")
        return value

    @field_validator("context")
    @classmethod
    def _context_is_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            json.dumps(value, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"context must be JSON-serialisable without NaN: {exc}") from None
        return value

    def context_hash(self) -> str:
        """SHA-256 over what the LLMs are shown: question, category and context (canonical JSON)."""
        shown = {"question": self.question, "category": self.category, "context": self.context}
        canonical = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


class ModelAnswer(BaseModel):
    """One model's answer to one question, or its abstention with the reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    provider: str
    weight: float = Field(ge=0)
    p: Probability | None = None
    confidence: Probability | None = None
    rationale: str = ""
    abstained: bool
    reason: AbstainReason | None = None
    detail: str = Field(default="", description="Short diagnostic for an abstention; never holds a secret")
    latency_ms: int = Field(default=0, ge=0)
    attempts: int = Field(default=0, ge=0)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cost_usd: Price = Decimal(0)
    cached: bool = False


class EnsembleResult(BaseModel):
    """The combined forecast. ``models`` names the models whose answers made ``p`` (put it on the signal)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    market_id: str
    context_hash: str
    p: Probability = Field(description="P(YES) / P(long wins): weighted mean over answering models")
    model_spread: float = Field(ge=0, description="Weighted standard deviation of the answering models' p")
    confidence: Probability
    models: tuple[str, ...]
    answers: tuple[ModelAnswer, ...]
    unreliable: bool
    reasons: tuple[str, ...] = ()
    cost_usd: Price = Field(default=Decimal(0), description="New spend of this call (cache hits cost nothing)")
    cost_capped: bool = False

    def p_for_side(self, side: str) -> float:
        """The probability that ``side`` wins: ``p`` for yes/long, ``1 - p`` for no/short."""
        if side in ("yes", "long"):
            return self.p
        if side in ("no", "short"):
            return 1.0 - self.p
        raise ValueError(f"unknown side {side!r}")

    def to_context(self) -> dict[str, Any]:
        """JSON for ``Decision.context["ensemble"]``: the audit trail the calibration history reads back."""
        data: dict[str, Any] = json.loads(self.model_dump_json())
        return data


class LlmCost(Record):
    """One paid LLM call (answered or not), appended to ``logs/<surface>/costs.jsonl``.

    Cost is recorded twice on purpose: ``cost_usd`` exact (Decimal string) for audit, and ``cost_micro_usd``,
    the integer micro-dollars rounded *up*, which spend totals add (exact integer sums; rounding up means the
    cap can only err on the safe side). An answered call also carries its answer, so the log doubles as the
    persistent cache: a restarted loop reloads the answers still within the TTL instead of paying again.
    """

    KIND: ClassVar[str] = "llm_cost"
    kind: Literal["llm_cost"] = "llm_cost"
    surface: Surface
    at: UtcTime
    provider: str
    model: str
    market_id: str
    context_hash: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: Price
    cost_micro_usd: int = Field(ge=0)
    latency_ms: int = Field(ge=0)
    attempts: int = Field(ge=0)
    outcome: Literal["answered", "abstained"]
    reason: AbstainReason | None = None
    answer: Mapping[str, Any] | None = None
