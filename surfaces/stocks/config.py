"""Env keys of the US equities surface (envs/stk.env)."""

from __future__ import annotations

from pydantic import Field

from shared.ai.settings import EnsembleSettings
from shared.config import CsvList, SurfaceSettings
from surfaces.brackets import BracketSettings
from surfaces.loop_settings import LoopSettings


class StkSettings(SurfaceSettings, BracketSettings, EnsembleSettings, LoopSettings):
    stock_symbols: CsvList = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AMD", "NFLX", "CRM")
    strategy_weight: float = Field(default=1.0, ge=0)
    ensemble_weight: float = Field(default=1.0, ge=0)
