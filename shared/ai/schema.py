"""What goes into the ensemble and what comes out: the question, each model's answer, the combined result.

Probability convention: every ``p`` here is the probability that the question resolves **YES** (for a binary
market) or that the **long** side wins (for FX / stocks: the long bracket's take-profit is hit before its stop).
A caller that picks the other side uses :meth:`EnsembleResult.p_for_side`: ``p_model`` for ``no``/``short`` is
``1 - p``. Confidence and spread are side-independent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.ai.blind import blind_context
from shared.ai.settings import OFFLINE_MODEL
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

log = logging.getLogger(__name__)


class MarketQuestion(BaseModel):
    """One question put to the ensemble.

    ``context`` is the research the models see (JSON-serialisable); it is hashed with the question text and the
    category into the cache key, so changing the research asks again and an unchanged question is never paid
    for twice. No market price reaches the models (their forecasts stay independent of the price): a context key
    that names one (bid, ask, mid, price, p_market, a trend in price terms, ...; ``shared.ai.blind``) is removed
    here, with a warning naming it, before anything is hashed or sent. ``p_market`` (the market-implied
    probability) is kept beside the question for the offline baseline only; it is not shown to the LLMs and is not
    part of the cache key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    market_id: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=2000)
    p_market: Probability
    category: str = ""
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("context")
    @classmethod
    def _context_is_json_without_prices(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        try:
            json.dumps(value, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"context must be JSON-serialisable without NaN: {exc}") from None
        clean, removed = blind_context(value)
        if removed:
            log.warning(
                "%s: market-price keys %s removed from the models' context (forecasts stay independent of the price)",
                info.data.get("market_id", "?"), ", ".join(removed),
            )
        return clean

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
    """The combined forecast. ``models`` names the models whose answers made ``p`` (put it on the signal).

    ``model_spread`` measures agreement only where there is some to measure: it is None when fewer than two
    models answered (one LLM, or the offline baseline alone), never a 0 that would read as full agreement.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    market_id: str
    context_hash: str
    p: Probability = Field(description="P(YES) / P(long wins): weighted mean over answering models")
    model_spread: float | None = Field(
        ge=0, description="Weighted standard deviation of the answering models' p; None with fewer than two"
    )
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

    @property
    def llm_answered(self) -> bool:
        """True if at least one LLM answered (the offline baseline alone is no model opinion)."""
        return any(model != OFFLINE_MODEL for model in self.models)

    @property
    def opinions(self) -> str:
        """What ``p`` stands on, for the decision record: ``"3 models"``, ``"single model"`` or
        ``"offline baseline only"``."""
        if not self.llm_answered:
            return "offline baseline only"
        return "single model" if len(self.models) == 1 else f"{len(self.models)} models"

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
