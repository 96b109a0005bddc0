"""No input produces a 5xx, and no error answer echoes a submitted value.

Python's ``json`` reads ``NaN``, ``Infinity`` and ``1e999`` as floats; FastAPI's default validation answer then put
the value back in the body (``"input": NaN``), which standard JSON cannot encode: a 500, unauthenticated on the
login. Its default answer also echoed every rejected value, the operator token of a malformed login included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from dashboard.errors import NON_FINITE_MESSAGE, has_non_finite_number, is_json_request
from shared.paths import feed_path, stop_file, stream_path
from shared.timeutil import to_iso, utcnow

TOKEN = "SeCrEt-Pr0be-7f3a9c"  # distinctive: it must never come back in an error body
JSON = {"Content-Type": "application/json"}
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999")


@pytest.fixture
def app_client(tools: Any) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a handler crash must show up as the 500 a client would get, not as a raise.
    with TestClient(asgi_app(tools.settings), raise_server_exceptions=False) as client:
        yield client


def _endpoints(tools: Any, operator_headers: dict[str, str]) -> list[tuple[str, dict[str, str], str]]:
    """(path, headers, body template with ``{x}`` where a number goes) for every JSON-taking POST."""
    subscriber = {**tools.subscriber("alice"), **JSON}
    signal = tools.publish(tools.signal("fx"))
    operator = {**operator_headers, **JSON}
    now = to_iso(utcnow())
    return [
        ("/api/operator/session", JSON, '{"token": {x}}'),
        ("/api/operator/session", JSON, '{"token": "abc", "extra": [1, {x}]}'),
        ("/api/commission", subscriber, '{"id": "wd-1", "amount_cents": {x}, "crystallized_at": "' + now + '"}'),
        ("/api/operator/overrides", operator, '{"surface": "fx", "key": "min_edge", "value": {x}}'),
        ("/api/operator/overrides", operator, '{"surface": "fx", "key": "suspend_category", "value": {x}}'),
        ("/api/operator/stop", operator, '{"surface": {x}}'),
        ("/api/operator/stop", operator, '{"reason": {x}}'),
        ("/api/operator/resume", operator, '{"surface": {x}}'),
        (f"/api/signals/{signal.id}/ack", subscriber, "{x}"),
        (f"/api/signals/{signal.id}/ack", subscriber, '{"note": {x}}'),
        (f"/api/signals/{signal.id}/executed", subscriber, '{"fill_price": {x}, "quantity": 1, "fees_cents": 0}'),
        (f"/api/signals/{signal.id}/executed", subscriber, '{"fill_price": "1.1", "quantity": {x}, "fees_cents": 0}'),
        (f"/api/signals/{signal.id}/resolved", subscriber, '{"pnl_cents": {x}, "resolved_at": "' + now + '"}'),
    ]


def test_nan_and_infinity_get_a_4xx_naming_the_problem_everywhere(
    app_client: TestClient, tools: Any, operator_headers: dict[str, str]
) -> None:
    for path, headers, template in _endpoints(tools, operator_headers):
        for literal in NON_FINITE:
            reply = app_client.post(path, content=template.replace("{x}", literal), headers=headers)
            assert reply.status_code == 422, (path, literal, reply.status_code, reply.text)
            assert reply.json()["detail"][0]["msg"] == NON_FINITE_MESSAGE
    # Nothing was recorded or switched by any of them.
    assert not feed_path(tools.log_dir, "callbacks").exists() or not feed_path(tools.log_dir, "callbacks").read_text()
    assert not feed_path(tools.log_dir, "commission").exists()
    assert not stream_path(tools.log_dir, "fx", "overrides").exists()
    assert not stop_file(tools.log_dir).exists() and not stop_file(tools.log_dir, "fx").exists()


def test_a_json_body_without_a_content_type_is_checked_too(app_client: TestClient) -> None:
    # FastAPI parses a body with no Content-Type as JSON, so the check must too.
    reply = app_client.post("/api/operator/session", content=b'{"token": NaN}')
    assert reply.status_code == 422 and reply.json()["detail"][0]["msg"] == NON_FINITE_MESSAGE


def _probes(tools: Any, operator_headers: dict[str, str]) -> list[tuple[str, str, dict[str, str], Any]]:
    """(method, path, headers, body) requests that are each refused and each carry TOKEN somewhere."""
    subscriber = tools.subscriber("bob")
    signal = tools.publish(tools.signal("fx"))
    now = to_iso(utcnow())
    long_token = TOKEN + "x" * 600
    return [
        ("POST", "/api/operator/session", {}, {"token": long_token}),  # too long
        ("POST", "/api/operator/session", {}, {"token": [TOKEN]}),  # wrong type
        ("POST", "/api/operator/session", {}, {"token": {"value": TOKEN}}),
        ("POST", "/api/operator/session", {}, {"token": TOKEN}),  # wrong token
        ("POST", "/api/operator/session", {}, f'{{"token": "{TOKEN}"'),  # malformed JSON
        ("POST", "/api/commission", subscriber, {"id": TOKEN + "/", "amount_cents": 1, "crystallized_at": now}),
        ("POST", "/api/commission", subscriber, {"id": "wd-1", "amount_cents": TOKEN, "crystallized_at": now}),
        ("POST", "/api/commission", subscriber, {"id": "wd-1", "amount_cents": 1, "crystallized_at": TOKEN}),
        ("POST", "/api/operator/overrides", operator_headers, {"surface": TOKEN, "key": "min_edge", "value": 1}),
        ("POST", "/api/operator/overrides", operator_headers, {"surface": "fx", "key": "min_edge", "value": TOKEN}),
        ("POST", "/api/operator/overrides", operator_headers, {"surface": "fx", "key": TOKEN, "value": "1"}),
        ("POST", "/api/operator/overrides", operator_headers,
         {"surface": "fx", "key": "strategy_sides", "value": TOKEN}),
        ("POST", "/api/operator/stop", operator_headers, {"surface": TOKEN}),
        ("POST", "/api/operator/stop", operator_headers, {"reason": TOKEN * 20}),
        ("POST", f"/api/signals/{TOKEN}/ack", subscriber, {}),
        ("POST", f"/api/signals/{signal.id}/{TOKEN}", subscriber, {}),
        ("POST", f"/api/signals/{signal.id}/executed", subscriber,
         {"fill_price": TOKEN, "quantity": 1, "fees_cents": 0}),
        ("POST", f"/api/signals/{signal.id}/resolved", subscriber, {"pnl_cents": 1, "resolved_at": TOKEN}),
        ("GET", f"/api/signals/feed?limit={TOKEN}", subscriber, None),
        ("GET", f"/api/signals/feed?wait={TOKEN}", subscriber, None),
        ("GET", f"/api/signals/feed?surface={TOKEN}", subscriber, None),
        ("GET", f"/api/signals/feed?cursor={TOKEN}", subscriber, None),
        ("GET", f"/api/signals/history?since={TOKEN}", subscriber, None),
        ("GET", f"/api/signals/history?cursor={TOKEN}", subscriber, None),
        ("GET", "/api/signals/feed", {"Authorization": f"Bearer {TOKEN}"}, None),
    ]


@pytest.mark.parametrize("fast_feed", [True, False])
def test_no_error_body_echoes_a_submitted_value(tools: Any, operator_headers: dict[str, str], fast_feed: bool) -> None:
    settings = tools.settings_with(feed_fast_path=fast_feed)
    with TestClient(asgi_app(settings), raise_server_exceptions=False) as client:
        for method, path, headers, body in _probes(tools, operator_headers):
            if body is None:
                reply = client.request(method, path, headers=headers)
            elif isinstance(body, str):
                reply = client.request(method, path, headers={**headers, **JSON}, content=body)
            else:
                reply = client.request(method, path, headers=headers, json=body)
            assert 400 <= reply.status_code < 500, (method, path, reply.status_code, reply.text)
            assert TOKEN not in reply.text, (method, path, reply.text)
            assert TOKEN.lower() not in reply.text.lower()


def test_validation_errors_still_name_the_field(app_client: TestClient) -> None:
    reply = app_client.post("/api/operator/session", json={"token": ["x"]})
    assert reply.status_code == 422
    assert reply.json() == {"detail": [{"loc": ["body", "token"], "msg": "Input should be a valid string",
                                        "type": "string_type"}]}


def test_a_repeated_commission_id_with_other_values_is_refused_without_echo(app_client: TestClient, tools: Any) -> None:
    headers = tools.subscriber("carol")
    body = {"id": TOKEN, "amount_cents": 5, "crystallized_at": to_iso(utcnow())}
    assert app_client.post("/api/commission", headers=headers, json=body).status_code == 201
    conflict = app_client.post("/api/commission", headers=headers, json={**body, "amount_cents": 6})
    assert conflict.status_code == 409 and TOKEN not in conflict.text


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b'{"a": NaN}', True), (b"[1, -Infinity]", True), (b'{"a": 1e999}', True), (b'{"a": 1.5e308}', False),
     (b'{"a": "NaN"}', False), (b"not json", False), (b"[" * 100_000, False), (b'{"a": 12}', False)],
)
def test_non_finite_detection(body: bytes, expected: bool) -> None:
    assert has_non_finite_number(body) is expected


def test_json_request_rule_matches_fastapi() -> None:
    assert is_json_request([])
    assert is_json_request([(b"content-type", b"application/json; charset=utf-8")])
    assert is_json_request([(b"content-type", b"application/merge-patch+json")])
    assert not is_json_request([(b"content-type", b"text/plain")])
    assert not is_json_request([(b"content-type", b"application/x-www-form-urlencoded")])


def test_error_bodies_are_standard_json(app_client: TestClient) -> None:
    reply = app_client.post("/api/operator/session", content=b'{"token": NaN}', headers=JSON)
    json.loads(reply.text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))


def test_malformed_bodies_never_get_a_5xx(app_client: TestClient, tools: Any, operator_headers: dict[str, str]) -> None:
    bodies = [b"\xff\xfe\x00bad", b"[" * 8000, b'{"a": ' + b"9" * 5000 + b"}", b"", b"null", b'"text"', b"[]",
              b'{"token": "\\ud800"}', b"\x00", b'{"token": "a"} trailing']
    endpoints = {path: headers for path, headers, _ in _endpoints(tools, operator_headers)}
    for path, headers in endpoints.items():
        for body in bodies:
            reply = app_client.post(path, content=body, headers=headers)
            assert reply.status_code < 500, (path, body[:20], reply.status_code, reply.text)
