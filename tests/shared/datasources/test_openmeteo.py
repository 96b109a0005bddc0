"""OpenMeteoEnsemble on a recorded-shape response: 31 members, the climate-day window, malformed input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from shared.datasources.forecast import HighTempForecast
from shared.datasources.openmeteo import OpenMeteoEnsemble, member_keys
from shared.http import MalformedResponseError, RetryPolicy

PAYLOADS = Path(__file__).parent / "payloads"
BASE = "https://ensemble-api.open-meteo.com/v1"


def _ensemble() -> Any:
    return json.loads((PAYLOADS / "ensemble.json").read_text())


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def forecast() -> OpenMeteoEnsemble:
    return OpenMeteoEnsemble(retry=RetryPolicy(attempts=2), sleep=lambda _s: None)


def test_member_keys() -> None:
    keys = member_keys()
    assert len(keys) == 31 and keys[0] == "temperature_2m" and keys[-1] == "temperature_2m_member30"


def test_daily_high_members(forecast: OpenMeteoEnsemble, mock: respx.MockRouter) -> None:
    assert isinstance(forecast, HighTempForecast)
    route = mock.get("/ensemble").mock(return_value=httpx.Response(200, json=_ensemble()))
    highs = forecast.daily_high_members("KNYC", date(2025, 12, 27))
    params = route.calls.last.request.url.params
    assert params["models"] == "gfs025" and params["temperature_unit"] == "fahrenheit"
    assert params["timezone"] == "GMT" and params["hourly"] == "temperature_2m"
    assert (params["start_date"], params["end_date"]) == ("2025-12-27", "2025-12-28")
    assert float(params["latitude"]) == pytest.approx(40.7794)
    assert len(highs) == 31
    # The 60 °F spike at 02:00Z belongs to the previous climate day (before midnight EST) and is ignored.
    assert max(highs) < 40
    assert highs[0] == pytest.approx(32.0 - 3.0, abs=0.11)  # control: 28 + 4 − 15 × 0.2
    assert highs == sorted(highs)  # members were generated 0.2 °F apart


def test_missing_member_is_left_out_not_invented(forecast: OpenMeteoEnsemble, mock: respx.MockRouter) -> None:
    body = _ensemble()
    del body["hourly"]["temperature_2m_member07"]
    mock.get("/ensemble").mock(return_value=httpx.Response(200, json=body))
    assert len(forecast.daily_high_members("KNYC", date(2025, 12, 27))) == 30


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("hourly"),
        lambda b: b["hourly"].update(time=["yesterday"] * 48),
        lambda b: b["hourly"].update(temperature_2m=[1.0, 2.0]),
        lambda b: b["hourly"]["temperature_2m"].__setitem__(10, "warm"),
        lambda b: b["hourly"].update(time=b["hourly"]["time"][:4], **{k: b["hourly"][k][:4] for k in member_keys()}),
    ],
)
def test_malformed_is_typed(forecast: OpenMeteoEnsemble, mock: respx.MockRouter, mutate: Any) -> None:
    body = _ensemble()
    mutate(body)
    mock.get("/ensemble").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(MalformedResponseError):
        forecast.daily_high_members("KNYC", date(2025, 12, 27))


def test_server_error_after_retries(forecast: OpenMeteoEnsemble, mock: respx.MockRouter) -> None:
    route = mock.get("/ensemble").mock(
        return_value=httpx.Response(500, json={"error": True, "reason": "Internal error"})
    )
    with pytest.raises(Exception, match="open-meteo") as info:
        forecast.daily_high_members("KNYC", date(2025, 12, 27))
    assert getattr(info.value, "retryable", False)
    assert route.call_count == 2
