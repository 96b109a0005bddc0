"""OANDA test fixtures: the vendored v20 spec (3.0.25), recorded payloads and a venue on respx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import respx

from shared.clock import SteppedClock
from shared.config import SurfaceSettings
from shared.http import RetryPolicy
from shared.venues.oanda.execution import OandaVenue

HERE = Path(__file__).parent
SPEC = HERE.parents[2] / "fixtures" / "specs" / "oanda" / "v20.trimmed.json"
BASE = "https://oanda.test/v3"
ACCOUNT = "101-001-1234567-001"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def spec_validate(swagger2: Callable[[Path], Any]) -> Callable[[str, Any], None]:
    """``spec_validate("MarketOrderRequest", body)`` raises jsonschema.ValidationError on a mismatch."""
    validate: Callable[[str, Any], None] = swagger2(SPEC).schema
    return validate


@pytest.fixture(scope="session")
def body_validate(swagger2: Callable[[Path], Any]) -> Callable[[str, str, Any], None]:
    """``body_validate("/accounts/{accountID}/orders", "post", body)`` checks a body against the operation's schema."""
    validate: Callable[[str, str, Any], None] = swagger2(SPEC).body
    return validate


@pytest.fixture
def settings() -> SurfaceSettings:
    return SurfaceSettings(
        trading_mode="live", venue="oanda", oanda_base_url="https://oanda.test", oanda_api_token="tok-SECRET-123",
        oanda_account_id=ACCOUNT,
    )


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=f"{BASE}/accounts/{ACCOUNT}", assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def venue(settings: SurfaceSettings, mock: respx.MockRouter, sleeps: list[float]) -> OandaVenue:
    built = OandaVenue.from_settings(
        settings, SteppedClock(NOW), pairs=("EUR_USD", "USD_JPY"), retry=RetryPolicy(attempts=3, base_delay_s=0.01)
    )
    built.client.http._sleep = sleeps.append
    return built
