"""The deterministic offline model: what answers when no LLM key is configured, labelled ``offline-baseline``.

It starts from the market-implied probability and moves it in logit space:

    logit(p) = logit(b) + slope * (logit(p_market) - logit(b)) + feature_weight * mean(features)

``b`` is the base rate (``LLM_OFFLINE_BASE_RATE``). ``slope < 1`` shrinks the market toward the base rate;
``slope > 1`` (the default, 1.1) moves it away, a mild correction for the favourite-longshot bias of
prediction markets (long shots tend to be overpriced, favourites underpriced). The features are the caller's
directional hints in [-1, 1] (positive favours YES / long, e.g. a normalised trend). The result is clipped to
[0.01, 0.99]. Same inputs, same output: no randomness, no clock, no network. Its confidence is the configured
``LLM_OFFLINE_CONFIDENCE``.
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
    slope: float = 1.1
    feature_weight: float = 0.3
    confidence: float = 0.6

    def probability(self, question: MarketQuestion) -> float:
        """P(YES / long) for a question; deterministic."""
        anchor = _logit(self.base_rate)
        x = anchor + self.slope * (_logit(question.p_market) - anchor)
        if question.features:
            # Sorted so the float sum is the same whatever order the caller built the dict in.
            values = [question.features[name] for name in sorted(question.features)]
            x += self.feature_weight * math.fsum(values) / len(values)
        return min(max(_sigmoid(x), _P_FLOOR), 1.0 - _P_FLOOR)

    def answer(self, question: MarketQuestion, *, confidence: float | None = None) -> ModelAnswer:
        """The offline model's answer (free, instant, never an abstention)."""
        return ModelAnswer(
            model=OFFLINE_MODEL,
            provider="offline",
            weight=1.0,
            p=self.probability(question),
            confidence=self.confidence if confidence is None else confidence,
            rationale="market-implied probability, adjusted in logit space around the base rate with the features",
            abstained=False,
        )
