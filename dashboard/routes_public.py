"""Public pages: the login page, the delayed demo (cacheable at the edge), /healthz and /metrics."""

from __future__ import annotations

import json
import weakref
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError

from dashboard.auth import is_operator, operator_bearer, state_of
from dashboard.cohorts import active_subscribers
from dashboard.metrics import Exposition
from dashboard.state import DashboardState
from shared.audit.provenance import REAL_KINDS, RESULT_KINDS, result_label, signal_kind
from shared.bus import LogReader
from shared.money.portfolio import ClassTotals
from shared.paths import open_stream
from shared.records import SURFACES, Signal, parse_record
from shared.signing import ChainCheck, load_public_key
from shared.timeutil import to_iso, utcnow

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(tags=["public"])

_DEMO_FIELDS = ("id", "published_at", "surface", "sub_strategy", "instrument", "title", "side", "limit_price",
                "edge", "confidence", "dry_run")
NO_REAL_RESULTS = ("no real-data results yet; the paper fleet trades on simulated markets, whose results are "
                   "synthetic and not shown here")


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
        shown = {key: data.get(key) for key in _DEMO_FIELDS}
        kind = signal_kind(data)
        shown["result_kind"], shown["result_label"] = kind, result_label(kind)
        signals.append(shown)
        if len(signals) >= 50:
            break
    performance, synthetic = real_performance(state)
    chain = history_chain(state)
    breaks = chain.breaks()
    payload = {
        "generated_at": to_iso(utcnow()),
        "delay_seconds": state.settings.demo_delay_seconds,
        "signals": signals,
        # Only results from real market data (real-data paper, live): a sim's results are synthetic, so the public
        # page never advertises them, and says so when there is nothing else.
        "performance": performance,
        "performance_note": None if performance else NO_REAL_RESULTS,
        "synthetic_results_hidden": synthetic,
        # The published history checked server-side against the operator's key and the per-surface hash chain.
        "history": {"verified": not breaks, "signals": chain.signals, "summary": chain.summary(),
                    "first_break": None if not breaks else {"signal_id": breaks[0].signal_id,
                                                            "surface": breaks[0].surface}},
    }
    return Response(json.dumps(payload), media_type="application/json",
                    headers=_edge_cache(state.settings.demo_cache_seconds))


class _HistoryChain:
    """Every surface's signal log, read incrementally (a byte-offset reader each, never a rescan) into one
    :class:`ChainCheck` over the operator's whole published history (complete: a missing link is a break)."""

    def __init__(self, state: DashboardState) -> None:
        self.check = ChainCheck(load_public_key(state.public_key_pem), complete=True)
        self.readers: list[LogReader] = [open_stream(state.log_dir, s, "signals").reader() for s in SURFACES]

    def refresh(self) -> ChainCheck:
        for reader in self.readers:
            for entry in reader.read():
                if entry.data.get("kind") != "signal":
                    continue
                try:
                    self.check.add(parse_record(Signal, entry.data, entry.ts))
                except ValidationError:
                    continue  # the index counts and logs a malformed line; it is no link of the chain
        return self.check


_CHAINS: weakref.WeakKeyDictionary[DashboardState, _HistoryChain] = weakref.WeakKeyDictionary()


def history_chain(state: DashboardState) -> ChainCheck:
    """The chain check of this dashboard's logs, brought up to date."""
    chain = _CHAINS.get(state)
    if chain is None:
        chain = _CHAINS[state] = _HistoryChain(state)
    return chain.refresh()


def real_performance(state: DashboardState) -> tuple[list[dict[str, Any]], int]:
    """Resolved results per surface and kind from real market data only; and how many synthetic ones were left out.

    Read off each surface's portfolio fold (both modes), which keeps its resolved totals per result kind: no second
    count over the trades.
    """
    rows: list[dict[str, Any]] = []
    synthetic = 0
    for name, view in state.surfaces.items():
        totals: dict[str, ClassTotals] = {}
        for portfolio in view.portfolios.values():
            for kind, part in portfolio.by_class.items():
                merged = totals.setdefault(kind, ClassTotals())
                merged.resolved += part.resolved
                merged.wins += part.wins
                merged.realized_cents += part.realized_cents
                merged.fees_cents += part.fees_cents
        for kind in RESULT_KINDS:
            found = totals.get(kind)
            if found is None or not found.resolved:
                continue
            if kind not in REAL_KINDS:
                synthetic += found.resolved
                continue
            rows.append({"surface": name, "result_kind": kind, "label": result_label(kind),
                         "resolved": found.resolved, "wins": found.wins, "realized_cents": found.realized_cents,
                         "fees_cents": found.fees_cents, "win_rate": found.wins / found.resolved})
    return rows, synthetic


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
    active = active_subscribers(state)  # no sample while fewer than MIN_COHORT, as in the subscribers view
    out.metric("tbot_subscribers_active", "gauge", "Active subscriber tokens", [] if active is None else [({}, active)])
    out.metric("tbot_signals_unverified_total", "counter", "Signals refused: signature does not verify, by surface",
               [({"surface": s}, state.index.unverified_per_surface[i]) for i, s in enumerate(SURFACES)])
    corrupt = state.tailer.corrupt_lines()
    out.metric("tbot_log_corrupt_lines_total", "counter", "Corrupt log lines skipped", [({}, corrupt)])
    out.histogram("tbot_feed_latency_seconds", "From a signal's append to its delivery to a waiting subscriber",
                  state.feed_latency)
    return out.render()
