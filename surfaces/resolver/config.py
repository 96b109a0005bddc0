"""Env keys of the resolver (envs/resolver.env)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config import CsvList, ProcessSettings
from shared.surfaces import SURFACE_TABLE


class ResolverSettings(ProcessSettings):
    tick_seconds: float = Field(default=2.0, gt=0)
    # Each surface's own env file: the resolver reaches a surface's venue with that surface's credentials.
    surface_envs: CsvList = tuple(f"{spec.name}={spec.default_env}" for spec in SURFACE_TABLE.values())
    weather_settlement: Literal["kalshi", "nws"] = "kalshi"
    nws_user_agent: str = "(tbot resolver, operator@example.com)"
