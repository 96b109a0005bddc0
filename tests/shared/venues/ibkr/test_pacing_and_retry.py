"""The shared HTTP helper's pacing (IBKR's 10 req/s gateway limit) and retry policy."""

from __future__ import annotations

import random

import httpx
import pytest

from shared.http import (
    MalformedResponseError,
    RequestRejected,
    RetryPolicy,
    TokenBucket,
    VenueHttp,
    VenueTimeoutError,
    error_text,
)
from shared.venues.base import AuthError, NotFoundError, RateLimitedError


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_paces_to_rate() -> None:
    clock = FakeTime()
    bucket = TokenBucket(10.0, 10.0, monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(30):
        bucket.acquire()
    # 10 in the initial burst, then 20 more at 10/s: two seconds of waiting.
    assert clock.now == pytest.approx(2.0)
    assert max(clock.slept) <= 0.1 + 1e-9
    with pytest.raises(ValueError):
        bucket.acquire(11)


def test_retry_delay_grows_and_is_capped() -> None:
    policy = RetryPolicy(attempts=6, base_delay_s=0.5, max_delay_s=2.0)
    rng = random.Random(7)
    delays = [policy.delay(attempt, rng) for attempt in range(5)]
    assert 0.25 <= delays[0] <= 0.5
    assert 0.5 <= delays[1] <= 1.0
    assert all(1.0 <= d <= 2.0 for d in delays[2:])


def _http(handler: httpx.MockTransport, slept: list[float]) -> VenueHttp:
    clock = FakeTime()
    return VenueHttp(
        "ibkr",
        "https://localhost:5000/v1/api",
        transport=handler,
        retry=RetryPolicy(attempts=3, base_delay_s=0.01),
        buckets={"gw": TokenBucket(10, 10, monotonic=clock.monotonic, sleep=clock.sleep)},
        sleep=slept.append,
    )


def test_status_codes_map_to_typed_errors() -> None:
    answers = {
        "/v1/api/a": httpx.Response(401, json={"error": "not authenticated"}),
        "/v1/api/b": httpx.Response(404, json={"error": "no such order"}),
        "/v1/api/c": httpx.Response(400, json={"error": "bad conid"}),
        "/v1/api/d": httpx.Response(429, text="Too Many Requests"),
        "/v1/api/e": httpx.Response(200, content=b"{not json"),
        "/v1/api/f": httpx.Response(200, content=b""),
    }
    transport = httpx.MockTransport(lambda request: answers[request.url.path])
    slept: list[float] = []
    http = _http(transport, slept)
    with pytest.raises(AuthError, match="not authenticated"):
        http.request("GET", "/a", bucket="gw")
    with pytest.raises(NotFoundError):
        http.request("GET", "/b", bucket="gw")
    with pytest.raises(RequestRejected) as rejected:
        http.request("GET", "/c", bucket="gw")
    assert rejected.value.body == {"error": "bad conid"} and rejected.value.status == 400
    with pytest.raises(RateLimitedError):
        http.request("GET", "/d", bucket="gw")
    assert len(slept) == 2  # two backoffs between three attempts
    with pytest.raises(MalformedResponseError, match="not JSON"):
        http.request("GET", "/e", bucket="gw")
    with pytest.raises(MalformedResponseError, match="empty"):
        http.request("GET", "/f", bucket="gw")
    assert http.request("GET", "/f", bucket="gw", allow_empty=True) is None


def test_unsafe_request_timeout_is_not_repeated() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("slow", request=request)

    http = _http(httpx.MockTransport(handler), [])
    with pytest.raises(VenueTimeoutError):
        http.request("POST", "/orders", json_body={"x": 1}, repeat_on_timeout=False)
    assert calls == ["POST"]
    with pytest.raises(VenueTimeoutError):
        http.request("GET", "/orders")
    assert calls == ["POST", "GET", "GET", "GET"]


def test_error_text_shapes() -> None:
    assert error_text({"code": "bad", "message": "Bad thing"}) == "bad: Bad thing"
    assert error_text({"errorCode": "X", "errorMessage": "Y"}) == "X: Y"
    assert error_text({"error": {"code": "c", "message": "m"}}) == "c: m"
    assert error_text("<html>\nbad gateway") == "<html>"
    assert error_text(None) == "(no error message)"


def test_unsafe_request_5xx_is_outcome_unknown_not_resent() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(502, text="Bad Gateway")

    http = _http(httpx.MockTransport(handler), [])
    with pytest.raises(VenueTimeoutError, match="outcome unknown") as info:
        http.request("POST", "/orders", json_body={"x": 1}, repeat_on_timeout=False)
    assert calls == ["POST"] and info.value.status == 502
