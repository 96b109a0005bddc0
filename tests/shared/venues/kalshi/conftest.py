"""Kalshi test fixtures: a throwaway RSA key, the vendored 3.15.0 spec, recorded payloads and a venue on respx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.clock import SteppedClock
from shared.config import SurfaceSettings
from shared.http import RetryPolicy
from shared.venues.kalshi.execution import KalshiVenue

HERE = Path(__file__).parent
SPEC = HERE.parents[2] / "fixtures" / "specs" / "kalshi" / "kalshi-openapi-3.15.0.trimmed.json"
BASE = "https://kalshi.test/trade-api/v2"
NOW = datetime(2025, 12, 27, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def spec_validate(openapi3: Callable[[Path], Any]) -> Callable[[str, Any], None]:
    """``spec_validate("Name", body)`` raises jsonschema.ValidationError on a mismatch."""
    validate: Callable[[str, Any], None] = openapi3(SPEC).schema
    return validate


@pytest.fixture(scope="session")
def body_validate(openapi3: Callable[[Path], Any]) -> Callable[[str, str, Any], None]:
    """``body_validate(path, method, body)`` checks a request body against the operation's schema."""
    validate: Callable[[str, str, Any], None] = openapi3(SPEC).body
    return validate


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_path(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "kalshi.key"
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def settings(key_path: Path) -> SurfaceSettings:
    return SurfaceSettings(
        trading_mode="live",
        venue="kalshi",
        kalshi_env="demo",
        kalshi_base_url=BASE,
        kalshi_api_key_id="a952bcbe-ec3b-4b5b-b8f9-11dae589608c",
        kalshi_private_key_path=key_path,
    )


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_venue(settings: SurfaceSettings, mock: respx.MockRouter, sleeps: list[float]) -> Callable[..., KalshiVenue]:
    def build(**kwargs: Any) -> KalshiVenue:
        venue = KalshiVenue.from_settings(
            settings, SteppedClock(NOW), retry=RetryPolicy(attempts=3, base_delay_s=0.01), **kwargs
        )
        # No real sleeping in tests: record the backoff instead.
        venue.client.http._sleep = sleeps.append
        return venue

    return build


@pytest.fixture
def venue(make_venue: Callable[..., KalshiVenue]) -> KalshiVenue:
    return make_venue()
