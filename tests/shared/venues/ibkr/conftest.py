"""IBKR test fixtures: the vendored 2.29.0 spec subset (test-only, no licence), recorded payloads, a venue on respx."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import respx

from shared.clock import SteppedClock
from shared.config import SurfaceSettings
from shared.venues.http import RetryPolicy
from shared.venues.ibkr.execution import IbkrVenue

HERE = Path(__file__).parent
SPEC = HERE.parents[2] / "fixtures" / "specs" / "ibkr" / "ibkr-openapi-2.29.0.trimmed.json"
BASE = "https://localhost:5000/v1/api"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` as JSON-schema."""
    if isinstance(node, dict):
        node = {key: _nullable(value) for key, value in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
            else:
                return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    return node


@pytest.fixture(scope="session")
def spec_validate() -> Callable[[str, Any], None]:
    document = _nullable(json.loads(SPEC.read_text()))

    def validate(name: str, instance: Any) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        jsonschema.Draft7Validator(schema).validate(instance)

    return validate


@pytest.fixture(scope="session")
def body_validate() -> Callable[[str, str, Any], None]:
    """``body_validate("/portfolio/orders", "post", body)`` checks a request body against the operation's schema."""
    document = _nullable(json.loads(SPEC.read_text()))

    def validate(path: str, method: str, instance: Any) -> None:
        operation = document["paths"][path][method]
        body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        jsonschema.Draft7Validator(body_schema | {"components": document["components"]}).validate(instance)

    return validate


@pytest.fixture
def payload() -> Callable[[str], Any]:
    def load(name: str) -> Any:
        return copy.deepcopy(json.loads((HERE / "payloads" / f"{name}.json").read_text()))

    return load


@pytest.fixture
def settings() -> SurfaceSettings:
    return SurfaceSettings(venue="ibkr", ibkr_gateway_url="https://localhost:5000", ibkr_account_id="DU1234567")


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
