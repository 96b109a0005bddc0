"""Env keys of the Kalshi long-term surface (envs/lt.env)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.ai.settings import EnsembleSettings
from shared.config import CsvList, SurfaceSettings
from surfaces.loop_settings import LoopSettings


class LtSettings(SurfaceSettings, EnsembleSettings, LoopSettings):
    kalshi_order_api: Literal["v1", "v2"] = "v2"
    kalshi_series: CsvList = ("KXFEDDECISION",)
    lt_categories: CsvList = ("politics", "macro", "economics", "world")
    lt_max_markets_per_tick: int = Field(default=20, ge=1, le=500)
    lt_trend_window_hours: float = Field(default=6.0, gt=0, le=24 * 30)
    lt_trend_scale: float = Field(default=0.10, gt=0, le=1)
