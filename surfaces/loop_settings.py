"""Env keys every surface loop shares beyond SurfaceSettings: the live-start calibration check, how repeated
denials are summarised in the decision log, how often a heartbeat is written."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LoopSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=False)

    calibration_tolerance: float = Field(default=0.10, gt=0, le=1, description="Max expected calibration error")
    calibration_min_samples: int = Field(default=50, ge=1, description="Resolved trades before calibration counts")
    decision_repeat_summary_seconds: float = Field(
        default=300.0, ge=0,
        description="A denial repeating the last decision for the same market, side and sub-strategy is counted, "
                    "not written; the count is written when the streak ends, at shutdown and at least this often "
                    "(0: write every decision)",
    )
    heartbeat_seconds: float = Field(
        default=10.0, ge=0,
        description="write a heartbeat at most this often (wall seconds; 0: every tick); the dashboard calls a "
                    "process stale after HEARTBEAT_STALE_SECONDS (60) without one",
    )
