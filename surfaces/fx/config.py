"""Env keys of the FX surface (envs/fx.env)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shared.ai.settings import EnsembleSettings
from shared.config import CsvList, SurfaceSettings
from surfaces.brackets import BracketSettings
from surfaces.loop_settings import LoopSettings


class FxSettings(SurfaceSettings, BracketSettings, EnsembleSettings, LoopSettings):
    fx_pairs: CsvList = ("EUR_USD", "GBP_USD", "USD_JPY", "USD_CHF", "AUD_USD", "USD_CAD", "NZD_USD", "EUR_JPY")
    fx_margin_rate: Decimal = Field(default=Decimal("0.02"), gt=0, le=1, description="Margin per unit notional")
    strategy_weight: float = Field(default=1.0, ge=0)
    ensemble_weight: float = Field(default=1.0, ge=0)
