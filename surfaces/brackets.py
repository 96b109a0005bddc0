"""ATR-bracketed trend entries, shared by the FX and stocks surfaces.

The entry: trend (fast EMA above/below slow EMA) confirmed by momentum (rate of change), taken only when the
volatility regime is normal (ATR as a fraction of price inside a band). The stop and the target sit at configured
ATR multiples. With no edge at all, a driftless price hits a target ``tp`` away before a stop ``sl`` away with
probability sl / (sl + tp): that is the market-implied probability; the trend tilts it by a bounded amount.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.venues.base import Candle, Instrument, Quote, VenueError
from surfaces.indicators import atr, ema, rate_of_change
from surfaces.strategy import Proposal, TickContext, clamp_probability


@dataclass(frozen=True)
class BracketParams:
    granularity_s: int = 3600
    atr_period: int = 14
    ema_fast: int = 12
    ema_slow: int = 48
    roc_lookback: int = 6
    sl_atr_mult: Decimal = Decimal("1.5")
    tp_atr_mult: Decimal = Decimal("2.0")
    max_tilt: float = 0.08
    min_atr_fraction: Decimal = Decimal("0.0002")
    max_atr_fraction: Decimal = Decimal("0.05")


class AtrBracketStrategy:
    """Proposes one bracketed entry per instrument when trend and momentum agree."""

    def __init__(self, name: str, params: BracketParams, symbols: tuple[str, ...]) -> None:
        self.name = name
        self.params = params
        self.symbols = symbols

    def propose(self, tick: TickContext) -> Iterator[Proposal]:
        wanted = set(self.symbols)
        for instrument in tick.instruments:
            if instrument.symbol not in wanted:
                continue
            proposal = self._evaluate(tick, instrument)
            if proposal is not None:
                yield proposal

    def _evaluate(self, tick: TickContext, instrument: Instrument) -> Proposal | None:
        p = self.params
        need = max(p.ema_slow, p.atr_period + 1, p.roc_lookback + 1) + 2
        try:
            candles = tick.venue.candles(instrument.symbol, p.granularity_s, need)
            quote = tick.venue.quote(instrument.symbol)
        except VenueError:
            return None  # no quote (closed market, halted instrument): nothing to propose this tick
        return bracket_proposal(self.name, instrument, candles, quote, p)


def bracket_proposal(
    name: str, instrument: Instrument, candles: list[Candle], quote: Quote, p: BracketParams
) -> Proposal | None:
    """The pure decision: candles and a quote in, at most one proposal out."""
    closes = [c.close for c in candles]
    average_range = atr(candles, p.atr_period)
    fast, slow = ema(closes, p.ema_fast), ema(closes, p.ema_slow)
    momentum = rate_of_change(closes, p.roc_lookback)
    if None in (average_range, fast, slow, momentum) or quote.bid is None or quote.ask is None:
        return None
    assert average_range is not None and fast is not None and slow is not None and momentum is not None
    last = closes[-1]
    if last <= 0 or average_range <= 0:
        return None
    regime = average_range / last
    if not p.min_atr_fraction <= regime <= p.max_atr_fraction:
        return None
    if fast > slow and momentum > 0:
        side = "long"
    elif fast < slow and momentum < 0:
        side = "short"
    else:
        return None
    sl_distance = p.sl_atr_mult * average_range
    tp_distance = p.tp_atr_mult * average_range
    entry = quote.ask if side == "long" else quote.bid
    sign = Decimal(1) if side == "long" else Decimal(-1)
    # Venues reject prices finer than the instrument's tick (OANDA: PRICE_PRECISION_EXCEEDED): quantize, and keep
    # the stop at least one tick away from the entry.
    tick = instrument.tick_size
    stop_loss = (entry - sign * max(sl_distance, tick)).quantize(tick, rounding=ROUND_HALF_EVEN)
    take_profit = (entry + sign * max(tp_distance, tick)).quantize(tick, rounding=ROUND_HALF_EVEN)
    p_market = float(sl_distance / (sl_distance + tp_distance))
    # Momentum measured in ATRs: how many average bars the last lookback moved, capped, sets the tilt.
    strength = min(Decimal(1), abs(momentum) * last / (average_range * p.roc_lookback))
    trend_gap = min(Decimal(1), abs(fast - slow) / average_range)
    tilt = p.max_tilt * float((strength + trend_gap) / 2)
    p_model = clamp_probability(p_market + tilt)
    bars_per_hour = Decimal(3600) / Decimal(p.granularity_s)
    eta_hours = float(sl_distance / (average_range * bars_per_hour))
    return Proposal(
        sub_strategy=name,
        instrument=instrument,
        side=side,
        price=entry,
        p_model=p_model,
        p_market=p_market,
        confidence=0.5 + float(strength + trend_gap) / 4,
        models=(f"strategy:{name}",),
        stop_loss=stop_loss,
        take_profit=take_profit,
        eta_hours=eta_hours,
        context={
            "atr": str(average_range),
            "ema_fast": str(fast),
            "ema_slow": str(slow),
            "roc": str(momentum),
            "sl_distance": str(sl_distance),
            "tp_distance": str(tp_distance),
            "spread": str(quote.ask - quote.bid),
        },
    )


class BracketSettings(BaseSettings):
    """Env keys for ATR-bracket surfaces (fx, stocks)."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=False)

    bracket_granularity_s: int = Field(default=3600, gt=0)
    atr_period: int = Field(default=14, ge=2)
    ema_fast: int = Field(default=12, ge=2)
    ema_slow: int = Field(default=48, ge=3)
    roc_lookback: int = Field(default=6, ge=1)
    sl_atr_mult: Decimal = Field(default=Decimal("1.5"), gt=0)
    tp_atr_mult: Decimal = Field(default=Decimal("2.0"), gt=0)
    max_tilt: float = Field(default=0.08, ge=0, le=0.3)

    def bracket_params(self) -> BracketParams:
        return BracketParams(
            granularity_s=self.bracket_granularity_s, atr_period=self.atr_period, ema_fast=self.ema_fast,
            ema_slow=self.ema_slow, roc_lookback=self.roc_lookback, sl_atr_mult=self.sl_atr_mult,
            tp_atr_mult=self.tp_atr_mult, max_tilt=self.max_tilt,
        )
