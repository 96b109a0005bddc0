"""Weather highs: a forecast ensemble turned into the probability of each temperature bracket, against its price.

Each ensemble member is widened by a kernel (member error is about 1.5 °F at a day's range), so the probability
of a bracket is the mean over members of P(high in bracket | member). The spread of the members sets confidence.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta

from shared.datasources.forecast import HighTempForecast
from shared.venues.base import Instrument, VenueError
from surfaces.binary import best_side, integer_outcome_probability
from surfaces.strategy import Proposal, TickContext, clamp_probability

# Kalshi's daily-high series and the station each settles on (kalshi.md §5: Chicago = Midway, LA = LAX, ...).
SERIES_STATIONS = {
    "KXHIGHNY": "KNYC",
    "KXHIGHCHI": "KMDW",
    "KXHIGHLAX": "KLAX",
    "KXHIGHAUS": "KAUS",
    "KXHIGHPHX": "KPHX",
    "KXHIGHHOU": "KIAH",
    "KXHIGHSFO": "KSFO",
}
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}


def climate_day(event_ticker: str) -> date | None:
    """The day in a weather event ticker: ``KXHIGHNY-25DEC27`` -> 2025-12-27."""
    try:
        stamp = event_ticker.split("-")[1]
        return date(2000 + int(stamp[:2]), _MONTHS[stamp[2:5]], int(stamp[5:7]))
    except (IndexError, KeyError, ValueError):
        return None


class WeatherHighStrategy:
    name = "weather_high"

    def __init__(self, forecast: HighTempForecast, kernel_sd: float = 1.5, horizon_days: int = 2) -> None:
        self.forecast = forecast
        self.kernel_sd = kernel_sd
        self.horizon = timedelta(days=horizon_days)

    def propose(self, tick: TickContext) -> list[Proposal]:
        proposals = []
        cache: dict[tuple[str, date], list[float]] = {}
        for instrument in tick.instruments:
            if instrument.category != "weather" or instrument.status != "open":
                continue
            proposal = self._evaluate(tick, instrument, cache)
            if proposal is not None:
                proposals.append(proposal)
        return proposals

    def _evaluate(
        self, tick: TickContext, instrument: Instrument, cache: dict[tuple[str, date], list[float]]
    ) -> Proposal | None:
        series = instrument.symbol.split("-")[0]
        station = instrument.attributes.get("station") or SERIES_STATIONS.get(series)
        day = climate_day(instrument.underlying or instrument.symbol)
        if station is None or day is None or not _within(tick.now, day, self.horizon):
            return None
        key = (station, day)
        if key not in cache:
            cache[key] = self.forecast.daily_high_members(station, day)
        members = cache[key]
        if len(members) < 2:
            return None
        probabilities = [integer_outcome_probability(instrument, m, self.kernel_sd) for m in members]
        if any(p is None for p in probabilities):
            return None
        p_yes = clamp_probability(sum(p for p in probabilities if p is not None) / len(probabilities))
        try:
            quote = tick.venue.quote(instrument.symbol)
        except VenueError:
            return None
        chosen = best_side(p_yes, quote)
        if chosen is None:
            return None
        side, price, p_model, p_market = chosen
        spread_f = statistics.pstdev(members)
        return Proposal(
            sub_strategy=self.name,
            instrument=instrument,
            side=side,  # type: ignore[arg-type]
            price=price,
            p_model=p_model,
            p_market=p_market,
            confidence=max(0.0, min(1.0, 1.0 - spread_f / 10.0)),
            models=("strategy:weather_high",),
            context={"station": station, "day": day.isoformat(), "members": len(members),
                     "member_mean": round(statistics.fmean(members), 2), "member_sd": round(spread_f, 2),
                     "p_yes": round(p_yes, 4)},
        )


def _within(now: datetime, day: date, horizon: timedelta) -> bool:
    return now.date() - timedelta(days=1) <= day <= (now + horizon).date()
