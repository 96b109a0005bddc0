"""Env keys of the Kalshi short-term surface (envs/st.env)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config import CsvList, SurfaceSettings
from surfaces.loop_settings import LoopSettings


class StSettings(SurfaceSettings, LoopSettings):
    kalshi_order_api: Literal["v1", "v2"] = "v2"
    kalshi_series: CsvList = ("KXHIGHNY", "KXHIGHCHI", "KXHIGHLAX", "KXHIGHAUS", "KXBTC15M")
    st_strategies: CsvList = ("weather_high", "btc_15m", "sports_devig")
    weather_kernel_sd: float = Field(default=1.5, gt=0, le=10)
    weather_horizon_days: int = Field(default=2, ge=0, le=7)
    btc_reference_symbol: str = "BTCUSDT"
    btc_min_atr_fraction: float = Field(default=0.0001, ge=0)
    btc_max_atr_fraction: float = Field(default=0.01, gt=0)
    sports_min_books: int = Field(default=3, ge=1)
