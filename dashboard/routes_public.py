"""Public pages: the login page, the delayed demo (cacheable at the edge), /healthz and /metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials

from dashboard.auth import is_operator, operator_bearer, state_of
from dashboard.metrics import Exposition
from dashboard.state import DashboardState
from shared.records import SURFACES
from shared.timeutil import to_iso, utcnow

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(tags=["public"])

_DEMO_FIELDS = ("id", "published_at", "surface", "sub_strategy", "instrument", "title", "side", "limit_price",
                "edge", "confidence", "dry_run")


def static_text(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_bearer)]
) -> Response:
    if not is_operator(request, credentials):
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse(static_text("index.html"), headers={"Cache-Control": "no-store"})


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page() -> HTMLResponse:
    return HTMLResponse(static_text("login.html"), headers={"Cache-Control": "no-store"})


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
async def demo_page(request: Request) -> HTMLResponse:
    seconds = state_of(request).settings.demo_cache_seconds
    return HTMLResponse(static_text("demo.html"), headers=_edge_cache(seconds))


def _edge_cache(seconds: int) -> dict[str, str]:
    return {
        "Cache-Control": f"public, max-age={seconds}, s-maxage={seconds}, stale-while-revalidate={seconds}",
        "Vary": "Accept-Encoding",
    }


@router.get("/api/demo")
async def demo_data(request: Request) -> Response:
    """Delayed signals (older than DEMO_DELAY_SECONDS) and aggregate performance per surface; no auth, cacheable."""
    state = state_of(request)
    state.refresh()
    horizon = state.clock() - state.settings.demo_delay_seconds
    signals = []
    for item in state.index.recent(500):
        if item.published_at > horizon:
            continue
        data = json.loads(item.payload)
        signals.append({key: data.get(key) for key in _DEMO_FIELDS})
        if len(signals) >= 50:
            break
    performance = [view.performance() for view in state.surfaces.values()]
    payload = {
        "generated_at": to_iso(utcnow()),
        "delay_seconds": state.settings.demo_delay_seconds,
        "signals": signals,
        "performance": performance,
    }
    return Response(json.dumps(payload), media_type="application/json",
                    headers=_edge_cache(state.settings.demo_cache_seconds))


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: the app answers and follows its logs."""
    state = state_of(request)
    return {"status": "ok", "uptime_seconds": round(state.clock() - state.started_at, 1), "mode":
            state.settings.trading_mode}


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}, 401: {}})
async def metrics(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_bearer)]
) -> Response:
    """Prometheus metrics (operator token unless METRICS_PUBLIC=true)."""
    state = state_of(request)
    if not state.settings.metrics_public and not is_operator(request, credentials):
        raise HTTPException(401, "operator token required", headers={"WWW-Authenticate": "Bearer"})
    state.refresh()
    return Response(render_metrics(state), media_type="text/plain; version=0.0.4; charset=utf-8")


def render_metrics(state: DashboardState) -> str:
    out = Exposition()
    out.metric("tbot_signals_total", "counter", "Signals published, by surface",
               [({"surface": s}, state.index.per_surface[i]) for i, s in enumerate(SURFACES)])
    gates = [
        ({"surface": s, "gate": g}, n) for s, v in state.surfaces.items() for g, n in sorted(v.gate_counts.items())
    ]
    out.metric("tbot_decisions_total", "counter", "Decisions by surface and stopping gate (accepted if none)", gates)
    out.metric("tbot_orders_total", "counter", "Orders placed, by surface",
               [({"surface": s}, v.orders) for s, v in state.surfaces.items()])
    out.metric("tbot_fills_total", "counter", "Orders filled, by surface",
               [({"surface": s}, v.fills) for s, v in state.surfaces.items()])
    out.metric("tbot_realized_pnl_cents", "gauge", "Realized P&L after fees, by surface",
               [({"surface": s}, v.realized_cents) for s, v in state.surfaces.items()])
    out.metric("tbot_feed_waiting", "gauge", "Subscriber long-polls held right now", [({}, state.hub.held)])
    out.metric("tbot_feed_polls_total", "counter", "Feed requests served", [({}, state.feed_polls)])
    out.metric("tbot_subscribers_active", "gauge", "Active subscriber tokens", [({}, len(state.subscribers.active()))])
    corrupt = state.tailer.corrupt_lines()
    out.metric("tbot_log_corrupt_lines_total", "counter", "Corrupt log lines skipped", [({}, corrupt)])
    out.histogram("tbot_feed_latency_seconds", "From a signal's append to its delivery to a waiting subscriber",
                  state.feed_latency)
    return out.render()
