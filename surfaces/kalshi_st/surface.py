"""Wiring of the Kalshi short-term surface (PM2 app st-bot-loop)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.venues.base import Venue
from shared.venues.factory import build_forecast
from surfaces.assemble import assemble, refuse_uncalibrated_live
from surfaces.kalshi_st.config import StSettings
from surfaces.kalshi_st.crypto import Btc15mStrategy
from surfaces.kalshi_st.sports import BookOdds, SportsConsensusStrategy
from surfaces.kalshi_st.weather import WeatherHighStrategy
from surfaces.loop import SurfaceLoop
from surfaces.strategy import Strategy

SETTINGS = StSettings


class NoOdds:
    """No sports odds feed is configured: sports markets are seen but never priced (so never traded)."""

    def odds_for(self, instrument: object) -> list[BookOdds]:
        return []


def strategies(settings: StSettings) -> Callable[[Venue], Sequence[Strategy]]:
    def make(venue: Venue) -> Sequence[Strategy]:
        chosen: list[Strategy] = []
        if "weather_high" in settings.st_strategies:
            forecast = build_forecast(settings, venue.clock, "kalshi_st")
            chosen.append(WeatherHighStrategy(forecast, settings.weather_kernel_sd, settings.weather_horizon_days))
        if "btc_15m" in settings.st_strategies:
            chosen.append(Btc15mStrategy(settings.btc_reference_symbol,
                                         min_atr_fraction=settings.btc_min_atr_fraction,
                                         max_atr_fraction=settings.btc_max_atr_fraction))
        if "sports_devig" in settings.st_strategies:
            chosen.append(SportsConsensusStrategy(NoOdds(), settings.sports_min_books))
        return chosen

    return make


def build(settings: StSettings, *, process_name: str = "st-bot-loop", allow_uncalibrated: bool = False,
          **overrides: object) -> SurfaceLoop:
    refuse_uncalibrated_live(settings, "kalshi_st", allow_uncalibrated)
    return assemble(settings, surface="kalshi_st", kind="binary", process_name=process_name,
                    strategies=strategies(settings), **overrides)  # type: ignore[arg-type]
