"""One retrying, paced httpx client that every live venue and data source builds on.

What it guarantees:
- 429 and 5xx are retried with exponential backoff plus full jitter, up to ``RetryPolicy.attempts``; after that
  a typed error (:class:`RateLimitedError`, or :class:`VenueError` with ``retryable=True``) is raised.
- 401/403 raise :class:`AuthError` and 404 raises :class:`NotFoundError` at once (retrying will not help).
- Other 4xx raise :class:`RequestRejected` carrying the venue's decoded error body for the adapter to map.
- A timeout (or 5xx) on a request that is not safe to repeat raises :class:`VenueTimeoutError` so that the caller
  can look the order up before sending it again (OANDA has no idempotency key); safe requests are retried.
- A body that is not JSON (or not the JSON shape expected) raises :class:`MalformedResponseError`; JSON numbers
  with a fraction decode as ``Decimal`` so that no price or amount passes through a float.
- Requests are paced by named token buckets (Kalshi's read/write buckets, IBKR's 10 req/s gateway limit).
Per-attempt headers come from ``auth(method, path)`` so that signatures carry a fresh timestamp on every retry.
Secrets never appear in messages: errors quote the method and path, never headers or query strings.
"""

from __future__ import annotations

import functools
import json
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import certifi
import httpx
from pydantic import BaseModel, ValidationError

from shared.venues.base import AuthError, NotFoundError, RateLimitedError, VenueError

AuthHook = Callable[[str, str], Mapping[str, str]]
"""``auth(method, full_path) -> headers`` called on every attempt (``full_path`` includes the base URL's path)."""


class VenueTimeoutError(VenueError):
    """The venue did not answer in time (or a 5xx hid the answer); the request may or may not have taken effect."""


class MalformedResponseError(VenueError):
    """The venue answered with something that is not the documented shape (bad JSON, bad number, missing field)."""


class RequestRejected(VenueError):
    """A 4xx other than 401/403/404/429: the venue refused the request; ``body`` is its decoded error payload."""

    def __init__(self, venue: str, message: str, *, status: int, body: Any) -> None:
        self.body = body
        super().__init__(venue, message, status=status, retryable=False)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: sleep uniform(c/2, c) where c = min(max_delay, base * 2**attempt)."""

    attempts: int = 4
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        # "Equal jitter": random enough to spread clients that failed together, never an instant retry.
        return rng.uniform(ceiling / 2, ceiling)


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, holding at most ``capacity``."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("token bucket rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._monotonic = monotonic
        self._sleep = sleep
        self._last = monotonic()
        self._lock = threading.Lock()

    def acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens, sleeping until they are available; returns the seconds waited."""
        if cost > self.capacity:
            raise ValueError(f"cost {cost} exceeds bucket capacity {self.capacity}")
        waited = 0.0
        while True:
            with self._lock:
                now = self._monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                # A hair of tolerance: float rounding must not turn a full bucket into an endless 1e-17 s wait.
                if self._tokens >= cost - 1e-9:
                    self._tokens = max(0.0, self._tokens - cost)
                    return waited
                shortfall = (cost - self._tokens) / self.rate
            self._sleep(shortfall)
            waited += shortfall


def error_text(body: Any) -> str:
    """The human message out of a venue error body (Kalshi ``{code,message}`` or ``{error}``, OANDA
    ``{errorCode,errorMessage}``, IBKR ``{error}``), trimmed to one short line."""
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            body = inner
        parts = [
            str(body[key])
            for key in ("code", "errorCode", "message", "errorMessage", "error", "details")
            if key in body and isinstance(body[key], str | int)
        ]
        if parts:
            return ": ".join(parts)[:300]
    if isinstance(body, str):
        return body.strip().splitlines()[0][:300] if body.strip() else "(empty body)"
    return "(no error message)"


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle is slow, and it never changes."""
    return ssl.create_default_context(cafile=certifi.where())


class VenueHttp:
    """A small synchronous JSON client around ``httpx.Client`` with retries, pacing and typed errors."""

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: AuthHook | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        buckets: Mapping[str, TokenBucket] | None = None,
        verify: bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self._base_path = urlsplit(self.base_url).path.rstrip("/")
        self._auth = auth
        self._retry = retry or RetryPolicy()
        self._buckets = dict(buckets or {})
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout_s),
            verify=_default_tls() if verify else False,
            transport=transport,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def full_path(self, path: str) -> str:
        """The path as the venue sees it (base URL path + request path, no query): what Kalshi signs."""
        return self._base_path + path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        bucket: str | None = None,
        cost: float = 1.0,
        repeat_on_timeout: bool = True,
        allow_empty: bool = False,
    ) -> Any:
        """Send one request and return its decoded JSON body (``None`` for an allowed empty body).

        ``repeat_on_timeout=False`` marks a request that must not be blindly resent (an order without an
        idempotency key): a timeout then raises :class:`VenueTimeoutError` at once.
        """
        method = method.upper()
        what = f"{method} {path}"
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        last_error: VenueError | None = None
        for attempt in range(self._retry.attempts):
            if attempt:
                self._sleep(self._retry.delay(attempt - 1, self._rng))
            if bucket is not None:
                self._buckets[bucket].acquire(cost)
            headers = dict(self._auth(method, self.full_path(path))) if self._auth else {}
            try:
                response = self._client.request(
                    method,
                    self.base_url + path,
                    params=clean_params or None,
                    content=None if json_body is None else json.dumps(json_body, separators=(",", ":")),
                    headers=({"Content-Type": "application/json"} if json_body is not None else {}) | headers,
                )
            except httpx.TimeoutException:
                last_error = VenueTimeoutError(self.venue, f"{what} timed out", retryable=True)
                if not repeat_on_timeout:
                    raise last_error from None
                continue
            except httpx.TransportError as exc:
                # Connection refused/reset before the request was sent: safe to retry for any method only when
                # the caller said repeating is safe; otherwise the order may have gone out.
                last_error = VenueError(self.venue, f"{what} transport error: {type(exc).__name__}", retryable=True)
                if not repeat_on_timeout:
                    raise last_error from None
                continue
            status = response.status_code
            if status == 429:
                last_error = RateLimitedError(self.venue, f"{what} rate limited", status=429, retryable=True)
                continue
            if status >= 500:
                body = _decode_lenient(response)
                if not repeat_on_timeout:
                    # A 5xx from a proxy can follow an order the venue did accept: the outcome is unknown, so the
                    # caller must reconcile (look the order up) instead of this layer resending it.
                    raise VenueTimeoutError(
                        self.venue, f"{what}: outcome unknown: {error_text(body)}", status=status, retryable=True
                    )
                last_error = VenueError(self.venue, f"{what}: {error_text(body)}", status=status, retryable=True)
                continue
            return self._decode(response, what, allow_empty)
        assert last_error is not None
        raise last_error

    def _decode(self, response: httpx.Response, what: str, allow_empty: bool) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise AuthError(self.venue, f"{what}: {error_text(_decode_lenient(response))}", status=status)
        if status == 404:
            raise NotFoundError(self.venue, f"{what}: {error_text(_decode_lenient(response))}", status=404)
        if status >= 400:
            body = _decode_lenient(response)
            raise RequestRejected(self.venue, f"{what}: {error_text(body)}", status=status, body=body)
        if not response.content.strip():
            if allow_empty:
                return None
            raise MalformedResponseError(self.venue, f"{what}: empty body", status=status)
        try:
            # JSON numbers with a fraction become Decimal, never float: prices and money stay exact.
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise MalformedResponseError(self.venue, f"{what}: body is not JSON", status=status) from None


def _decode_lenient(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


WireModel = TypeVar("WireModel", bound=BaseModel)


def parse_wire(model: type[WireModel], data: Any, what: str, venue: str) -> WireModel:
    """Validate a decoded body into a venue's wire model; MalformedResponseError naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise MalformedResponseError(venue, f"{what}: {where}: {first.get('msg', 'invalid')}") from None
