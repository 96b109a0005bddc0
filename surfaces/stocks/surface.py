"""Wiring of the US equities surface (PM2 app st-stocks-loop). Market hours: the venue quotes nothing outside
them, so the bracket strategy proposes nothing then."""

from __future__ import annotations

from shared.clock import WallClock
from surfaces.assemble import assemble, ensemble_for, refuse_uncalibrated_live
from surfaces.brackets import AtrBracketStrategy
from surfaces.ensemble_overlay import EnsembleOverlay
from surfaces.loop import SurfaceLoop
from surfaces.stocks.config import StkSettings

SETTINGS = StkSettings


def build(settings: StkSettings, *, process_name: str = "st-stocks-loop", allow_uncalibrated: bool = False,
          **overrides: object) -> SurfaceLoop:
    refuse_uncalibrated_live(settings, "stocks", allow_uncalibrated)
    ensemble = ensemble_for(settings, "stocks", WallClock())
    strategy = EnsembleOverlay(
        AtrBracketStrategy("stk_atr_trend", settings.bracket_params(), settings.stock_symbols),
        ensemble, settings.strategy_weight, settings.ensemble_weight)
    return assemble(settings, surface="stocks", kind="equity", process_name=process_name,
                    strategies=lambda venue: [strategy], api_spend_cents=ensemble.spend_today_cents,
                    **overrides)  # type: ignore[arg-type]
