"""Subscriber endpoints: the feed (documented here; usually answered by the fast path), callbacks, history,
commission and the operator's public key."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field, ValidationError

from dashboard.auth import state_of, subscriber_bearer
from dashboard.callbacks import BODY_MODELS, CommissionBody, CommissionRecord, same_commission
from dashboard.config import DashboardSettings
from dashboard.cursor import CursorError, decode_cursor, encode_cursor
from dashboard.feed_http import answer_feed, authenticate_subscriber
from dashboard.state import DashboardState
from dashboard.subscribers import Subscriber
from shared.audit.provenance import ResultKind, result_kind
from shared.records import SURFACES, Callback, Surface
from shared.timeutil import utcnow

router = APIRouter(tags=["subscriber"])

SurfaceName = Surface  # the records' Literal, kept equal to the table in shared/surfaces.py by a test


class FeedResponse(BaseModel):
    signals: list[dict[str, Any]]
    next_cursor: str


class CallbackResponse(BaseModel):
    status: Literal["recorded", "duplicate"]
    signal_id: str
    callback: str


class HistoryItem(BaseModel):
    signal: dict[str, Any]
    status: Literal["resolved"]
    fill_price: str | None
    exit_price: str | None
    resolved_at: str | None
    resolution_source: str | None
    result_kind: ResultKind = Field(description="Where this result comes from: sim (synthetic: a sim venue), "
                                    "real_data_paper (paper on a live venue's data) or live")
    pnl_cents: int
    outcome: Literal["win", "loss", "void"]


class HistoryResponse(BaseModel):
    items: list[HistoryItem]
    next_cursor: str


class CommissionResponse(BaseModel):
    status: Literal["recorded", "duplicate"]
    id: str


def _field_errors(exc: ValidationError, where: str = "body") -> list[dict[str, Any]]:
    return [
        {"loc": [where, *[str(p) for p in err["loc"]]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_input=False, include_url=False)
    ]


def subscriber_of(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(subscriber_bearer)]
) -> Subscriber:
    """The authenticated, rate-limited subscriber of this request."""
    state = state_of(request)
    auth = f"Bearer {credentials.credentials}" if credentials is not None else None
    subscriber = authenticate_subscriber(state, auth)
    client = request.client.host if request.client else "unknown"
    if subscriber is None:
        if not state.anon_limiter.allow(client):
            raise HTTPException(429, "too many requests")
        raise HTTPException(401, "a valid subscriber token is required", headers={"WWW-Authenticate": "Bearer"})
    if not state.limiter.allow(subscriber.subscriber_id):
        raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": "1"})
    return subscriber


SubscriberDep = Annotated[Subscriber, Depends(subscriber_of)]


@router.get("/api/signals/feed", response_model=FeedResponse, responses={400: {}, 401: {}, 422: {}, 429: {}})
async def feed(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(subscriber_bearer)],
    cursor: Annotated[str | None, Query(max_length=200, description="Opaque; omit to start at now")] = None,
    limit: Annotated[int | None, Query(ge=1, description="Signals per batch; more than the server's maximum is "
                                       "treated as its maximum")] = None,
    wait: Annotated[float | None, Query(ge=0, description="Seconds to hold when nothing is new; more than the "
                                        "server's maximum is treated as its maximum")] = None,
    surface: SurfaceName | None = None,
    sub_strategy: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Signals after ``cursor`` in publication order, held up to ``wait`` seconds when there are none.

    Expired signals are consumed but not delivered. ``next_cursor`` continues exactly after this batch.
    ``limit`` and ``wait`` above this server's maxima are clamped to them, never refused.
    """
    params = {
        k: str(v)
        for k, v in (("cursor", cursor), ("limit", limit), ("wait", wait), ("surface", surface),
                     ("sub_strategy", sub_strategy))
        if v is not None
    }
    auth = f"Bearer {credentials.credentials}" if credentials is not None else None
    client = request.client.host if request.client else "unknown"
    reply = await answer_feed(state_of(request), auth, params, client)
    headers = {k.decode(): v.decode() for k, v in reply.headers}
    headers["Cache-Control"] = "no-store"
    return Response(reply.body, reply.status, headers=headers, media_type="application/json")


@router.post(
    "/api/signals/{signal_id}/{kind}",
    response_model=CallbackResponse,
    status_code=201,
    responses={200: {"model": CallbackResponse}, 404: {}, 409: {}, 422: {}},
)
async def callback(
    request: Request,
    response: Response,
    subscriber: SubscriberDep,
    signal_id: Annotated[str, Path(min_length=1, max_length=64)],
    kind: Literal["ack", "executed", "resolved"],
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> CallbackResponse:
    """Record a subscriber's ack / executed / resolved report; idempotent per (subscriber, signal, kind).

    executed: ``{fill_price: str, quantity: int, fees_cents: int}``; resolved: ``{pnl_cents: int, resolved_at}``.
    """
    state = state_of(request)
    state.refresh()
    if state.signal_facts(signal_id) is None:
        raise HTTPException(404, "unknown signal")  # never echo what was sent
    try:
        parsed = BODY_MODELS[kind].model_validate(body or {})
    except ValidationError as exc:
        raise HTTPException(422, _field_errors(exc)) from None
    if state.callbacks.has(subscriber.subscriber_id, signal_id, kind):
        response.status_code = 200
        return CallbackResponse(status="duplicate", signal_id=signal_id, callback=kind)
    if kind == "resolved" and not state.callbacks.has(subscriber.subscriber_id, signal_id, "executed"):
        raise HTTPException(409, "resolved before executed: post the execution first")
    record = Callback(
        subscriber_id=subscriber.subscriber_id,
        signal_id=signal_id,
        callback=kind,
        body=parsed.model_dump(mode="json", exclude_none=True),
        received_at=utcnow(),
    )
    # No await between the idempotency check and the append: one event loop, so no duplicate can slip between.
    state.feed_log("callbacks").append(record)
    state.refresh()
    return CallbackResponse(status="recorded", signal_id=signal_id, callback=kind)


@router.get("/api/signals/history", response_model=HistoryResponse, responses={400: {}, 401: {}})
async def history(
    request: Request,
    subscriber: SubscriberDep,
    since: Annotated[date | None, Query(description="YYYY-MM-DD: signals published on or after this UTC day")] = None,
    surface: SurfaceName | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, description="Items per page; more than the server's maximum is treated as "
                                "its maximum")] = 200,
) -> HistoryResponse:
    """Resolved signals with their resolved operator trade, oldest resolution first, paged by cursor."""
    state = state_of(request)
    state.refresh()
    limit = min(limit, state.settings.history_max_limit)
    try:
        position = list(decode_cursor(cursor, "h")) if cursor else [0] * len(SURFACES)
    except CursorError as exc:
        raise HTTPException(400, str(exc)) from None
    since_epoch = datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp() if since else None
    items, final = _history_page(state, position, surface, since_epoch, limit)
    return HistoryResponse(items=items, next_cursor=encode_cursor(tuple(final), "h"))


def _resolved_from(
    log: list[tuple[int, int, float, str]], start: int, index: int
) -> Iterator[tuple[float, int, int, int, str]]:
    """Lazily, so a page reads only as far as its limit, however long the history behind the cursor."""
    for position in range(start, len(log)):
        offset, next_offset, moment, trade_id = log[position]
        yield moment, index, offset, next_offset, trade_id


def _history_page(
    state: DashboardState, position: list[int], surface: str | None, since_epoch: float | None, limit: int
) -> tuple[list[HistoryItem], list[int]]:
    chosen = SURFACES if surface is None else (surface,)
    slices = []
    for name in chosen:
        index = SURFACES.index(name)
        log = state.surfaces[name].resolved_log
        start = bisect.bisect_left(log, (position[index],))
        slices.append(_resolved_from(log, start, index))
    items: list[HistoryItem] = []
    exhausted = True
    for _moment, index, _offset, next_offset, trade_id in heapq.merge(*slices):
        if len(items) >= limit:
            exhausted = False
            break
        position[index] = next_offset
        name = SURFACES[index]
        trade = state.surfaces[name].trades.get(trade_id)
        if trade is None:
            continue
        ref = state.index.refs.get(trade["signal_id"])
        if ref is None or (since_epoch is not None and ref.published_at < since_epoch):
            continue
        signal = state.signal_record(trade["signal_id"])
        if signal is None:
            continue
        pnl = int(trade.get("pnl") or 0)
        items.append(
            HistoryItem(
                signal=signal,
                status="resolved",
                fill_price=trade.get("fill_price"),
                exit_price=trade.get("exit_price"),
                resolved_at=trade.get("resolved_at"),
                resolution_source=trade.get("resolution_source"),
                result_kind=result_kind(trade),
                pnl_cents=pnl,
                outcome="win" if pnl > 0 else "loss" if pnl < 0 else "void",
            )
        )
    if exhausted:
        for name in chosen:
            index = SURFACES.index(name)
            log = state.surfaces[name].resolved_log
            if log:
                position[index] = max(position[index], log[-1][1])
    return items, position


@router.post(
    "/api/commission",
    response_model=CommissionResponse,
    status_code=201,
    responses={200: {"model": CommissionResponse}, 409: {}, 422: {}},
)
async def commission(
    request: Request, response: Response, subscriber: SubscriberDep, body: CommissionBody
) -> CommissionResponse:
    """Record commission a subscriber's client crystallized; idempotent per (subscriber, id)."""
    state = state_of(request)
    state.refresh()
    existing = state.commission.seen.get((subscriber.subscriber_id, body.id))
    if existing is not None:
        if not same_commission(existing, body.amount_cents, body.crystallized_at):
            raise HTTPException(409, "this commission report id was already recorded with other values")
        response.status_code = 200
        return CommissionResponse(status="duplicate", id=body.id)
    record = CommissionRecord(
        subscriber_id=subscriber.subscriber_id,
        report_id=body.id,
        amount_cents=body.amount_cents,
        crystallized_at=body.crystallized_at,
        received_at=utcnow(),
    )
    state.feed_log("commission").append(record.model_dump(mode="json", by_alias=True))
    state.refresh()
    return CommissionResponse(status="recorded", id=body.id)


@router.get(
    "/api/signals/public-key",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def public_key(request: Request) -> Response:
    """The operator's Ed25519 public key (PEM, SubjectPublicKeyInfo): pin it and verify every signal."""
    return Response(state_of(request).public_key_pem, media_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})


def document_limits(app: FastAPI, settings: DashboardSettings) -> None:
    """Put this server's maxima (settings, not constants) into its OpenAPI schema.

    ``limit`` states the server's real maximum, so a client generated from the schema never asks for more than
    it will get; ``wait`` is documented with it. Larger values are clamped by the handlers, never refused.
    """
    maxima = {
        ("/api/signals/feed", "limit"): settings.feed_max_limit,
        ("/api/signals/history", "limit"): settings.history_max_limit,
    }
    wait_note = f" (here {settings.feed_max_wait_seconds:g} s)"
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI builds it once and caches it; patching again is harmless
        for (path, name), maximum in maxima.items():
            for param in schema.get("paths", {}).get(path, {}).get("get", {}).get("parameters", []):
                if param.get("name") == name:
                    _set_integer_maximum(param.get("schema", {}), maximum)
        for param in schema.get("paths", {}).get("/api/signals/feed", {}).get("get", {}).get("parameters", []):
            if param.get("name") == "wait" and not str(param.get("description", "")).endswith(wait_note):
                param["description"] = str(param.get("description", "")) + wait_note
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _set_integer_maximum(schema: dict[str, Any], maximum: int) -> None:
    if schema.get("type") == "integer":
        schema["maximum"] = maximum
    for option in schema.get("anyOf", []):
        _set_integer_maximum(option, maximum)
