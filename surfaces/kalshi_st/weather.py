"""Weather highs: a forecast ensemble turned into the probability of each temperature bracket, against its price.

Each ensemble member is widened by a kernel (member error is about 1.5 °F at a day's range), so the probability
of a bracket is the mean over members of P(high in bracket | member). The spread of the members sets confidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.datasources.forecast import HighTempForecast
from shared.venues.base import Instrument, VenueError
from shared.venues.kalshi.tickers import SERIES_STATIONS, event_day
from surfaces.binary import best_side, integer_outcome_probability
from surfaces.strategy import Proposal, TickContext, clamp_probability


# Kalshi's daily-high series and the station each settles on (kalshi.md §5: Chicago = Midway, LA = LAX, ...).
@dataclass(frozen=True, slots=True)
class MemberStats:
    members: tuple[float, ...]
    mean: float
    sd: float


class WeatherHighStrategy:
    name = "weather_high"

    def __init__(self, forecast: HighTempForecast, kernel_sd: float = 1.5, horizon_days: int = 2) -> None:
        self.forecast = forecast
        self.kernel_sd = kernel_sd
        self.horizon = timedelta(days=horizon_days)
        # P(YES) per market for the forecast it was computed from: brackets are re-priced only when it changes.
        self._p_yes: dict[str, tuple[tuple[float, ...], float | None]] = {}

    def propose(self, tick: TickContext) -> Iterator[Proposal]:
        cache: dict[tuple[str, date], MemberStats] = {}
        listed = set()
        for instrument in tick.instruments:
            if instrument.category != "weather" or instrument.status != "open":
                continue
            listed.add(instrument.symbol)
            proposal = self._evaluate(tick, instrument, cache)
            if proposal is not None:
                yield proposal
        # New tickers list every day: keep the memo to the markets still open, or it grows for ever.
        for symbol in self._p_yes.keys() - listed:
            del self._p_yes[symbol]

    def _evaluate(
        self, tick: TickContext, instrument: Instrument, cache: dict[tuple[str, date], MemberStats]
    ) -> Proposal | None:
        series = instrument.symbol.split("-")[0]
        station = instrument.attributes.get("station") or SERIES_STATIONS.get(series)
        day = event_day(instrument.underlying or instrument.symbol)
        if station is None or day is None or not _within(tick.now, day, self.horizon):
            return None
        key = (station, day)
        if key not in cache:
            cache[key] = _stats(self.forecast.daily_high_members(station, day))
        stats = cache[key]
        if len(stats.members) < 2:
            return None
        p_yes = self._probability(instrument, stats.members)
        if p_yes is None:
            return None
        try:
            quote = tick.venue.quote(instrument.symbol)
        except VenueError:
            return None
        chosen = best_side(p_yes, quote)
        if chosen is None:
            return None
        side, price, p_model, p_market = chosen
        spread_f = stats.sd
        return Proposal(
            sub_strategy=self.name,
            instrument=instrument,
            side=side,  # type: ignore[arg-type]
            price=price,
            p_model=p_model,
            p_market=p_market,
            confidence=max(0.0, min(1.0, 1.0 - spread_f / 10.0)),
            models=("strategy:weather_high",),
            context={"station": station, "day": day.isoformat(), "members": len(stats.members),
                     "member_mean": round(stats.mean, 2), "member_sd": round(spread_f, 2),
                     "p_yes": round(p_yes, 4)},
        )


    def _probability(self, instrument: Instrument, members: tuple[float, ...]) -> float | None:
        """Mean over members of P(YES | member), each member widened by the kernel; memoised per forecast."""
        cached = self._p_yes.get(instrument.symbol)
        if cached is not None and cached[0] == members:
            return cached[1]
        probabilities = [integer_outcome_probability(instrument, m, self.kernel_sd) for m in members]
        p_yes = None if any(p is None for p in probabilities) else \
            clamp_probability(math.fsum(p for p in probabilities if p is not None) / len(probabilities))
        self._p_yes[instrument.symbol] = (members, p_yes)
        return p_yes


def _stats(members: list[float]) -> MemberStats:
    values = tuple(members)
    if not values:
        return MemberStats(values, 0.0, 0.0)
    mean = math.fsum(values) / len(values)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
    return MemberStats(values, mean, sd)


def _within(now: datetime, day: date, horizon: timedelta) -> bool:
    return now.date() - timedelta(days=1) <= day <= (now + horizon).date()
