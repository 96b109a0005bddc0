"""The deterministic offline baseline: what answers when no LLM key is configured, labelled ``offline-baseline``.

It is the market's own probability, optionally moved in logit space around a base rate:

    logit(p) = logit(b) + slope * (logit(p_market) - logit(b))

``b`` is ``LLM_OFFLINE_BASE_RATE`` and ``slope`` is ``LLM_OFFLINE_SLOPE``. The default slope 1 returns the market
itself: with no model there is no opinion, so the baseline claims no edge (after fees it has a negative one) and
its confidence (``LLM_OFFLINE_CONFIDENCE``, default 0.3) sits below the default ``MIN_CONFIDENCE``. ``slope > 1``
is an explicit favourite-longshot correction (long shots overpriced, favourites underpriced) an operator may
choose; ``slope < 1`` shrinks toward the base rate.

It reads nothing but the market price and its own parameters. It used to add the caller's features (the
strategy's own trend or tilt), which made it an echo of the strategy that then lowered ``model_spread`` as if a
second model agreed; a baseline is not a second opinion, so callers do not blend it into a strategy and the
ensemble reports no spread for it. The result is clipped to [0.01, 0.99]. Same inputs, same output: no
randomness, no clock, no network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.ai.schema import MarketQuestion, ModelAnswer
from shared.ai.settings import OFFLINE_MODEL

_P_FLOOR = 0.01


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@dataclass(frozen=True, slots=True)
class OfflineModel:
    """The offline baseline's parameters (from ``LLM_OFFLINE_*``)."""

    base_rate: float = 0.5
    slope: float = 1.0
    confidence: float = 0.3

    def probability(self, question: MarketQuestion) -> float:
        """P(YES / long) for a question, from its market probability alone; deterministic."""
        if self.slope == 1.0:
            return min(max(question.p_market, _P_FLOOR), 1.0 - _P_FLOOR)  # exactly the market, no float round trip
        anchor = _logit(self.base_rate)
        x = anchor + self.slope * (_logit(question.p_market) - anchor)
        return min(max(_sigmoid(x), _P_FLOOR), 1.0 - _P_FLOOR)

    def answer(self, question: MarketQuestion, *, confidence: float | None = None) -> ModelAnswer:
        """The offline baseline's answer (free, instant, never an abstention)."""
        rationale = (
            "the market-implied probability: no model opinion"
            if self.slope == 1.0
            else f"the market-implied probability with a logit slope of {self.slope} around {self.base_rate}"
        )
        return ModelAnswer(
            model=OFFLINE_MODEL,
            provider="offline",
            weight=1.0,
            p=self.probability(question),
            confidence=self.confidence if confidence is None else confidence,
            rationale=rationale,
            abstained=False,
        )
