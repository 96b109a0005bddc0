"""What the operator sees, folded incrementally from each surface's trades, decisions, heartbeats, events and
overrides logs: allocations, P&L and equity curves, breaker state, recent decisions and process health."""

from __future__ import annotations

import json
import os
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.audit.provenance import result_kind
from shared.bus import Entry
from shared.config import ConfigError, SurfaceSettings, parse_env_file
from shared.money.periods import trading_day
from shared.money.portfolio import Portfolio
from shared.records import (
    TERMINAL_STATUSES,
    BreakerEvent,
    Decision,
    Heartbeat,
    SettingsOverride,
    Trade,
    parse_record,
)
from shared.risk.overrides import OverrideError, OverrideSet
from shared.surfaces import SURFACE_TABLE
from shared.timeutil import from_iso

ENV_FILES = {spec.name: spec.env_file for spec in SURFACE_TABLE.values()}
CAP_KEYS = (
    "bankroll_cents",
    "max_position_cents",
    "per_market_cap_cents",
    "daily_loss_limit_cents",
    "weekly_loss_limit_cents",
    "max_open_positions",
)


def read_line(path: Path, offset: int, length: int) -> dict[str, Any] | None:
    """One record by its byte range (an audit lookup: one pread, no scan)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        raw = os.pread(fd, length, offset)
    finally:
        os.close(fd)
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def surface_settings(env_dir: Path, surface: str) -> SurfaceSettings:
    """The surface's shared settings from its env file (or its example); defaults where neither says otherwise.

    Only keys that ``SurfaceSettings`` declares are taken: a surface's own extra keys are its business.
    """
    name = ENV_FILES[surface]
    fields = SurfaceSettings.model_fields
    for candidate in (env_dir / name, env_dir / f"{name}.example"):
        if not candidate.exists():
            continue
        try:
            values = parse_env_file(candidate)
            known = {k.lower(): v for k, v in values.items() if k.lower() in fields and v != ""}
            known.pop("trading_mode", None)  # the dashboard shows caps; a live surface's credentials are not needed
            known.pop("venue", None)
            return SurfaceSettings.model_validate(known)
        except (ConfigError, ValidationError):
            break
    return SurfaceSettings.model_validate({})


def surface_mode(env_dir: Path, surface: str, default: str = "paper") -> str:
    """The surface's ``TRADING_MODE`` from its env file (or example): the ledger the dashboard shows is that mode's."""
    name = ENV_FILES[surface]
    for candidate in (env_dir / name, env_dir / f"{name}.example"):
        if not candidate.exists():
            continue
        try:
            mode = parse_env_file(candidate).get("TRADING_MODE", "")
        except ConfigError:
            break
        return mode if mode in ("paper", "live") else default
    return default


def _portfolio(name: str, mode: str, settings: SurfaceSettings) -> Portfolio:
    return Portfolio(name, mode, bankroll_cents=settings.bankroll_cents, day_boundary_tz=settings.day_boundary_tz,
                     classify=result_kind)


@dataclass(slots=True)
class SurfaceView:
    """One surface's state as the logs say."""

    name: str
    override_set: OverrideSet
    mode: str = "paper"
    # The money: the one portfolio fold (shared/money/portfolio.py) per trading mode, the same fold the loop's
    # risk chain and breakers use, so the panel and the breaker beside it cannot disagree.
    portfolios: dict[str, Portfolio] = field(default_factory=dict)
    # Display indexes over the log (latest line per trade, byte ranges for the audit drawer): no money here.
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)
    trade_refs: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    trades_by_signal: dict[str, str] = field(default_factory=dict)
    recent_trades: deque[str] = field(default_factory=lambda: deque(maxlen=2000))
    # (bus time, cumulative realized P&L of the shown mode) at each resolution: when the result was booked.
    equity: list[tuple[float, int]] = field(default_factory=list)
    resolved_log: list[tuple[int, int, float, str]] = field(default_factory=list)
    decisions: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=300))
    decision_refs: dict[str, tuple[int, int]] = field(default_factory=dict)
    gate_counts: Counter[str] = field(default_factory=Counter)
    breakers: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected_overrides: int = 0
    heartbeats: dict[str, dict[str, Any]] = field(default_factory=dict)
    invalid_records: int = 0

    def __post_init__(self) -> None:
        settings = self.override_set.base
        for mode in ("paper", "live"):
            self.portfolios.setdefault(mode, _portfolio(self.name, mode, settings))

    @property
    def portfolio(self) -> Portfolio:
        """The fold of the mode this surface trades in."""
        return self.portfolios[self.mode]

    # ------------------------------------------------------------------ folding
    def apply_trades(self, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                trade = parse_record(Trade, entry.data, entry.ts)
            except ValidationError:
                self.invalid_records += 1
                continue
            portfolio = self.portfolios.get(trade.mode)
            previous = portfolio.trade(trade.id) if portfolio is not None else None
            if portfolio is None or not portfolio.apply(trade):
                continue  # another surface's line, or a stale state the fold ignores
            data = trade.to_json_dict()
            data["ts"] = entry.ts
            self.trades[trade.id] = data
            self.trade_refs.setdefault(trade.id, []).append((entry.offset, entry.next_offset - entry.offset))
            self.trades_by_signal[trade.signal_id] = trade.id
            self.recent_trades.append(trade.id)
            if trade.status == "resolved" and (previous is None or previous.status != "resolved"):
                moment = from_iso(entry.ts).timestamp()
                if trade.mode == self.mode:
                    self.equity.append((moment, portfolio.realized_cents))
                self.resolved_log.append((entry.offset, entry.next_offset, moment, trade.id))

    @property
    def realized_cents(self) -> int:
        return self.portfolio.realized_cents

    @property
    def fees_cents(self) -> int:
        return self.portfolio.fees_realized_cents

    @property
    def resolved(self) -> int:
        return self.portfolio.resolved

    @property
    def wins(self) -> int:
        return self.portfolio.wins

    @property
    def orders(self) -> int:
        return self.portfolio.placed

    @property
    def fills(self) -> int:
        return self.portfolio.filled

    def venue_now(self) -> datetime:
        """The surface's venue clock as its loop last reported it (a sim replays history); wall time otherwise."""
        for beat in self.heartbeats.values():
            stamp = beat["detail"].get("venue_time")
            if isinstance(stamp, str):
                try:
                    return from_iso(stamp)
                except ValueError:
                    break
        return datetime.now(UTC)

    def apply_decisions(self, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                decision = parse_record(Decision, entry.data, entry.ts)
            except ValidationError:
                self.invalid_records += 1
                continue
            # A summary line stands for ``repeats`` identical denials (surfaces/decision_log.py).
            self.gate_counts[decision.stopped_by or "accepted"] += decision.repeats
            self.decision_refs[decision.candidate_id] = (entry.offset, entry.next_offset - entry.offset)
            self.decisions.append(
                {
                    "id": decision.id,
                    "candidate_id": decision.candidate_id,
                    "decided_at": entry.data.get("decided_at"),
                    "sub_strategy": decision.sub_strategy,
                    "instrument": decision.instrument,
                    "side": decision.side,
                    "accepted": decision.accepted,
                    "stopped_by": decision.stopped_by,
                    "reason_code": decision.reason_code,
                    "edge": decision.edge,
                    "confidence": decision.confidence,
                    "repeats": decision.repeats,
                }
            )

    def apply_heartbeats(self, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                beat = parse_record(Heartbeat, entry.data, entry.ts)
            except ValidationError:
                self.invalid_records += 1
                continue
            self.heartbeats[beat.process] = {
                "process": beat.process,
                "at": entry.data.get("at"),
                # Staleness is judged on the bus stamp (wall time); ``at`` may be a sim loop's venue clock.
                "at_epoch": from_iso(entry.ts).timestamp(),
                "tick": beat.tick,
                "pid": beat.pid,
                "detail": _safe_detail(beat.detail),
            }

    def apply_events(self, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                event = parse_record(BreakerEvent, entry.data, entry.ts)
            except ValidationError:
                self.invalid_records += 1
                continue
            for portfolio in self.portfolios.values():
                portfolio.apply_event(event)
            self.breakers[event.breaker] = {
                "breaker": event.breaker,
                "tripped": event.action == "trip",
                "at": entry.data.get("at"),
                "reason": event.reason,
            }

    def apply_overrides(self, entries: list[Entry]) -> None:
        for entry in entries:
            try:
                override = parse_record(SettingsOverride, entry.data, entry.ts)
            except ValidationError:
                self.invalid_records += 1
                continue
            if override.surface != self.name:
                continue
            try:
                self.override_set.apply(override.key, override.value)
            except OverrideError:
                self.rejected_overrides += 1  # the loop skips it too; shown as rejected, never applied
                continue
            if override.value is None:
                self.overrides.pop(override.key, None)  # reverted to the env file's value: no longer an override
                continue
            self.overrides[override.key] = {"key": override.key, "value": override.value, "at": entry.data.get("at")}

    # ------------------------------------------------------------------ views
    def latest_trades(self, limit: int) -> list[dict[str, Any]]:
        """The most recently updated trades (latest state each), newest first, without sorting every trade."""
        seen: set[str] = set()
        rows = []
        for trade_id in reversed(self.recent_trades):
            if trade_id in seen:
                continue
            seen.add(trade_id)
            rows.append(self.trades[trade_id])
            if len(rows) >= limit:
                break
        return rows

    def open_trades(self) -> list[dict[str, Any]]:
        return [t for t in self.trades.values() if t["status"] not in TERMINAL_STATUSES]

    def allocation(self) -> dict[str, Any]:
        effective = self.override_set.settings
        caps = {key: int(getattr(effective, key)) for key in CAP_KEYS}
        portfolio = self.portfolio
        now = self.venue_now()
        return {
            "surface": self.name,
            "mode": self.mode,
            "bankroll_cents": caps["bankroll_cents"] + portfolio.realized_cents,
            "starting_bankroll_cents": caps["bankroll_cents"],
            "exposure_cents": portfolio.exposure_cents,
            "open_positions": portfolio.open_positions,
            "caps": caps,
            # The breakers' day: the venue day of the loop's clock in the surface's DAY_BOUNDARY_TZ.
            "venue_day": trading_day(now, portfolio.day_boundary_tz).isoformat(),
            "daily_pnl_cents": portfolio.realized_today(now),
            "weekly_pnl_cents": portfolio.realized_this_week(now),
            "drawdown": float(portfolio.drawdown),
            "breakers": sorted(self.breakers.values(), key=lambda b: b["breaker"]),
            "breaker_tripped": any(b["tripped"] for b in self.breakers.values()),
        }

    def performance(self) -> dict[str, Any]:
        portfolio = self.portfolio
        return {
            "surface": self.name,
            "realized_cents": portfolio.realized_cents,
            "fees_cents": portfolio.fees_realized_cents,
            "resolved": portfolio.resolved,
            "wins": portfolio.wins,
            "win_rate": (portfolio.wins / portfolio.resolved) if portfolio.resolved else None,
            "by_resolution_source": dict(portfolio.by_source),
            # Resolved trades of the shown mode per result kind (shared/audit/provenance.py), from the fold.
            "by_result_kind": {kind: totals.resolved for kind, totals in portfolio.by_class.items()},
            "realized_by_source_cents": dict(portfolio.realized_by_source),
            "pnl_by_venue_day_cents": {day.isoformat(): pnl for day, pnl in portfolio.daily_pnl().items()},
        }


def _safe_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """Heartbeat detail minus anything that looks like a secret or an environment dump."""
    banned = ("key", "token", "secret", "password", "env")
    return {
        k: v
        for k, v in detail.items()
        if not any(b in k.lower() for b in banned) and isinstance(v, str | int | float | bool | type(None))
    }


def downsample(points: list[tuple[float, int]], limit: int) -> list[tuple[float, int]]:
    """At most ``limit`` points, always keeping the last (the current value)."""
    if len(points) <= limit:
        return list(points)
    step = len(points) / (limit - 1)
    picked = [points[int(i * step)] for i in range(limit - 1)]
    picked.append(points[-1])
    return picked


def total_equity(curves: dict[str, list[tuple[float, int]]]) -> list[tuple[float, int]]:
    """The sum of every surface's cumulative P&L at each resolution time."""
    events: list[tuple[float, str, int]] = []
    for surface, points in curves.items():
        events.extend((moment, surface, value) for moment, value in points)
    events.sort()
    current: dict[str, int] = {}
    total: list[tuple[float, int]] = []
    for moment, surface, value in events:
        current[surface] = value
        total.append((moment, sum(current.values())))
    return total
