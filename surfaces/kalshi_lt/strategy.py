"""Long-dated political and macro markets, priced by the LLM ensemble (or the offline baseline without keys).

The models see the market's title, category, close time and strikes: never its price. The quote is read only to
choose the side and price the trade. The market's own trend (how far its mid moved over ``trend_window``) is
recorded in each decision for research (does the price drift toward the result, as a sim that leaks the outcome
would show?) and is shown to no model: it is the market's price in another form, and an anchored model agrees
with the market and with the other models, which empties both the edge and the disagreement signal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from shared.ai.schema import MarketQuestion
from shared.venues.base import Instrument, VenueError
from surfaces.binary import best_side
from surfaces.ensemble_overlay import Predictor, ensemble_context
from surfaces.strategy import Proposal, TickContext


class LongTermEnsembleStrategy:
    name = "lt_ensemble"

    def __init__(self, ensemble: Predictor, categories: tuple[str, ...], max_markets_per_tick: int = 20,
                 trend_window: timedelta = timedelta(hours=6), trend_scale: float = 0.10) -> None:
        self.ensemble = ensemble
        self.categories = set(categories)
        self.max_markets = max_markets_per_tick
        self.trend_window = trend_window
        self.trend_scale = trend_scale
        self._history: dict[str, deque[tuple[datetime, Decimal]]] = {}

    def trend(self, symbol: str, now: datetime, mid: Decimal) -> float:
        """How far the market's own mid moved over the trend window, scaled to [-1, 1]; recorded in the decision
        for research, never a model input (see the module docstring). Observed across ticks; no history yet is 0.
        """
        history = self._history.setdefault(symbol, deque(maxlen=512))
        history.append((now, mid))
        while len(history) > 2 and history[1][0] <= now - self.trend_window:
            history.popleft()
        then, past = history[0]
        if then > now - self.trend_window / 2:
            return 0.0
        return max(-1.0, min(1.0, float(mid - past) / self.trend_scale))

    def propose(self, tick: TickContext) -> Iterator[Proposal]:
        markets = [i for i in tick.instruments if i.status == "open" and i.category in self.categories]
        for instrument in markets[: self.max_markets]:
            proposal = self._evaluate(tick, instrument)
            if proposal is not None:
                yield proposal
        # Closed markets leave the history: it holds only what is still listed.
        for symbol in self._history.keys() - {i.symbol for i in markets}:
            del self._history[symbol]

    def _evaluate(self, tick: TickContext, instrument: Instrument) -> Proposal | None:
        try:
            quote = tick.venue.quote(instrument.symbol)
        except VenueError:
            return None
        mid = quote.mid
        if mid is None or not 0 < mid < 1:
            return None
        market_trend = self.trend(instrument.symbol, tick.now, mid)
        question = MarketQuestion(
            market_id=instrument.symbol,
            question=instrument.title or instrument.symbol,
            p_market=float(mid),  # for the offline baseline only; never shown to a model
            category=instrument.category,
            context=market_facts(instrument),
        )
        result = self.ensemble.predict(question)
        if not result.models:
            return None  # every model abstained: no opinion is not a 0.5
        chosen = best_side(result.p, quote)
        if chosen is None:
            return None
        side, price, p_model, p_market = chosen
        return Proposal(
            sub_strategy=self.name, instrument=instrument, side=side,  # type: ignore[arg-type]
            price=price, p_model=p_model, p_market=p_market, confidence=result.confidence,
            model_spread=result.model_spread, models=result.models,
            context={**ensemble_context(result), "market_trend": market_trend},
        )


def market_facts(instrument: Instrument) -> dict[str, str]:
    """What the models are told about a market besides its title and category: when it closes and its strikes.
    Nothing here moves with the price, so an unchanged market keeps its cache key (no paid call per tick)."""
    facts = {"close_time": instrument.close_time.isoformat() if instrument.close_time else ""}
    if instrument.strike_type:
        facts["strike_type"] = instrument.strike_type
    for name in ("floor_strike", "cap_strike"):
        value = getattr(instrument, name)
        if value is not None:
            facts[name] = str(value)
    return facts
