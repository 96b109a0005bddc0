"""Fixtures for the dashboard tests: sim-like fleet logs built with the records API, settings, a live server."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from dashboard.app import asgi_app
from dashboard.config import DashboardSettings
from dashboard.subscribers import add_subscriber
from shared.ids import derive_id
from shared.paths import open_stream
from shared.records import BreakerEvent, Decision, GateOutcome, Heartbeat, Signal, Trade
from shared.signing import load_or_create_key, sign_signal
from shared.timeutil import utcnow

OPERATOR_TOKEN = "operator-token-for-tests-0123456789"
GATES = ("stop_file", "dedup", "per_market_cap", "direction", "category_suspension", "risk_validation",
         "slippage", "min_edge", "min_confidence", "api_cost_cap")
FLEET = {
    "kalshi_st": ("weather", "KXHIGHNY-26NOV21-B52.5", "yes", Decimal("0.42"), "nws_observation"),
    "kalshi_lt": ("politics", "KXFEDDECISION-26DEC-H0", "no", Decimal("0.61"), "kalshi_resolution"),
    "fx": ("atr_breakout", "EUR_USD", "long", Decimal("1.08412"), "oanda_candles"),
    "stocks": ("momentum", "AAPL", "short", Decimal("227.31"), "ibkr_position"),
}


def make_signal(
    surface: str,
    sub_strategy: str | None = None,
    published: datetime | None = None,
    ttl: float = 600.0,
    dry_run: bool = True,
    key_path: Path | None = None,
) -> Signal:
    default_sub, instrument, side, price, _ = FLEET[surface]
    published = published or utcnow()
    signal = Signal(
        published_at=published,
        expires_at=published + timedelta(seconds=ttl),
        surface=surface,  # type: ignore[arg-type]
        sub_strategy=sub_strategy or default_sub,
        venue="sim",
        instrument=instrument,
        side=side,  # type: ignore[arg-type]
        limit_price=price,
        size_fraction=Decimal("0.02"),
        p_model=0.64,
        p_market=0.55,
        edge=0.071,
        confidence=0.72,
        model_spread=0.04,
        models=("offline-baseline",),
        eta_hours=6.0,
        stop_loss=price * Decimal("0.99") if surface in ("fx", "stocks") else None,
        take_profit=price * Decimal("1.02") if surface in ("fx", "stocks") else None,
        dry_run=dry_run,
    )
    if key_path is not None:
        signal = sign_signal(signal, load_or_create_key(key_path))
    return signal


def publish(log_dir: Path, signal: Signal) -> None:
    open_stream(log_dir, signal.surface, "signals").append(signal)


@dataclass
class Fleet:
    """What :func:`build_fleet` wrote, for assertions."""

    signals: list[Signal] = field(default_factory=list)
    resolved: dict[str, int] = field(default_factory=dict)  # signal id -> pnl cents
    trade_ids: dict[str, str] = field(default_factory=dict)  # signal id -> trade id


def build_fleet(log_dir: Path, key_path: Path, per_surface: int = 3, resolved_per_surface: int = 2) -> Fleet:
    """Sim-like logs for all four surfaces: signed signals, decisions with gates and model answers, trade states
    through to resolution, heartbeats and a breaker trip."""
    fleet = Fleet()
    now = utcnow()
    for s_index, (surface, (sub, instrument, side, price, source)) in enumerate(FLEET.items()):
        signals_log = open_stream(log_dir, surface, "signals")
        decisions_log = open_stream(log_dir, surface, "decisions")
        trades_log = open_stream(log_dir, surface, "trades")
        for i in range(per_surface):
            published = now - timedelta(seconds=30 * (per_surface - i))
            signal = make_signal(surface, published=published, key_path=key_path, dry_run=(i % 2 == 0))
            gates = tuple(GateOutcome(gate=g, passed=True) for g in GATES)
            decisions_log.append(
                Decision(
                    decided_at=published,
                    surface=surface,  # type: ignore[arg-type]
                    sub_strategy=sub,
                    instrument=instrument,
                    side=side,  # type: ignore[arg-type]
                    candidate_id=signal.id,
                    accepted=True,
                    gates=gates,
                    p_model=0.64,
                    p_market=0.55,
                    edge=0.071,
                    confidence=0.72,
                    model_spread=0.04,
                    models=("offline-baseline",),
                    context={
                        "model_answers": [
                            {"model": "claude", "p": 0.66, "confidence": 0.7, "abstained": False, "reason": "trend"},
                            {"model": "gpt", "p": 0.62, "confidence": 0.74, "abstained": False, "reason": "base rate"},
                        ],
                        "fees_cents": 7,
                    },
                )
            )
            # A stopped candidate too, so gate counts are not all "accepted".
            decisions_log.append(
                Decision(
                    decided_at=published,
                    surface=surface,  # type: ignore[arg-type]
                    sub_strategy=sub,
                    instrument=instrument + "-X",
                    side=side,  # type: ignore[arg-type]
                    candidate_id=f"cand-{surface}-{i}",
                    accepted=False,
                    stopped_by="min_edge",
                    reason_code="edge_below_minimum",
                    gates=(*gates[:7], GateOutcome(gate="min_edge", passed=False, reason_code="edge_below_minimum")),
                )
            )
            signals_log.append(signal)
            fleet.signals.append(signal)
            trade_id = derive_id("trade", signal.id)
            fleet.trade_ids[signal.id] = trade_id
            base: dict[str, Any] = {
                "id": trade_id,
                "signal_id": signal.id,
                "client_order_id": derive_id("coid", signal.id),
                "surface": surface,
                "sub_strategy": sub,
                "venue": "sim",
                "instrument": instrument,
                "side": side,
                "limit_price": price,
                "opened_at": published,
                "eta_hours": 6.0,
            }
            if surface.startswith("kalshi"):
                base["count"] = 500
            else:
                base["units"] = 1000
            trades_log.append(Trade(status="intent", **base))
            trades_log.append(Trade(status="placed", venue_order_id=f"v-{i}", **base))
            trades_log.append(Trade(status="filled", fill_price=price, fees=7, cost_cents=21_000 + 1000 * i, **base))
            if i < resolved_per_surface:
                pnl = (1 if (i + s_index) % 2 == 0 else -1) * (1500 + 100 * i + 10 * s_index)
                trades_log.append(
                    Trade(
                        status="resolved",
                        fill_price=price,
                        exit_price=price + Decimal("0.01"),
                        fees=14,
                        cost_cents=21_000 + 1000 * i,
                        resolved_at=published + timedelta(hours=5),
                        pnl=pnl,
                        resolution_source=source,  # type: ignore[arg-type]
                        **base,
                    )
                )
                fleet.resolved[signal.id] = pnl
        open_stream(log_dir, surface, "heartbeats").append(
            Heartbeat(process=f"st-{surface}-loop", at=utcnow(), tick=42 + s_index, pid=1000 + s_index)
        )
    open_stream(log_dir, "kalshi_lt", "events").append(
        BreakerEvent(surface="kalshi_lt", breaker="daily_loss", action="trip", at=utcnow(), reason="loss limit")
    )
    return fleet


def make_settings(tmp_path: Path, **overrides: Any) -> DashboardSettings:
    values: dict[str, Any] = {
        "log_dir": tmp_path / "logs",
        "signal_key_path": tmp_path / "logs" / "keys" / "operator_ed25519.pem",
        "dashboard_api_token": OPERATOR_TOKEN,
        "env_dir": tmp_path / "envs",
        "pm2_home": tmp_path / "no-pm2",
        "rate_limit_per_second": 1000.0,
        "rate_limit_burst": 1000,
        "operator_auth_failure_burst": 1000,  # tests of the limit itself set it low
    }
    values.update(overrides)
    return DashboardSettings.model_validate(values)


@pytest.fixture
def settings(tmp_path: Path) -> DashboardSettings:
    return make_settings(tmp_path)


@pytest.fixture
def operator_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def subscriber_headers(log_dir: Path, name: str) -> dict[str, str]:
    _, token = add_subscriber(log_dir, name)
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """The dashboard on a real uvicorn, on loopback, in a background thread."""

    def __init__(self, settings: DashboardSettings) -> None:
        self.port = free_port()
        self.app = asgi_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("dashboard did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Tools:
    """Helpers handed to tests as a fixture (test modules cannot import conftest under importlib mode)."""

    settings: DashboardSettings
    tmp_path: Path

    @property
    def log_dir(self) -> Path:
        return Path(self.settings.log_dir)

    def subscriber(self, name: str) -> dict[str, str]:
        return subscriber_headers(self.log_dir, name)

    def signal(self, surface: str = "fx", **kwargs: Any) -> Signal:
        kwargs.setdefault("key_path", Path(self.settings.signal_key_path))
        return make_signal(surface, **kwargs)

    def publish(self, signal: Signal) -> Signal:
        publish(self.log_dir, signal)
        return signal

    def settings_with(self, **overrides: Any) -> DashboardSettings:
        return make_settings(self.tmp_path, **overrides)

    def build_fleet(self, **kwargs: Any) -> Fleet:
        return build_fleet(self.log_dir, Path(self.settings.signal_key_path), **kwargs)

    def live(self, settings: DashboardSettings | None = None) -> LiveServer:
        return LiveServer(settings or self.settings)

    operator_token: str = OPERATOR_TOKEN


@pytest.fixture
def tools(settings: DashboardSettings, tmp_path: Path) -> Tools:
    return Tools(settings, tmp_path)
