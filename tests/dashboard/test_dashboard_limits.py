"""``wait`` and ``limit`` above this server's maxima are clamped, never refused (a client built for another
server's limits keeps working), and the OpenAPI schema states the server's real ``limit`` maxima."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.app import asgi_app


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_wait_above_the_maximum_is_clamped(tools: Any, fast_path: bool) -> None:
    headers = tools.subscriber("alice")
    settings = tools.settings_with(feed_fast_path=fast_path, feed_max_wait_seconds=0.3, feed_default_wait_seconds=0)
    with TestClient(asgi_app(settings)) as client:
        started = time.monotonic()
        reply = client.get("/api/signals/feed", params={"wait": 55}, headers=headers)
        elapsed = time.monotonic() - started
    assert reply.status_code == 200 and reply.json()["signals"] == []
    assert 0.25 <= elapsed < 5


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_limit_above_the_maximum_is_clamped_and_paging_goes_on(tools: Any, fast_path: bool) -> None:
    headers = tools.subscriber("alice")
    with TestClient(asgi_app(tools.settings_with(feed_fast_path=fast_path, feed_max_limit=2,
                                                 feed_default_limit=1))) as client:
        cursor = client.get("/api/signals/feed", params={"wait": 0}, headers=headers).json()["next_cursor"]
        published = [tools.publish(tools.signal("fx")).id for _ in range(5)]
        got: list[str] = []
        for _ in range(3):
            page = client.get("/api/signals/feed", params={"cursor": cursor, "wait": 2, "limit": 1000},
                              headers=headers)
            assert page.status_code == 200
            batch = [s["id"] for s in page.json()["signals"]]
            assert len(batch) <= 2
            got.extend(batch)
            cursor = page.json()["next_cursor"]
    assert got == published


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize(("query", "field"), [({"wait": "-1"}, "wait"), ({"wait": "nan"}, "wait"),
                                              ({"limit": "0"}, "limit"), ({"limit": "-3"}, "limit")])
def test_below_the_minimum_is_still_a_422_naming_the_field(
    tools: Any, fast_path: bool, query: dict[str, str], field: str
) -> None:
    headers = tools.subscriber("alice")
    with TestClient(asgi_app(tools.settings_with(feed_fast_path=fast_path))) as client:
        reply = client.get("/api/signals/feed", params=query, headers=headers)
    assert reply.status_code == 422 and field in json.dumps(reply.json()["detail"])
    if query[field] != "0":  # "0" may appear in the stated bound; anything else would be the value echoed
        assert query[field] not in json.dumps(reply.json())


def _parameter(schema: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    params = schema["paths"][path]["get"]["parameters"]
    found: dict[str, Any] = next(p for p in params if p["name"] == name)
    return found


def _maxima(param: dict[str, Any]) -> list[Any]:
    options = param["schema"].get("anyOf", [param["schema"]])
    return [option.get("maximum") for option in options if option.get("type") in ("integer", "number")]


def test_the_schema_states_the_servers_maxima(tools: Any) -> None:
    settings = tools.settings_with(feed_max_limit=7, feed_default_limit=7, history_max_limit=33,
                                   feed_max_wait_seconds=20, feed_default_wait_seconds=5)
    with TestClient(asgi_app(settings)) as client:
        schema = client.get("/openapi.json").json()
    assert _maxima(_parameter(schema, "/api/signals/feed", "limit")) == [7]
    assert _maxima(_parameter(schema, "/api/signals/history", "limit")) == [33]
    wait = _parameter(schema, "/api/signals/feed", "wait")
    assert _maxima(wait) == [None]  # clamped, so no value is invalid for being large
    assert "20 s" in wait["description"]
    with TestClient(asgi_app(tools.settings)) as client:
        default = client.get("/openapi.json").json()
    assert _maxima(_parameter(default, "/api/signals/feed", "limit")) == [tools.settings.feed_max_limit]
