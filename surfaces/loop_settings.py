"""Env keys every surface loop shares beyond SurfaceSettings: the live-start calibration check."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LoopSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=False)

    calibration_tolerance: float = Field(default=0.10, gt=0, le=1, description="Max expected calibration error")
    calibration_min_samples: int = Field(default=50, ge=1, description="Resolved trades before calibration counts")
