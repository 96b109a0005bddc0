"""NwsClient on recorded api.weather.gov shapes: User-Agent, CLI product selection, observations in °F."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from shared.datasources.forecast import ClimateReport
from shared.datasources.nws import NwsClient, c_to_f
from shared.datasources.stations import STATIONS, station
from shared.http import MalformedResponseError, RetryPolicy
from shared.venues.base import NotFoundError, RateLimitedError

PAYLOADS = Path(__file__).parent / "payloads"
BASE = "https://api.weather.gov"


def _load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def nws(sleeps: list[float]) -> NwsClient:
    return NwsClient(user_agent="(tbot-test, test@example.invalid)", retry=RetryPolicy(attempts=3), sleep=sleeps.append)


def _cli_routes(mock: respx.MockRouter) -> respx.Route:
    listing = mock.get("/products/types/CLI/locations/NYC").mock(
        return_value=httpx.Response(200, json=_load("cli_products.json"))
    )
    for pid in ("0b1e6a50-prelim", "7c2f1d88-final", "5a9e0c11-prev"):
        mock.get(f"/products/{pid}").mock(return_value=httpx.Response(200, json=_load(f"product_{pid}.json")))
    return listing


def test_is_a_climate_report(nws: NwsClient) -> None:
    assert isinstance(nws, ClimateReport)


def test_daily_high_uses_the_final_report_only(nws: NwsClient, mock: respx.MockRouter) -> None:
    listing = _cli_routes(mock)
    assert nws.daily_high("KNYC", date(2025, 12, 27)) == 32  # final says 32; the preliminary said 31
    assert nws.daily_high("KNYC", date(2025, 12, 26)) is None  # final but MM (missing)
    assert nws.daily_high("KNYC", date(2025, 12, 28)) is None  # not issued yet
    assert listing.calls.last.request.headers["User-Agent"] == "(tbot-test, test@example.invalid)"
    # Product texts are cached: three products fetched once each across three lookups.
    product_calls = [c for c in mock.calls if "/products/" in c.request.url.path and "types" not in c.request.url.path]
    assert len(product_calls) == 3


def test_only_preliminary_means_not_yet_final(nws: NwsClient, mock: respx.MockRouter) -> None:
    graph = _load("cli_products.json")
    graph["@graph"] = [p for p in graph["@graph"] if p["id"] == "0b1e6a50-prelim"]
    mock.get("/products/types/CLI/locations/NYC").mock(return_value=httpx.Response(200, json=graph))
    mock.get("/products/0b1e6a50-prelim").mock(
        return_value=httpx.Response(200, json=_load("product_0b1e6a50-prelim.json"))
    )
    assert nws.daily_high("KNYC", date(2025, 12, 27)) is None


def test_observations_convert_to_fahrenheit(nws: NwsClient, mock: respx.MockRouter) -> None:
    route = mock.get("/stations/KNYC/observations").mock(
        return_value=httpx.Response(200, json=_load("observations.json"))
    )
    start, end = station("KNYC").climate_day(date(2025, 12, 27))
    observations = nws.observations("KNYC", start, end)
    assert observations == sorted(observations, key=lambda o: o.at)
    assert observations[0].temperature_f == pytest.approx(c_to_f(-3.3))
    assert any(o.temperature_f is None for o in observations)
    assert route.calls.last.request.url.params["start"] == "2025-12-27T05:00:00+00:00"
    assert nws.observed_high("KNYC", date(2025, 12, 27)) == pytest.approx(c_to_f(0.6))


def test_errors(nws: NwsClient, mock: respx.MockRouter, sleeps: list[float]) -> None:
    mock.get("/products/types/CLI/locations/NYC").mock(return_value=httpx.Response(429, text="<html>slow down</html>"))
    with pytest.raises(RateLimitedError):
        nws.daily_high("KNYC", date(2025, 12, 27))
    assert len(sleeps) == 2
    mock.get("/stations/KNYC/observations").mock(return_value=httpx.Response(200, json={"features": [{"x": 1}]}))
    with pytest.raises(MalformedResponseError, match="timestamp"):
        nws.observations("KNYC", datetime(2025, 12, 27, tzinfo=UTC), datetime(2025, 12, 28, tzinfo=UTC))
    mock.get("/stations/KXXX/observations").mock(
        return_value=httpx.Response(404, json={"title": "Not Found", "detail": "Station not found"})
    )
    with pytest.raises(NotFoundError):
        nws.observations("KXXX", datetime(2025, 12, 27, tzinfo=UTC), datetime(2025, 12, 28, tzinfo=UTC))
    with pytest.raises(KeyError, match="unknown station"):
        nws.daily_high("KZZZ", date(2025, 12, 27))
    with pytest.raises(ValueError, match="User-Agent"):
        NwsClient(user_agent=" ")


def test_bad_unit_is_malformed(nws: NwsClient, mock: respx.MockRouter) -> None:
    body = _load("observations.json")
    body["features"][0]["properties"]["temperature"]["unitCode"] = "wmoUnit:K"
    mock.get("/stations/KNYC/observations").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError, match="unit"):
        nws.observations("KNYC", datetime(2025, 12, 27, tzinfo=UTC), datetime(2025, 12, 28, tzinfo=UTC))


def test_climate_day_is_local_standard_time() -> None:
    start, end = STATIONS["KMDW"].climate_day(date(2025, 7, 4))
    # CST all year, even in July: 06:00Z to 06:00Z.
    assert (start, end) == (datetime(2025, 7, 4, 6, tzinfo=UTC), datetime(2025, 7, 5, 6, tzinfo=UTC))
