"""The dashboard's settings: one frozen pydantic-settings model, loaded from ``envs/dashboard.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from shared.config import CsvList, ProcessSettings


class DashboardSettings(ProcessSettings):
    """Keys of ``st-dashboard`` (``tbot dashboard --env envs/dashboard.env``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    dashboard_api_token: SecretStr | None = Field(
        default=None, description="Operator bearer token; guards every operator endpoint and page"
    )
    signal_key_path: Path = Path("logs/keys/operator_ed25519.pem")
    env_dir: Path = Field(default=Path("envs"), description="Where the surfaces' env files live (bankroll, caps)")

    # Subscriber feed
    feed_default_wait_seconds: float = Field(default=25.0, ge=0, le=55)
    feed_max_wait_seconds: float = Field(default=55.0, gt=0, le=55)
    feed_default_limit: int = Field(default=100, ge=1, le=1000)
    feed_max_limit: int = Field(default=500, ge=1, le=1000)
    feed_fast_path: bool = Field(default=True, description="Serve the feed from a lean ASGI handler")
    signal_retention_seconds: int = Field(default=3600, ge=700, description="How long signals stay in memory")
    history_max_limit: int = Field(default=500, ge=1, le=5000)

    # Abuse limits
    rate_limit_per_second: float = Field(default=5.0, gt=0)
    rate_limit_burst: int = Field(default=30, ge=1)
    max_body_bytes: int = Field(default=16_384, ge=256, le=1_048_576)
    cors_origins: CsvList = ()

    # Operator views
    min_cohort: int = Field(default=3, ge=1, description="Subscriber aggregates over fewer are suppressed")
    heartbeat_stale_seconds: int = Field(default=60, gt=0)
    equity_max_points: int = Field(default=400, ge=10)
    pm2_bin: Path = Path("node_modules/.bin/pm2")
    pm2_home: Path = Path(".pm2")
    metrics_public: bool = Field(default=False, description="Serve /metrics without the operator token")

    # Public demo page
    demo_delay_seconds: int = Field(default=900, ge=0)
    demo_cache_seconds: int = Field(default=60, ge=0, le=86_400)

    @model_validator(mode="after")
    def _live_needs_token(self) -> DashboardSettings:
        if self.trading_mode == "live":
            token = self.dashboard_api_token
            if token is None or len(token.get_secret_value()) < 16:
                raise ValueError(
                    "DASHBOARD_API_TOKEN: required (16+ characters) when TRADING_MODE=live; the dashboard refuses "
                    "to start without it"
                )
        if self.feed_default_wait_seconds > self.feed_max_wait_seconds:
            raise ValueError("FEED_DEFAULT_WAIT_SECONDS: must not exceed FEED_MAX_WAIT_SECONDS")
        if self.feed_default_limit > self.feed_max_limit:
            raise ValueError("FEED_DEFAULT_LIMIT: must not exceed FEED_MAX_LIMIT")
        return self
