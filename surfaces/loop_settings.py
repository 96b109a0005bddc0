"""Env keys every surface loop shares beyond SurfaceSettings: the live-start calibration check, how repeated
denials are summarised in the decision log, how often a heartbeat is written, how binary orders are sent (take,
or rest as a maker: surfaces/resting.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
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
    order_style: Literal["take", "rest", "rest_then_take"] = Field(
        default="take",
        description="binary venues: take (IOC at the decision's price) | rest (post-only at or one tick inside the "
                    "best bid for REST_SECONDS, then cancelled) | rest_then_take (rest, then take what is left at "
                    "the decision's price if the book still offers it); FX/stocks always take",
    )
    order_style_overrides: str = Field(
        default="", description="per sub-strategy styles, e.g. 'weather_high=rest,btc_15m=take' (empty: none)",
    )
    rest_seconds: float = Field(default=600.0, gt=0, description="how long a resting order works (venue seconds)")
    resting_on_restart: Literal["adopt", "cancel"] = Field(
        default="cancel",
        description="a resting order a restart finds at the venue: cancel it (a crash leaves a stale quote) or adopt "
                    "it (watched until REST_SECONDS after the restart, moved or cancelled on price only)",
    )

    @field_validator("order_style_overrides")
    @classmethod
    def _overrides(cls, value: str) -> str:
        from surfaces.resting import parse_style_overrides

        parse_style_overrides(value)
        return value
