"""Settings of the relay (``envs/relay.env``) and of a feed edge (``envs/edge.env``): frozen, strict, exit 2."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from dashboard.config import FileOnlyAddress, proxy_addresses
from shared.config import CsvList, ProcessSettings


def _nats_urls(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("at least one nats:// URL is required")
    for url in value:
        if not url.startswith(("nats://", "tls://")):
            raise ValueError("each entry must be a nats:// or tls:// URL")
    return value


class NatsSettings(ProcessSettings):
    """Keys every process that talks to the JetStream cluster shares."""

    nats_urls: CsvList = Field(
        default=("nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "nats://127.0.0.1:4224"),
        description="Seed URLs of the NATS cluster (any node; the rest is discovered)",
    )
    nats_token: SecretStr | None = Field(default=None, description="NATS authorization token, if the cluster has one")

    @field_validator("nats_urls")
    @classmethod
    def _urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _nats_urls(value)


class RelaySettings(NatsSettings):
    """Keys of ``st-feed-relay`` (``python -m dashboard.edge.relay --env envs/relay.env``)."""

    stream_replicas: int = Field(default=3, ge=1, le=5, description="JetStream replicas of every stream (R3 in a "
                                 "three-node cluster; 1 on a single node)")
    signals_max_age_days: float = Field(default=30.0, gt=0, description="How long the signals stream keeps a signal")
    callbacks_max_age_days: float = Field(default=30.0, gt=0, description="How long the callbacks stream keeps a "
                                          "callback (and so answers a repeat with 200 duplicate)")
    callback_batch: int = Field(default=500, ge=1, le=10_000, description="Callbacks appended per write at most")
    env_dir: Path = Field(default=Path("envs"), description="Where the surfaces' env files live (their trading "
                          "mode and bankroll, for the same trade fold as the dashboard's history)")


class EdgeSettings(NatsSettings, FileOnlyAddress):
    """Keys of a feed edge (``tbot feed-edge --env envs/edge.env``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8181, ge=1, le=65535)
    signal_public_key_path: Path = Field(
        default=Path("logs/keys/operator_ed25519.pub.pem"),
        description="The operator's Ed25519 public key (PEM); every signal is verified against it before it is served",
    )
    feed_default_wait_seconds: float = Field(default=25.0, ge=0, le=55)
    feed_max_wait_seconds: float = Field(default=55.0, gt=0, le=55)
    feed_default_limit: int = Field(default=100, ge=1, le=1000)
    feed_max_limit: int = Field(default=500, ge=1, le=1000)
    signal_retention_seconds: int = Field(default=3600, ge=700, description="How long signals stay in memory")
    history_max_limit: int = Field(default=500, ge=1, le=5000)
    rate_limit_per_second: float = Field(default=5.0, gt=0)
    rate_limit_burst: int = Field(default=30, ge=1)
    max_body_bytes: int = Field(default=16_384, ge=256, le=1_048_576)
    trusted_proxies: CsvList = Field(
        default=(), description="Reverse proxies (IP or CIDR) whose X-Forwarded-For names the client; empty = none"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return proxy_addresses(value)

    @model_validator(mode="after")
    def _limits(self) -> EdgeSettings:
        if self.feed_default_wait_seconds > self.feed_max_wait_seconds:
            raise ValueError("FEED_DEFAULT_WAIT_SECONDS: must not exceed FEED_MAX_WAIT_SECONDS")
        if self.feed_default_limit > self.feed_max_limit:
            raise ValueError("FEED_DEFAULT_LIMIT: must not exceed FEED_MAX_LIMIT")
        return self
