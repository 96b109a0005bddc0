"""The LLM ensemble as a second opinion: on LT it *is* the model; on FX and stocks it is blended with the
strategy's own probability, and their disagreement counts as model spread (the confidence gate reads it).

What the models are asked about a bracket: will the instrument rise by one distance before it falls by another
(always from the long side, so ``p`` is P(long wins) as ``shared.ai.schema`` defines it), with the distances in
price units (two significant figures) and in ATRs, and the expected time to the stop. Never the quote, the entry
or the SL/TP levels (which give the price away), nor the strategy's own features (EMAs, momentum, its tilt): a
second opinion that reads the first one's inputs is an echo, and its agreement would lower ``model_spread`` for
nothing. Without any LLM answer (no key, or every model abstained) there is no second opinion: the proposal
stays the strategy's alone, its ``model_spread`` None and its record labelled "strategy only".
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from shared.ai.schema import EnsembleResult, MarketQuestion
from shared.ai.settings import OFFLINE_MODEL
from surfaces.strategy import Proposal, Strategy, TickContext, clamp_probability


class Predictor(Protocol):
    def predict(self, question: MarketQuestion) -> EnsembleResult: ...


def ensemble_context(result: EnsembleResult) -> dict[str, Any]:
    """What the decision record keeps of an ensemble call: every model's answer, the spread, what ``p`` stands on
    and the cost."""
    return {
        "model_answers": [answer.model_dump(mode="json") for answer in result.answers],
        "ensemble": {"p": result.p, "model_spread": result.model_spread, "confidence": result.confidence,
                     "opinions": result.opinions, "unreliable": result.unreliable, "reasons": list(result.reasons),
                     "cost_usd": str(result.cost_usd), "cost_capped": result.cost_capped},
        "opinions": result.opinions,
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
        result = self.ensemble.predict(bracket_question(proposal))
        context = {**proposal.context, **ensemble_context(result), "strategy_p": proposal.p_model}
        if not result.llm_answered:
            # The offline baseline is the market's own odds, not an opinion: nothing to blend, no spread to report.
            # Keys configured but no model answered (outage, cost cap): the second opinion the operator asked for
            # is missing, so the confidence drops to 0 and the gate stops it, as on LT.
            keyless = all(answer.model == OFFLINE_MODEL for answer in result.answers)
            return replace(
                proposal,
                model_spread=None,
                confidence=proposal.confidence if keyless else 0.0,
                context={**context, "opinions": "strategy only" if keyless else "strategy only: no model answered"},
            )
        p_ensemble = result.p_for_side(proposal.side)
        w_s, w_e = self.strategy_weight, self.ensemble_weight
        p_model = clamp_probability((w_s * proposal.p_model + w_e * p_ensemble) / (w_s + w_e))
        # The spread of the combined opinion: the ensemble's own spread (none for a single model) and the
        # strategy-vs-ensemble gap (half the gap is the standard deviation of two equally weighted opinions).
        spread = math.sqrt((result.model_spread or 0.0) ** 2 + ((proposal.p_model - p_ensemble) / 2) ** 2)
        count = len(result.models)
        return replace(
            proposal,
            p_model=p_model,
            model_spread=spread,
            confidence=min(proposal.confidence, result.confidence),
            models=(*proposal.models, *result.models),
            context={**context, "opinions": f"strategy + {count} model{'s' if count > 1 else ''}"},
        )


def bracket_question(proposal: Proposal) -> MarketQuestion:
    """The bracket as the models see it: distances and times, no price (see the module docstring)."""
    instrument = proposal.instrument
    if proposal.take_profit is None or proposal.stop_loss is None:
        raise ValueError(f"{instrument.symbol}: a bracket proposal needs its take-profit and stop-loss")
    reward = abs(proposal.take_profit - proposal.price)
    risk = abs(proposal.price - proposal.stop_loss)
    up, down = (reward, risk) if proposal.side == "long" else (risk, reward)
    name = instrument.title or instrument.symbol
    context: dict[str, Any] = {"instrument": instrument.symbol}
    atr = proposal.context.get("atr")
    if atr is not None and Decimal(str(atr)) > 0:
        context["rise_in_atrs"] = _two_figures(up / Decimal(str(atr)))
        context["fall_in_atrs"] = _two_figures(down / Decimal(str(atr)))
    if proposal.eta_hours is not None:
        context["expected_hours_to_stop"] = round(proposal.eta_hours, 1)
    return MarketQuestion(
        market_id=instrument.symbol,
        question=f"Will {name} rise by {_two_figures(up)} before it falls by {_two_figures(down)}?",
        # P(long wins) with no drift, for the offline baseline only (never shown to a model).
        p_market=proposal.p_market if proposal.side == "long" else 1.0 - proposal.p_market,
        category=instrument.category,
        context=context,
    )


def _two_figures(value: Decimal) -> str:
    """Two significant figures: the distances change a little every bar, and a question that changed with them
    would miss the answer cache (and pay for a call) on every tick."""
    if value <= 0:
        return "0"
    return f"{float(value):.2g}" if value < 100 else str(int(value.quantize(Decimal(1))))
