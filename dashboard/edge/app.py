"""A feed edge's HTTP surface: the subscriber API, served from an :class:`~dashboard.edge.state.EdgeState`.

The feed is answered by the dashboard's own lean handler (:func:`dashboard.feed_http.serve_feed_asgi`): same query
parameters, same response bytes, same errors. Callbacks take the dashboard's body models and error rules (no 5xx
for any input, no submitted value echoed) and are published to ``TBOT_CALLBACKS`` instead of appended here; the
relay appends them on the operator's box. The edge answers only once it has caught up with the streams (its
lifespan startup waits for that), so a load balancer never reaches an edge that would answer from half an index.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, date, datetime
from typing import Any, cast

import nats
from pydantic import ValidationError

from dashboard.callbacks import BODY_MODELS, CommissionBody, CommissionRecord, same_commission
from dashboard.cursor import CursorError, decode_cursor, encode_cursor
from dashboard.edge import jetstream as jsx
from dashboard.edge.state import EdgeState
from dashboard.errors import has_non_finite_number, is_json_request, non_finite_reply, safe_errors
from dashboard.feed_http import (
    FEED_PATH,
    FeedReply,
    authenticate_subscriber,
    query_params,
    send_reply,
    serve_feed_asgi,
)
from dashboard.routes_subscriber import HistoryResponse, _history_page
from dashboard.state import DashboardState
from dashboard.subscribers import Subscriber
from shared.records import SURFACES, Callback
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_CALLBACK = re.compile(r"^/api/signals/([^/]{1,64})/([^/]+)$")
PUBLIC_KEY_PATH = "/api/signals/public-key"
HISTORY_PATH = "/api/signals/history"
COMMISSION_PATH = "/api/commission"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _detail(status: int, detail: Any, headers: list[tuple[bytes, bytes]] | None = None) -> FeedReply:
    return FeedReply(status, json.dumps({"detail": detail}, separators=(",", ":")).encode(), headers)


def _field(where: str, name: str, message: str, kind: str = "value_error") -> list[dict[str, Any]]:
    return [{"loc": [where, name], "msg": message, "type": kind}]


class EdgeApp:
    """The ASGI app a feed edge serves (uvicorn, through the dashboard's graceful server)."""

    def __init__(self, state: EdgeState) -> None:
        self.state = state
        # The feed handler is typed for the dashboard's state; an EdgeState has every member it touches.
        self._feed_state = cast(DashboardState, state)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == FEED_PATH and method == "GET":
            await serve_feed_asgi(self._feed_state, scope, send)
            return
        if path == PUBLIC_KEY_PATH and method == "GET":
            await _send(send, 200, self.state.public_key_pem.encode(), b"text/plain; charset=utf-8",
                        [(b"cache-control", b"public, max-age=300")])
            return
        if path == HISTORY_PATH and method == "GET":
            await send_reply(send, self._history(scope))
            return
        if path == "/healthz" and method == "GET":
            await send_reply(send, self._health())
            return
        if path == "/metrics" and method == "GET":
            await _send(send, 200, self._metrics().encode(), b"text/plain; version=0.0.4")
            return
        if path == COMMISSION_PATH and method == "POST":
            await send_reply(send, await self._commission(scope, receive))
            return
        match = _CALLBACK.match(path)
        if match is not None and match.group(2) != "feed" and match.group(1) != "public-key" and method == "POST":
            await send_reply(send, await self._callback(scope, receive, match.group(1), match.group(2)))
            return
        await send_reply(send, _detail(404, "not found"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.state.start()
                except Exception as exc:  # uvicorn prints it and exits non-zero
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.state.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _health(self) -> FeedReply:
        state = self.state
        ok = state.ready.is_set() and state.connected
        body = {
            "status": "ok" if ok else "degraded",
            "nats_connected": state.connected,
            "signals_indexed": state.index.total_signals,
            "unverified_signals": state.index.unverified_signals,
            "held_polls": state.hub.waiting_count(),
        }
        # 503 while cut off from the cluster: a load balancer's health check moves new polls to another edge.
        return FeedReply(200 if ok else 503, json.dumps(body).encode())

    def _metrics(self) -> str:
        state = self.state
        lines = [
            "# TYPE tbot_feed_waiting gauge", f"tbot_feed_waiting {state.hub.waiting_count()}",
            "# TYPE tbot_signals_total counter", f"tbot_signals_total {state.index.total_signals}",
            "# TYPE tbot_signals_unverified_total counter",
            f"tbot_signals_unverified_total {state.index.unverified_signals}",
            "# TYPE tbot_feed_polls_total counter", f"tbot_feed_polls_total {state.feed_polls}",
            "# TYPE tbot_edge_nats_connected gauge", f"tbot_edge_nats_connected {int(state.connected)}",
            "# TYPE tbot_edge_bad_messages_total counter", f"tbot_edge_bad_messages_total {state.bad_messages}",
        ]
        return "\n".join(lines) + "\n"

    def _subscriber(self, scope: MutableMapping[str, Any]) -> Subscriber | FeedReply:
        """The request's subscriber, authenticated and within its rate; or the refusal to send."""
        state = self.state
        subscriber = authenticate_subscriber(self._feed_state, _authorization(scope))
        client = scope.get("client")
        if subscriber is None:
            if not state.anon_limiter.allow(client[0] if client else "unknown"):
                return _detail(429, "too many requests")
            return _detail(401, "a valid subscriber token is required", [(b"www-authenticate", b"Bearer")])
        if not state.limiter.allow(subscriber.subscriber_id):
            return _detail(429, "rate limit exceeded", [(b"retry-after", b"1")])
        return subscriber

    def _history(self, scope: MutableMapping[str, Any]) -> FeedReply:
        """``GET /api/signals/history``: the dashboard's pager over the resolutions relayed to this edge."""
        subscriber = self._subscriber(scope)
        if isinstance(subscriber, FeedReply):
            return subscriber
        params = query_params(scope.get("query_string", b""))
        since_epoch = None
        since = params.get("since")
        if since is not None:
            try:
                if not _DAY.match(since):
                    raise ValueError
                day = date.fromisoformat(since)
            except ValueError:
                return _detail(422, _field("query", "since", "must be a date, YYYY-MM-DD", "date_parsing"))
            since_epoch = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        surface = params.get("surface") or None
        if surface is not None and surface not in SURFACES:
            return _detail(422, _field("query", "surface", f"must be one of {', '.join(SURFACES)}", "literal_error"))
        try:
            limit = int(params.get("limit", "200"))
        except ValueError:
            return _detail(422, _field("query", "limit", "must be an integer", "int_parsing"))
        if limit < 1:
            return _detail(422, _field("query", "limit", "must be at least 1", "greater_than_equal"))
        limit = min(limit, self.state.settings.history_max_limit)
        cursor = params.get("cursor") or None
        if cursor is not None and len(cursor) > 200:
            return _detail(422, _field("query", "cursor", "at most 200 characters", "string_too_long"))
        try:
            position = list(decode_cursor(cursor, "h")) if cursor else [0] * len(SURFACES)
        except CursorError as exc:
            return _detail(400, str(exc))
        # The dashboard's own pager: an EdgeState has the members it reads (surfaces, index.refs, signal_record).
        items, final = _history_page(self._feed_state, position, surface, since_epoch, limit)
        page = HistoryResponse(items=items, next_cursor=encode_cursor(tuple(final), "h"))
        return FeedReply(200, page.model_dump_json().encode())

    async def _callback(self, scope: MutableMapping[str, Any], receive: Receive, signal_id: str,
                        kind: str) -> FeedReply:
        state = self.state
        body = await _read_body(scope, receive, state.settings.max_body_bytes)
        if body is None:
            return _detail(413, "request body too large")
        subscriber = self._subscriber(scope)
        if isinstance(subscriber, FeedReply):
            return subscriber
        if kind not in BODY_MODELS:
            return _detail(422, _field("path", "kind", "must be one of ack, executed, resolved", "literal_error"))
        if signal_id not in state.index.refs:
            return _detail(404, "unknown signal")  # never echo what was sent
        data = _json_object(scope, body)
        if isinstance(data, FeedReply):
            return data
        try:
            parsed = BODY_MODELS[kind].model_validate(data)
        except ValidationError as exc:
            return _body_errors(exc)
        try:
            return await self._record(subscriber.subscriber_id, signal_id, kind,
                                      parsed.model_dump(mode="json", exclude_none=True))
        except (nats.errors.Error, TimeoutError) as exc:
            # Not the request's fault: the cluster is unreachable from here. The client's outbox retries.
            log.warning("callback not recorded: JetStream unavailable (%s)", type(exc).__name__)
            return _detail(503, "callbacks are unavailable on this edge for a moment; retry",
                           [(b"retry-after", b"1")])

    async def _commission(self, scope: MutableMapping[str, Any], receive: Receive) -> FeedReply:
        """``POST /api/commission``: the dashboard's body model and answers; appended by the relay (fsync'd)."""
        body = await _read_body(scope, receive, self.state.settings.max_body_bytes)
        if body is None:
            return _detail(413, "request body too large")
        subscriber = self._subscriber(scope)
        if isinstance(subscriber, FeedReply):
            return subscriber
        data = _json_object(scope, body)
        if isinstance(data, FeedReply):
            return data
        try:
            parsed = CommissionBody.model_validate(data)
        except ValidationError as exc:
            return _body_errors(exc)
        try:
            return await self._record_commission(subscriber.subscriber_id, parsed)
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("commission not recorded: JetStream unavailable (%s)", type(exc).__name__)
            return _detail(503, "commission reports are unavailable on this edge for a moment; retry",
                           [(b"retry-after", b"1")])

    async def _record_commission(self, subscriber_id: str, body: CommissionBody) -> FeedReply:
        js = self.state.js
        if js is None:
            raise nats.errors.ConnectionClosedError
        subject = jsx.commission_subject(subscriber_id, body.id)
        record = CommissionRecord(subscriber_id=subscriber_id, report_id=body.id, amount_cents=body.amount_cents,
                                  crystallized_at=body.crystallized_at, received_at=utcnow())
        existing = await _last(js, subject)
        if existing is None:
            payload = json.dumps(record.model_dump(mode="json", by_alias=True), separators=(",", ":")).encode()
            ack = await js.publish(subject, payload, headers={jsx.MSG_ID: subject}, timeout=5)
            if not ack.duplicate:
                return FeedReply(201, json.dumps({"status": "recorded", "id": body.id}).encode())
            existing = await _last(js, subject)  # another edge stored this id a moment ago: compare with that
        if existing is not None:
            try:
                stored = CommissionRecord.model_validate(existing)
            except ValidationError:
                stored = None
            if stored is None or not same_commission(stored, body.amount_cents, body.crystallized_at):
                return _detail(409, "this commission report id was already recorded with other values")
        return FeedReply(200, json.dumps({"status": "duplicate", "id": body.id}).encode())

    async def _record(self, subscriber_id: str, signal_id: str, kind: str, body: dict[str, Any]) -> FeedReply:
        js = self.state.js
        if js is None:
            raise nats.errors.ConnectionClosedError
        subject = jsx.callback_subject(subscriber_id, signal_id, kind)
        answer = {"status": "duplicate", "signal_id": signal_id, "callback": kind}
        if await _exists(js, subject):
            return FeedReply(200, json.dumps(answer).encode())
        if kind == "resolved" and not await _exists(js, jsx.callback_subject(subscriber_id, signal_id, "executed")):
            return _detail(409, "resolved before executed: post the execution first")
        record = Callback(subscriber_id=subscriber_id, signal_id=signal_id, callback=kind,
                          body=body, received_at=utcnow())
        payload = json.dumps(record.to_json_dict(), separators=(",", ":")).encode()
        # The idempotency key is also the message id: two edges racing on the same key store it once.
        ack = await js.publish(subject, payload, headers={jsx.MSG_ID: subject}, timeout=5)
        if ack.duplicate:
            return FeedReply(200, json.dumps(answer).encode())
        answer["status"] = "recorded"
        return FeedReply(201, json.dumps(answer).encode())


def _authorization(scope: MutableMapping[str, Any]) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


def _json_object(scope: MutableMapping[str, Any], body: bytes) -> dict[str, Any] | FeedReply:
    """The body as a JSON object (empty = ``{}``), or the 422 to answer; NaN and Infinity refused, never echoed."""
    if body.strip() and is_json_request(scope["headers"]) and has_non_finite_number(body):
        return FeedReply(422, non_finite_reply())
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError):
        return _detail(422, [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}])
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return _detail(422, [{"loc": ["body"], "msg": "must be a JSON object", "type": "dict_type"}])
    return data


def _body_errors(exc: ValidationError) -> FeedReply:
    errors = safe_errors(exc.errors(include_input=False, include_url=False))
    for error in errors:
        error["loc"] = ["body", *error["loc"]]
    return _detail(422, errors)


async def _last(js: Any, subject: str) -> dict[str, Any] | None:
    """The record stored under ``subject`` in the callbacks stream, if any."""
    try:
        message = await js.get_last_msg(jsx.CALLBACKS_STREAM, subject)
    except nats.js.errors.NotFoundError:
        return None
    try:
        data = json.loads(message.data or b"")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def _exists(js: Any, subject: str) -> bool:
    return await _last(js, subject) is not None


async def _read_body(scope: MutableMapping[str, Any], receive: Receive, limit: int) -> bytes | None:
    """The request body, or None if it is larger than ``limit`` (refused before any of it is parsed)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and (not value.isdigit() or int(value) > limit):
            return None
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        more = message.get("more_body", False)
    return body


async def _send(send: Send, status: int, body: bytes, content_type: bytes,
                extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"x-content-type-options", b"nosniff"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
