"""IBKR test fixtures: the vendored 2.29.0 spec subset (test-only, no licence), recorded payloads, a venue on respx."""

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
from shared.venues.ibkr.execution import IbkrVenue

HERE = Path(__file__).parent
SPEC = HERE.parents[2] / "fixtures" / "specs" / "ibkr" / "ibkr-openapi-2.29.0.trimmed.json"
BASE = "https://localhost:5000/v1/api"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


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


@pytest.fixture
def settings() -> SurfaceSettings:
    return SurfaceSettings(trading_mode="live", venue="ibkr", ibkr_gateway_url="https://localhost:5000",
                           ibkr_account_id="DU1234567")


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def session_ok(mock: respx.MockRouter, payload: Callable[[str], Any]) -> None:
    """The gateway reports an authenticated, non-competing brokerage session."""
    import httpx

    mock.post("/tickle").mock(return_value=httpx.Response(200, json=payload("tickle")))
    mock.post("/iserver/auth/status").mock(return_value=httpx.Response(200, json=payload("auth_status")))
    mock.get("/iserver/accounts").mock(return_value=httpx.Response(200, json=payload("accounts")))
    mock.get("/portfolio/accounts").mock(return_value=httpx.Response(200, json=payload("portfolio_accounts")))
    mock.get("/iserver/secdef/search").mock(return_value=httpx.Response(200, json=payload("secdef_search")))


@pytest.fixture
def venue(settings: SurfaceSettings, mock: respx.MockRouter, sleeps: list[float]) -> IbkrVenue:
    return IbkrVenue.from_settings(
        settings,
        SteppedClock(NOW),
        symbols=("AAPL", "MSFT"),
        retry=RetryPolicy(attempts=3, base_delay_s=0.01),
        sleep=sleeps.append,
    )
