"""Operator endpoints: every one needs ``DASHBOARD_API_TOKEN`` (header or session cookie), reads included.

Subscriber data appears here only as aggregates per surface; a figure aggregating fewer than ``MIN_COHORT``
subscribers is withheld (:mod:`dashboard.cohorts`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import weakref
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from dashboard.auth import (
    COOKIE,
    client_address,
    operator_bearer,
    operator_token,
    record_failure,
    refuse_if_locked_out,
    require_operator,
    state_of,
)
from dashboard.cohorts import subscriber_view
from dashboard.operator_state import downsample, total_equity
from dashboard.pm2 import surface_health
from dashboard.sessions import SESSION_SECONDS
from dashboard.state import DashboardState
from shared import killswitch
from shared.audit.provenance import result_kind, signal_kind
from shared.audit.skill import skill_by_surface
from shared.paths import stop_file
from shared.records import SURFACES, SettingsOverride, Signal, Surface, Trade, parse_record
from shared.risk.overrides import OVERRIDABLE, OverrideError, OverrideSet
from shared.surfaces import SURFACE_TABLE
from shared.timeutil import to_iso, utcnow

SurfaceName = Surface  # the records' Literal, kept equal to the table in shared/surfaces.py by a test
LIST_ACTIONS = ("suspend_category", "resume_category", "suspend_sub_strategy", "resume_sub_strategy")


def operator_only(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_bearer)]
) -> None:
    require_operator(request, credentials)


router = APIRouter(prefix="/api/operator", tags=["operator"], dependencies=[Depends(operator_only)])
session_router = APIRouter(prefix="/api/operator", tags=["operator"])


class LoginBody(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=512)]


class OverrideBody(BaseModel):
    surface: SurfaceName
    key: Annotated[str, Field(min_length=1, max_length=64)]
    value: Any = None


class StopBody(BaseModel):
    surface: SurfaceName | None = None
    reason: Annotated[str, Field(max_length=200)] = "operator stop (dashboard)"


class ResumeBody(BaseModel):
    surface: SurfaceName | None = None


def _iso(epoch: float) -> str:
    return to_iso(datetime.fromtimestamp(epoch, UTC))


def _stop_state(state: DashboardState) -> dict[str, Any]:
    return {
        "global": stop_file(state.log_dir).exists(),
        "surfaces": {s: stop_file(state.log_dir, s).exists() for s in SURFACES},
    }


@session_router.post("/session", status_code=204, responses={401: {}, 429: {}})
async def login(request: Request, body: LoginBody) -> Response:
    """Exchange the operator token for a new session cookie (for the browser UI); failures are limited."""
    state = state_of(request)
    client = client_address(request)
    refuse_if_locked_out(state, client)
    token = operator_token(request)
    if not hmac.compare_digest(body.token.encode(), token.encode()):
        record_failure(state, client)
        raise HTTPException(401, "wrong operator token")
    previous = request.cookies.get(COOKIE)
    if previous is not None:
        state.sessions.end(previous)  # this browser's earlier session, if any, ends with the new login
    response = Response(status_code=204)
    response.set_cookie(COOKIE, state.sessions.start(), httponly=True, samesite="strict", path="/",
                        max_age=SESSION_SECONDS)
    return response


@session_router.post("/logout", status_code=204)
async def logout(request: Request) -> Response:
    """End this browser's session: its cookie opens nothing from now on, even if kept."""
    session = request.cookies.get(COOKIE)
    if session is not None:
        state_of(request).sessions.end(session)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/overview")
async def overview(request: Request) -> dict[str, Any]:
    """Per-surface allocations (bankroll, exposure, caps, breakers), performance, STOP state, gate counts and the
    process's health (ok | stale | errored | stopped | unknown, PM2 status, restarts, last error line)."""
    state = state_of(request)
    state.refresh()
    pm2 = await asyncio.to_thread(state.pm2.status)
    surfaces = []
    for name, view in state.surfaces.items():
        surfaces.append(
            {
                **view.allocation(),
                **view.performance(),
                "health": _surface_health(state, name, pm2),
                "halted": killswitch.is_halted(state.log_dir, name),
                "gate_counts": dict(view.gate_counts),
                "orders": view.orders,
                "fills": view.fills,
                "signals": state.index.per_surface[SURFACES.index(name)],
            }
        )
    total = {
        "realized_cents": sum(v.realized_cents for v in state.surfaces.values()),
        "fees_cents": sum(v.fees_cents for v in state.surfaces.values()),
        "resolved": sum(v.resolved for v in state.surfaces.values()),
        "wins": sum(v.wins for v in state.surfaces.values()),
        "exposure_cents": sum(s["exposure_cents"] for s in surfaces),
        "bankroll_cents": sum(s["bankroll_cents"] for s in surfaces),
    }
    return {
        "mode": state.settings.trading_mode,
        "generated_at": to_iso(utcnow()),
        "stop": _stop_state(state),
        "surfaces": surfaces,
        "total": total,
    }


def _surface_health(state: DashboardState, name: str, pm2: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The surface's process as PM2 and its heartbeats see it (dashboard.pm2.surface_health), for the red banner."""
    process = SURFACE_TABLE[name].process
    app = next((a for a in pm2 or [] if a.get("name") == process), None)
    beats = [beat["at_epoch"] for beat in state.surfaces[name].heartbeats.values()]
    now = state.clock()
    return surface_health(
        process,
        app,
        pm2_running=pm2 is not None,
        beat_age=now - max(beats) if beats else None,
        stale_after=state.settings.heartbeat_stale_seconds,
        err_log=state.log_dir / "pm2" / f"{process}.err.log",
        now_ms=now * 1000,
    )


# (portfolio versions, rows) of the last skill table per dashboard: recomputed only when a trade log has moved.
class _SkillCache:
    """The last skill table and the signals it scored. Signals are immutable, so each is read and parsed once; the
    table is recomputed only when a shown surface's resolved results change (not on every intent or fill)."""

    def __init__(self) -> None:
        self.key: tuple[tuple[int, int, int], ...] | None = None
        self.rows: list[dict[str, Any]] = []
        self.signals: dict[str, Signal | None] = {}

    def signal(self, state: DashboardState, signal_id: str) -> Signal | None:
        if signal_id not in self.signals:
            data = state.signal_record(signal_id)
            if data is None:
                return None  # not indexed (yet, or any more): asked again next time
            try:
                self.signals[signal_id] = parse_record(Signal, data)
            except ValueError:
                self.signals[signal_id] = None  # an unreadable line: its trade cannot be scored against its forecast
        return self.signals[signal_id]


_SKILL_CACHE: weakref.WeakKeyDictionary[DashboardState, _SkillCache] = weakref.WeakKeyDictionary()


@router.get("/skill")
async def skill(request: Request) -> dict[str, Any]:
    """Skill against the market per result kind, surface and sub-strategy (shared.audit.skill): the strategy's
    Brier beside the market's own, the skill score and realized vs claimed edge, each row labelled by source."""
    state = state_of(request)
    state.refresh()
    cache = _SKILL_CACHE.get(state)
    if cache is None:
        cache = _SKILL_CACHE[state] = _SkillCache()
    key = tuple((v.portfolio.resolved, v.portfolio.realized_cents, v.portfolio.fees_realized_cents)
                for v in state.surfaces.values())
    if cache.key != key:
        trades: list[Trade] = []
        signals: dict[str, Signal] = {}
        for view in state.surfaces.values():
            for trade in view.portfolio.trades():
                if trade.status != "resolved":
                    continue
                signal = cache.signal(state, trade.signal_id)
                if signal is not None:
                    signals[trade.signal_id] = signal
                    trades.append(trade)
        cache.rows = [row.to_json() for row in skill_by_surface(trades, signals)]
        cache.key = key
    return {"generated_at": to_iso(utcnow()), "rows": cache.rows}


@router.get("/equity")
async def equity(request: Request) -> dict[str, Any]:
    """Cumulative realized P&L (cents) over time, per surface and in total, downsampled for drawing."""
    state = state_of(request)
    state.refresh()
    limit = state.settings.equity_max_points
    curves = {name: view.equity for name, view in state.surfaces.items()}
    return {
        "surfaces": {name: [[_iso(t), v] for t, v in downsample(points, limit)] for name, points in curves.items()},
        "total": [[_iso(t), v] for t, v in downsample(total_equity(curves), limit)],
    }


@router.get("/signals")
async def signals(
    request: Request,
    surface: SurfaceName | None = None,
    sub_strategy: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Recent signals, newest first, with their trade's status (the live feed panel)."""
    state = state_of(request)
    state.refresh()
    items: list[dict[str, Any]] = []
    sub_strategies: set[str] = set()
    for item in state.index.recent(2000):
        name = SURFACES[item.surface]
        sub_strategies.add(f"{name}/{item.sub_strategy}")
        if surface not in (None, name) or sub_strategy not in (None, item.sub_strategy):
            continue
        if len(items) >= limit:
            continue
        data = json.loads(item.payload)
        data.pop("signature", None)
        trade_id = state.surfaces[name].trades_by_signal.get(item.id)
        trade = state.surfaces[name].trades.get(trade_id) if trade_id else None
        data["trade_status"] = trade["status"] if trade else None
        data["pnl"] = trade.get("pnl") if trade else None
        data["expired"] = item.expires_at <= state.clock()
        data["result_kind"] = result_kind(trade) if trade else signal_kind(data)  # sim | real_data_paper | live
        items.append(data)
    return {"items": items, "sub_strategies": sorted(sub_strategies)}


@router.get("/trades")
async def trades(
    request: Request, surface: SurfaceName | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    """Latest state of recent trades, newest first."""
    state = state_of(request)
    state.refresh()
    rows = [t for name, v in state.surfaces.items() if surface in (None, name) for t in v.latest_trades(limit)]
    rows.sort(key=lambda t: t["ts"], reverse=True)
    return {"items": [{**t, "result_kind": result_kind(t)} for t in rows[:limit]]}


@router.get("/decisions")
async def decisions(
    request: Request, surface: SurfaceName | None = None, limit: Annotated[int, Query(ge=1, le=300)] = 100
) -> dict[str, Any]:
    """Recent decisions (every candidate, accepted or stopped, with the stopping gate)."""
    state = state_of(request)
    state.refresh()
    rows = [
        {**d, "surface": name} for name, v in state.surfaces.items() if surface in (None, name) for d in v.decisions
    ]
    rows.sort(key=lambda d: str(d.get("decided_at")), reverse=True)
    return {"items": rows[:limit]}


def _audit(state: DashboardState, surface: str, signal_id: str, trade_id: str | None) -> dict[str, Any]:
    signal = state.signal_record(signal_id)
    decision = state.decision_for(surface, signal_id)
    trade_states = state.trade_states(surface, trade_id) if trade_id else []
    last = trade_states[-1] if trade_states else None
    context = decision.get("context", {}) if decision else {}
    answers = context.get("model_answers") if isinstance(context, dict) else None
    return {
        "surface": surface,
        "signal": signal,
        "decision": decision,
        "model_answers": answers if isinstance(answers, list) else [],
        "model_spread": (decision or {}).get("model_spread", (signal or {}).get("model_spread")),
        "trades": trade_states,
        "fees_cents": last.get("fees") if last else None,
        "pnl_cents": last.get("pnl") if last else None,
        "resolution_source": last.get("resolution_source") if last else None,
    }


@router.get("/audit/signal/{signal_id}", responses={404: {}})
async def audit_signal(request: Request, signal_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """The audit drawer for a signal: the signal, its decision with every gate, model answers, trade states."""
    state = state_of(request)
    state.refresh()
    ref = state.index.refs.get(signal_id)
    if ref is None:
        raise HTTPException(404, "unknown signal")
    return _audit(state, ref.surface, signal_id, state.surfaces[ref.surface].trades_by_signal.get(signal_id))


@router.get("/audit/trade/{trade_id}", responses={404: {}})
async def audit_trade(request: Request, trade_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """The audit drawer for a trade (same content, found from the trade's id)."""
    state = state_of(request)
    state.refresh()
    for name, view in state.surfaces.items():
        trade = view.trades.get(trade_id)
        if trade is not None:
            return _audit(state, name, trade["signal_id"], trade_id)
    raise HTTPException(404, "unknown trade")


@router.get("/subscribers")
async def subscribers(request: Request) -> dict[str, Any]:
    """Subscriber aggregates per surface; a figure aggregating fewer than MIN_COHORT subscribers is withheld."""
    state = state_of(request)
    state.refresh()
    return subscriber_view(state)


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Heartbeats per process (stale ones flagged), PM2 status when PM2 runs, and the feed's load."""
    state = state_of(request)
    state.refresh()
    now = state.clock()
    stale_after = state.settings.heartbeat_stale_seconds
    beats = []
    for name, view in state.surfaces.items():
        for beat in view.heartbeats.values():
            beats.append({**beat, "surface": name, "stale": now - beat["at_epoch"] > stale_after})
    pm2 = await asyncio.to_thread(state.pm2.status)
    return {
        "heartbeats": beats,
        "pm2": pm2,
        "feed": {"held_connections": state.hub.held, "polls": state.feed_polls},
        "corrupt_lines": state.tailer.corrupt_lines(),
        # Signals whose signature does not verify against the operator's key: never served, counted here.
        "unverified_signals": state.index.unverified_signals,
        "uptime_seconds": round(now - state.started_at, 1),
    }


@router.get("/settings")
async def settings_view(request: Request) -> dict[str, Any]:
    """Current overrides per surface, the keys that may be overridden, and the STOP state."""
    state = state_of(request)
    state.refresh()
    out = {}
    for name, view in state.surfaces.items():
        effective = view.override_set.settings
        out[name] = {
            "overrides": list(view.overrides.values()),
            "rejected_overrides": view.rejected_overrides,
            "suspended_categories": list(effective.suspended_categories),
            "suspended_sub_strategies": list(effective.suspended_sub_strategies),
            "effective": {key: _jsonable(getattr(effective, key)) for key in sorted(OVERRIDABLE)},
        }
    return {
        "surfaces": out,
        "overridable": sorted(OVERRIDABLE),
        "list_actions": LIST_ACTIONS,
        "stop": _stop_state(state),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _override_error(key: str, value: Any, message: str) -> list[dict[str, Any]]:
    """The field and, as a sentence the operator can act on, what is wrong; never what was sent (a value pasted into
    the wrong box may be a secret). The key is named only when it is a real setting."""
    message = message.removeprefix(f"{key}: ")
    field = "key" if message.startswith("not a setting") else "value"
    sent = "" if value is None else str(value).strip()
    if len(sent) >= 3 and sent in message:  # short values ("0", "-1") also occur in bounds, and are no secret
        message = "invalid value for this setting"
    return [{"loc": ["body", field], "msg": _sentence(key, field, message), "type": "value_error"}]


def _sentence(key: str, field: str, message: str) -> str:
    """``min_edge was not changed: the value should be greater than or equal to 0.`` from pydantic's terse text."""
    if field == "key":
        return "That setting cannot be changed from the dashboard; pick one from the list."
    reason = message.strip().rstrip(".")
    reason = reason.replace("Input should be", "the value should be").replace("Value error, ", "")
    reason = reason[:1].lower() + reason[1:] if reason[:2] != reason[:2].upper() else reason
    known = key in OVERRIDABLE or key in LIST_ACTIONS
    return f"{key if known else 'The setting'} was not changed: {reason}."


@router.post("/overrides", status_code=201, responses={422: {}})
async def post_override(request: Request, body: OverrideBody) -> dict[str, Any]:
    """Write a SettingsOverride record; the surface's loop applies it within a tick."""
    state = state_of(request)
    key = body.key.strip().lower()
    try:
        # Validated with the loop's own rules first, so the operator hears about a bad value now, not in a log.
        trial = OverrideSet(state.surfaces[body.surface].override_set.base)
        trial.values = dict(state.surfaces[body.surface].override_set.values)
        trial.settings = state.surfaces[body.surface].override_set.settings
        trial.apply(key, body.value)
    except OverrideError as exc:
        raise HTTPException(422, _override_error(key, body.value, str(exc))) from None
    record = SettingsOverride(surface=body.surface, at=utcnow(), key=key, value=body.value)
    state.surface_log(body.surface, "overrides").append(record)
    state.refresh()
    return {"status": "recorded", "surface": body.surface, "key": key}


@router.post("/stop")
async def stop(request: Request, body: StopBody) -> dict[str, Any]:
    """Write ``logs/STOP`` (or ``logs/STOP.<surface>``): order placement halts within one loop tick."""
    state = state_of(request)
    path = killswitch.halt(state.log_dir, body.surface, body.reason)
    return {"halted": body.surface or "all", "file": path.name, "stop": _stop_state(state)}


@router.post("/resume")
async def resume(request: Request, body: ResumeBody) -> dict[str, Any]:
    """Remove the STOP file (and, for one surface, lift a rapid-exit quarantine, as ``tbot resume`` does)."""
    state = state_of(request)
    removed = killswitch.resume(state.log_dir, body.surface)
    lifted = False
    if body.surface is not None:
        from shared.risk.breakers import lift_quarantine

        lifted = lift_quarantine(state.log_dir, body.surface, "operator resume (dashboard)")
    return {"removed": removed, "quarantine_lifted": lifted, "stop": _stop_state(state)}
