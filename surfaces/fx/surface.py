"""Wiring of the FX surface (PM2 app st-forex-loop)."""

from __future__ import annotations

from shared.clock import WallClock
from surfaces.assemble import assemble, ensemble_for, refuse_uncalibrated_live
from surfaces.brackets import AtrBracketStrategy
from surfaces.ensemble_overlay import EnsembleOverlay
from surfaces.fx.config import FxSettings
from surfaces.loop import SurfaceLoop

SETTINGS = FxSettings


def build(settings: FxSettings, *, process_name: str = "st-forex-loop", allow_uncalibrated: bool = False,
          **overrides: object) -> SurfaceLoop:
    refuse_uncalibrated_live(settings, "fx", allow_uncalibrated)
    ensemble = ensemble_for(settings, "fx", WallClock())
    strategy = EnsembleOverlay(AtrBracketStrategy("fx_atr_trend", settings.bracket_params(), settings.fx_pairs),
                               ensemble, settings.strategy_weight, settings.ensemble_weight)
    return assemble(settings, surface="fx", kind="fx", process_name=process_name,
                    strategies=lambda venue: [strategy], api_spend_cents=ensemble.spend_today_cents,
                    fx_margin_rate=settings.fx_margin_rate, **overrides)  # type: ignore[arg-type]
