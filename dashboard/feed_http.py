"""The feed endpoint's request handling, shared by the lean ASGI fast path and the documented FastAPI route.

The fast path exists because the feed is the one endpoint hit by every subscriber at once: when a batch lands,
a thousand held requests answer and a thousand new ones arrive within milliseconds. Parsing a query string,
hashing a token and looking up a dict is all it needs; the framework's per-request machinery (dependency
resolution, validation models, response classes) would cost more than the work itself.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from dashboard.cursor import CursorError, decode_cursor
from dashboard.feed import SURFACE_INDEX
from dashboard.state import DashboardState
from dashboard.subscribers import Subscriber

FEED_PATH = "/api/signals/feed"
_JSON = (b"content-type", b"application/json")
_NO_STORE = (b"cache-control", b"no-store")
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_CLOSE = (b"connection", b"close")

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class FeedReply:
    """Status, body and extra headers of a feed answer."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []


def _error(status: int, message: str, field: str | None = None) -> FeedReply:
    if field is None:
        payload: dict[str, Any] = {"detail": message}
    else:
        payload = {"detail": [{"loc": ["query", field], "msg": message, "type": "value_error"}]}
    headers = [(b"www-authenticate", b"Bearer")] if status == 401 else []
    return FeedReply(status, json.dumps(payload).encode(), headers)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_subscriber(state: DashboardState, authorization: str | None) -> Subscriber | None:
    """The subscriber behind a bearer token, after catching up with the subscribers log (revocations)."""
    token = bearer_token(authorization)
    if token is None:
        return None
    state.subscribers_fresh()
    return state.subscribers.authenticate(token)


async def handle_feed(
    state: DashboardState, authorization: str | None, params: dict[str, str], client_key: str
) -> FeedReply:
    """Answer one feed request (possibly after holding it)."""
    settings = state.settings
    subscriber = authenticate_subscriber(state, authorization)
    if subscriber is None:
        if not state.anon_limiter.allow(client_key):
            return _error(429, "too many requests")
        return _error(401, "a valid subscriber token is required (Authorization: Bearer <token>)")
    if not state.limiter.allow(subscriber.subscriber_id):
        retry = state.limiter.retry_after(subscriber.subscriber_id)
        reply = _error(429, "rate limit exceeded")
        reply.headers.append((b"retry-after", str(max(1, int(retry + 0.999))).encode()))
        return reply
    try:
        limit = int(params.get("limit", settings.feed_default_limit))
    except ValueError:
        return _error(422, "limit must be an integer", "limit")
    if limit < 1:
        return _error(422, "limit must be at least 1", "limit")
    try:
        wait = float(params.get("wait", settings.feed_default_wait_seconds))
    except ValueError:
        return _error(422, "wait must be a number of seconds", "wait")
    if not wait >= 0:  # also rejects NaN
        return _error(422, "wait must be a number of seconds, 0 or more", "wait")
    # Above this server's maximum is not an error: a client built for another server's limits must still work
    # (a refusal made a default client retry a 422 forever). The cursor pages on from wherever the batch ends.
    limit = min(limit, settings.feed_max_limit)
    wait = min(wait, settings.feed_max_wait_seconds)
    surface_name = params.get("surface") or None
    surface = None
    if surface_name is not None:
        if surface_name not in SURFACE_INDEX:
            return _error(422, f"unknown surface; choose from {', '.join(SURFACE_INDEX)}", "surface")
        surface = SURFACE_INDEX[surface_name]
    sub_strategy = params.get("sub_strategy") or None
    if sub_strategy is not None and len(sub_strategy) > 64:
        return _error(422, "sub_strategy is at most 64 characters", "sub_strategy")
    cursor_text = params.get("cursor") or None
    cursor = None
    if cursor_text is not None:
        try:
            cursor = decode_cursor(cursor_text)
        except CursorError as exc:
            return _error(400, str(exc), "cursor")
    state.signals_fresh()
    state.feed_polls += 1
    batch = await state.hub.poll(cursor, surface, sub_strategy, limit, wait, subscriber.subscriber_id)
    if batch is None:
        return _error(401, "this subscriber token was revoked")
    return FeedReply(200, batch.body)


async def answer_feed(
    state: DashboardState, authorization: str | None, params: dict[str, str], client_key: str
) -> FeedReply:
    """:func:`handle_feed`, plus ``Connection: close`` on a poll that arrived once shutdown had started.

    Such a poll came in over a keep-alive connection the server is about to drop: it is answered at once (the hub
    holds nothing while closing), and the header tells the client to reconnect instead of reusing the connection.
    A poll held before shutdown is answered like any other, so its client may re-poll; that one gets the header.
    """
    closing = state.hub.closing
    reply = await handle_feed(state, authorization, params, client_key)
    if closing:
        reply.headers.append(_CLOSE)
    return reply


def query_params(query_string: bytes) -> dict[str, str]:
    """The last value of each query parameter (decoding errors replaced rather than raised)."""
    return dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=False))


async def send_reply(send: Send, reply: FeedReply) -> None:
    headers = [_JSON, _NO_STORE, _NOSNIFF, (b"content-length", str(len(reply.body)).encode()), *reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


async def serve_feed_asgi(state: DashboardState, scope: Scope, send: Send) -> None:
    """The fast path: answer ``GET /api/signals/feed`` straight from the ASGI scope."""
    authorization = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
            break
    client = scope.get("client")
    client_key = client[0] if client else "unknown"
    reply = await answer_feed(state, authorization, query_params(scope.get("query_string", b"")), client_key)
    await send_reply(send, reply)
