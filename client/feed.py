"""HTTP client for the operator's subscriber API. The token travels only in the Authorization header."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx


class FeedError(Exception):
    """The feed answered something the client cannot use."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message + (f" (HTTP {status})" if status else ""))


class FeedUnavailable(FeedError):
    """Network loss, a timeout, or a 5xx: worth retrying later."""


class FeedAuthError(FeedError):
    """The token was refused (401/403): revoked or mistyped."""


def connection_hint(exc: httpx.HTTPError) -> str:
    """The likely fix for a request that never got an answer."""
    text = str(exc).lower()
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "the URL must start with http:// or https://"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "TLS failed: check http:// versus https:// and the server's certificate"
    if isinstance(exc, httpx.ConnectTimeout):
        return "no answer in time: check the host name and port, and any firewall in between"
    if isinstance(exc, httpx.ConnectError):
        if "name" in text or "resolve" in text or "nodename" in text:
            return "the host name does not resolve: check the URL for typos"
        return "nothing is listening there: check the host and port, and that the operator's dashboard is up"
    if isinstance(exc, httpx.TimeoutException):
        return "the server took too long to answer: try again, or check the URL points at the dashboard"
    return "check the URL and your network connection"


@dataclass(frozen=True, slots=True)
class FeedBatch:
    signals: list[dict[str, Any]]
    next_cursor: str


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


class FeedApi:
    """One keep-alive connection to the dashboard; every call raises a typed :class:`FeedError` on failure."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # For messages: any user:password@ in the URL is dropped (the token itself only ever travels in a header).
        self.shown_url = str(httpx.URL(self.base_url).copy_with(username=None, password=None))
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "tbot-client/0.1"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, timeout=timeout or self._timeout, **kwargs)
        except httpx.HTTPError as exc:
            # Named by type, with the URL and a likely fix; never the token (it is a header, not in the URL).
            raise FeedUnavailable(f"{method} {self.shown_url}{path}: {type(exc).__name__}; {connection_hint(exc)}"
                                  ) from None
        if response.status_code in (401, 403):
            raise FeedAuthError(f"{method} {path}: token refused", status=response.status_code)
        if response.status_code >= 500 or response.status_code == 429:
            raise FeedUnavailable(f"{method} {path}: server error", status=response.status_code)
        return response

    @staticmethod
    def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise FeedError(f"{what}: unexpected answer {response.text[:200]!r}", status=response.status_code)
        try:
            data = response.json()
        except ValueError:
            raise FeedError(f"{what}: not JSON", status=response.status_code) from None
        if not isinstance(data, dict):
            raise FeedError(f"{what}: not a JSON object", status=response.status_code)
        return data

    def public_key_pem(self) -> str:
        """The operator's Ed25519 public key (PEM), to pin once at ``init``."""
        response = self._request("GET", "/api/signals/public-key")
        if response.status_code != 200:
            raise FeedError("public key: unexpected answer", status=response.status_code)
        text = response.text
        if response.headers.get("content-type", "").startswith("application/json"):
            data = self._json_object(response, "public key")
            value = data.get("public_key") or data.get("pem") or data.get("key")
            if not isinstance(value, str):
                raise FeedError("public key: no PEM in the answer")
            text = value
        if "BEGIN PUBLIC KEY" not in text:
            raise FeedError("public key: not a PEM public key")
        return text

    def poll(
        self,
        cursor: str | None,
        *,
        wait: int,
        limit: int,
        surface: str | None = None,
        sub_strategy: str | None = None,
    ) -> FeedBatch:
        """Long-poll the feed: the signals after ``cursor`` (None: from now), held up to ``wait`` seconds."""
        params: dict[str, str | int] = {"limit": limit, "wait": wait}
        if cursor:
            params["cursor"] = cursor
        if surface:
            params["surface"] = surface
        if sub_strategy:
            params["sub_strategy"] = sub_strategy
        response = self._request("GET", "/api/signals/feed", params=params, timeout=wait + self._timeout)
        data = self._json_object(response, "feed")
        signals = data.get("signals")
        next_cursor = data.get("next_cursor")
        if not isinstance(signals, list) or not isinstance(next_cursor, str):
            raise FeedError("feed: answer lacks signals or next_cursor")
        return FeedBatch([s for s in signals if isinstance(s, dict)], next_cursor)

    def check_token(self) -> None:
        """One authenticated request (a feed poll that does not wait): raises :class:`FeedAuthError` if the token
        is refused, :class:`FeedUnavailable` naming the URL if nothing answers."""
        self.poll(None, wait=0, limit=1)

    def post(self, path: str, body: dict[str, Any]) -> int:
        """POST a callback or commission report; returns the status for the outbox to judge."""
        return self._request("POST", path, json=body).status_code

    def history(
        self, since: date, *, surface: str | None = None, cursor: str | None = None, limit: int = 500
    ) -> HistoryPage:
        """One page of the operator's resolved signals with their outcomes."""
        params: dict[str, str | int] = {"since": since.isoformat(), "limit": limit}
        if surface:
            params["surface"] = surface
        if cursor:
            params["cursor"] = cursor
        data = self._json_object(self._request("GET", "/api/signals/history", params=params), "history")
        items = data.get("items")
        next_cursor = data.get("next_cursor")
        if not isinstance(items, list):
            raise FeedError("history: answer lacks items")
        return HistoryPage([i for i in items if isinstance(i, dict)], next_cursor if next_cursor else None)

    def history_all(self, since: date, *, surface: str | None = None) -> list[dict[str, Any]]:
        """Every resolved signal since a date, following the pages."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = self.history(since, surface=surface, cursor=cursor)
            items.extend(page.items)
            if page.next_cursor is None or not page.items or page.next_cursor in seen:
                return items
            seen.add(page.next_cursor)
            cursor = page.next_cursor
