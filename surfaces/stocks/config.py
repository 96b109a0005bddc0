"""Env keys of the US equities surface (envs/stk.env)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shared.ai.settings import EnsembleSettings
from shared.config import CsvList, SurfaceSettings
from surfaces.brackets import BracketSettings
from surfaces.loop_settings import LoopSettings


class StkSettings(SurfaceSettings, BracketSettings, EnsembleSettings, LoopSettings):
    # Cash equities need larger positions than a binary contract: with IBKR's $1 minimum per order, a $500 position
    # pays its whole edge in commission. These override the shared defaults for this surface only.
    bankroll_cents: int = Field(default=2_500_000, gt=0)
    max_position_pct: Decimal = Field(default=Decimal("0.20"), gt=0, le=1)
    max_position_cents: int = Field(default=500_000, gt=0)
    per_market_cap_cents: int = Field(default=500_000, gt=0)
    daily_loss_limit_cents: int = Field(default=125_000, gt=0)
    weekly_loss_limit_cents: int = Field(default=375_000, gt=0)
    underlying_concentration_pct: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    # Every stock is in the one "equity" category, so the category cap is the surface's total exposure.
    category_concentration_pct: Decimal = Field(default=Decimal("0.90"), gt=0, le=1)
    stock_symbols: CsvList = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AMD", "NFLX", "CRM")
    strategy_weight: float = Field(default=1.0, ge=0)
    ensemble_weight: float = Field(default=1.0, ge=0)
