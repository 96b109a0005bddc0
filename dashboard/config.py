"""The dashboard's settings: one frozen pydantic-settings model, loaded from ``envs/dashboard.env``."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from shared.audit.subscribers import DEFAULT_MIN_COHORT
from shared.config import ConfigError, CsvList, ProcessSettings, load_settings, parse_env_file

# Shells and platforms set HOST and PORT for their own reasons (zsh sets HOST to the machine's name): taken from
# the environment they could expose the dashboard on a public interface. They come from the env file only.
_FILE_ONLY = frozenset({"host", "port"})


class _EnvironmentWithout(PydanticBaseSettingsSource):
    """The environment source minus the keys that must come from the env file."""

    def __init__(self, inner: PydanticBaseSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return {key: value for key, value in self.inner().items() if key not in _FILE_ONLY}


def proxy_addresses(value: tuple[str, ...]) -> tuple[str, ...]:
    """``TRUSTED_PROXIES`` entries must each be an IP address or a CIDR network (the dashboard's and the edges')."""
    for entry in value:
        # "*" (uvicorn's trust-everyone) is exactly what let any client choose its own address.
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError("each entry must be an IP address or a CIDR network") from None
    return value


class FileOnlyAddress(ProcessSettings):
    """A listening process's settings: HOST and PORT come from its env file only, never the environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _EnvironmentWithout(env_settings), dotenv_settings, file_secret_settings


class DashboardSettings(FileOnlyAddress):
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
    operator_auth_failure_burst: int = Field(
        default=10, ge=1, description="Failed operator authentications (bearer, cookie or login) per client address "
        "before it gets 429"
    )
    operator_auth_failure_window_seconds: float = Field(
        default=300.0, gt=0, description="Time over which that allowance refills"
    )
    trusted_proxies: CsvList = Field(
        default=(), description="Reverse proxies (IP or CIDR) whose X-Forwarded-For names the client; empty = none"
    )

    # Operator views
    min_cohort: int = Field(
        default=DEFAULT_MIN_COHORT, ge=1, description="A subscriber figure aggregating fewer subscribers is suppressed"
    )
    heartbeat_stale_seconds: int = Field(default=60, gt=0)
    equity_max_points: int = Field(default=400, ge=10)
    pm2_bin: Path = Path("node_modules/.bin/pm2")
    pm2_home: Path = Path(".pm2")
    metrics_public: bool = Field(default=False, description="Serve /metrics without the operator token")

    # Public demo page
    demo_delay_seconds: int = Field(default=900, ge=0)
    demo_cache_seconds: int = Field(default=60, ge=0, le=86_400)


    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return proxy_addresses(value)

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


def load_dashboard_settings(path: Path | str) -> DashboardSettings:
    """Load the dashboard's env file; HOST and PORT are taken from the file (or default), never the environment.

    Raises :class:`~shared.config.ConfigError` naming the key, like every process's loader.
    """
    path = Path(path)
    settings = load_settings(DashboardSettings, path)
    values = parse_env_file(path)
    update: dict[str, Any] = {}
    host = values.get("HOST", "")
    if host:
        update["host"] = host
    port = values.get("PORT", "")
    if port:
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ConfigError(path, "PORT", "must be a TCP port number (1-65535)")
        update["port"] = int(port)
    return settings.model_copy(update=update) if update else settings
