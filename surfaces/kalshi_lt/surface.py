"""Wiring of the Kalshi long-term surface (PM2 app st-lt-loop)."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import WallClock
from surfaces.assemble import assemble, ensemble_for, refuse_uncalibrated_live
from surfaces.kalshi_lt.config import LtSettings
from surfaces.kalshi_lt.strategy import LongTermEnsembleStrategy
from surfaces.loop import SurfaceLoop

SETTINGS = LtSettings


def build(settings: LtSettings, *, process_name: str = "st-lt-loop", allow_uncalibrated: bool = False,
          **overrides: object) -> SurfaceLoop:
    refuse_uncalibrated_live(settings, "kalshi_lt", allow_uncalibrated)
    ensemble = ensemble_for(settings, "kalshi_lt", WallClock())
    return assemble(
        settings, surface="kalshi_lt", kind="binary", process_name=process_name,
        strategies=lambda venue: [LongTermEnsembleStrategy(
            ensemble, settings.lt_categories, settings.lt_max_markets_per_tick,
            trend_window=timedelta(hours=settings.lt_trend_window_hours), trend_scale=settings.lt_trend_scale)],
        api_spend_cents=ensemble.spend_today_cents, **overrides,  # type: ignore[arg-type]
    )
