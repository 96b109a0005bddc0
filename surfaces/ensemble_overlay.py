"""The LLM ensemble as a second opinion: on LT it *is* the model; on FX and stocks it is blended with the
strategy's own probability, and their disagreement counts as model spread (the confidence gate reads it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Protocol

from shared.ai.schema import EnsembleResult, MarketQuestion
from surfaces.strategy import Proposal, Strategy, TickContext, clamp_probability


class Predictor(Protocol):
    def predict(self, question: MarketQuestion) -> EnsembleResult: ...


def ensemble_context(result: EnsembleResult) -> dict[str, Any]:
    """What the decision record keeps of an ensemble call: every model's answer, the spread and the cost."""
    return {
        "model_answers": [answer.model_dump(mode="json") for answer in result.answers],
        "ensemble": {"p": result.p, "model_spread": result.model_spread, "confidence": result.confidence,
                     "unreliable": result.unreliable, "reasons": list(result.reasons),
                     "cost_usd": str(result.cost_usd), "cost_capped": result.cost_capped},
    }


class EnsembleOverlay:
    """Wraps a bracket strategy: each proposal is put to the ensemble and the two probabilities are blended."""

    def __init__(self, inner: Strategy, ensemble: Predictor, strategy_weight: float = 1.0,
                 ensemble_weight: float = 1.0) -> None:
        self.inner = inner
        self.name = inner.name
        self.ensemble = ensemble
        self.strategy_weight = strategy_weight
        self.ensemble_weight = ensemble_weight

    def propose(self, tick: TickContext) -> Iterator[Proposal]:
        return (self._blend(p) for p in self.inner.propose(tick))

    def _blend(self, proposal: Proposal) -> Proposal:
        instrument = proposal.instrument
        question = MarketQuestion(
            market_id=instrument.symbol,
            question=(f"Will {instrument.title or instrument.symbol} reach the take-profit {proposal.take_profit} "
                      f"before the stop-loss {proposal.stop_loss}, entering {proposal.side} at {proposal.price}?"),
            p_market=proposal.p_market if proposal.side == "long" else 1.0 - proposal.p_market,
            category=instrument.category,
            context={k: str(v) for k, v in proposal.context.items()},
            # Directional hint in [-1, 1], positive favouring long: the strategy's tilt over the driftless odds.
            features={"strategy_tilt": _signed_tilt(proposal)},
        )
        result = self.ensemble.predict(question)
        p_ensemble = result.p_for_side(proposal.side)
        w_s, w_e = self.strategy_weight, self.ensemble_weight
        p_model = clamp_probability((w_s * proposal.p_model + w_e * p_ensemble) / (w_s + w_e))
        # The spread of the combined opinion: the ensemble's own spread and the strategy-vs-ensemble gap.
        spread = math.sqrt(result.model_spread**2 + ((proposal.p_model - p_ensemble) / 2) ** 2)
        return replace(
            proposal,
            p_model=p_model,
            model_spread=spread,
            confidence=min(proposal.confidence, result.confidence) if result.models else proposal.confidence,
            models=(*proposal.models, *result.models),
            context={**proposal.context, **ensemble_context(result), "strategy_p": proposal.p_model},
        )


def _signed_tilt(proposal: Proposal) -> float:
    tilt = max(-1.0, min(1.0, (proposal.p_model - proposal.p_market) / 0.1))
    return tilt if proposal.side == "long" else -tilt
