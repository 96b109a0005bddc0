"""BTC 15-minute up/down: where the price sits against the strike, how much time is left, and which way the
order book and momentum lean, behind an ATR volatility-regime gate (no trades in dead or wild markets).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from shared.venues.base import Candle, Instrument, OrderBook, VenueError
from surfaces.binary import best_side, normal_cdf
from surfaces.indicators import atr, rate_of_change
from surfaces.strategy import Proposal, TickContext, clamp_probability


class Btc15mStrategy:
    name = "btc_15m"

    def __init__(self, reference_symbol: str = "BTCUSDT", atr_period: int = 14, roc_lookback: int = 5,
                 min_atr_fraction: float = 0.0001, max_atr_fraction: float = 0.01,
                 imbalance_weight: float = 0.05, momentum_weight: float = 0.2) -> None:
        self.reference_symbol = reference_symbol
        self.atr_period = atr_period
        self.roc_lookback = roc_lookback
        self.min_atr_fraction = min_atr_fraction
        self.max_atr_fraction = max_atr_fraction
        self.imbalance_weight = imbalance_weight
        self.momentum_weight = momentum_weight

    def propose(self, tick: TickContext) -> Iterator[Proposal]:
        markets = [i for i in tick.instruments if i.category == "crypto" and i.status == "open"]
        if not markets:
            return
        try:
            candles = tick.venue.candles(self.reference_symbol, 60, self.atr_period + self.roc_lookback + 2)
        except VenueError:
            return
        for instrument in markets:
            proposal = self._evaluate(tick, instrument, candles)
            if proposal is not None:
                yield proposal

    def _evaluate(self, tick: TickContext, instrument: Instrument, candles: list[Candle]) -> Proposal | None:
        if instrument.floor_strike is None or instrument.close_time is None or not candles:
            return None
        minutes_left = (instrument.close_time - tick.now).total_seconds() / 60
        if minutes_left <= 0.5:
            return None
        average_range = atr(candles, self.atr_period)
        momentum = rate_of_change([c.close for c in candles], self.roc_lookback)
        spot = candles[-1].close
        if average_range is None or momentum is None or spot <= 0:
            return None
        regime = float(average_range / spot)
        if not self.min_atr_fraction <= regime <= self.max_atr_fraction:
            return None
        try:
            book = tick.venue.orderbook(instrument.symbol, depth=5)
            quote = tick.venue.quote(instrument.symbol)
        except VenueError:
            return None
        imbalance = book_imbalance(book)
        # Per-minute volatility ≈ ATR/price. Drift from recent momentum, damped and bounded to half a standard
        # deviation of the remaining move: at this scale momentum fades, and extrapolating it made p overconfident.
        sigma = regime * math.sqrt(minutes_left)
        raw_drift = self.momentum_weight * float(momentum) / self.roc_lookback * minutes_left
        drift = max(-0.5 * sigma, min(0.5 * sigma, raw_drift))
        log_moneyness = math.log(float(spot / instrument.floor_strike))
        p_up = normal_cdf((log_moneyness + drift) / sigma) if sigma > 0 else (1.0 if log_moneyness > 0 else 0.0)
        p_yes = clamp_probability(p_up + self.imbalance_weight * imbalance)
        chosen = best_side(p_yes, quote)
        if chosen is None:
            return None
        side, price, p_model, p_market = chosen
        return Proposal(
            sub_strategy=self.name,
            instrument=instrument,
            side=side,  # type: ignore[arg-type]
            price=price,
            p_model=p_model,
            p_market=p_market,
            confidence=max(0.0, min(1.0, 0.5 + abs(p_yes - 0.5))),
            models=("strategy:btc_15m",),
            context={"spot": str(spot), "strike": str(instrument.floor_strike), "minutes_left": round(minutes_left, 2),
                     "atr_fraction": round(regime, 6), "roc": str(momentum), "imbalance": round(imbalance, 4)},
        )


def book_imbalance(book: OrderBook) -> float:
    """(YES bid depth − NO bid depth) / total over the levels shown, in [−1, 1]. NO bids appear as YES asks."""
    yes = sum(level.size for level in book.bids)
    no = sum(level.size for level in book.asks)
    total = yes + no
    return 0.0 if total == 0 else (yes - no) / total


