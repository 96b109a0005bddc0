"""The scaled feed on loopback: real nats-server nodes, the relay and edges as processes, a signing operator.

Tests that need nats-server are skipped, saying so, when Debian's package is missing (``make system-test-deps``
installs it when run as root, as it does redis-server).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.edge.localrig import (
    NatsCluster,
    Proc,
    edge_proc,
    free_port,
    nats_server_binary,
    relay_proc,
    wait_healthy,
    write_edge_env,
    write_relay_env,
)
from dashboard.subscribers import add_subscriber, revoke_subscriber
from shared.ids import derive_id, new_id
from shared.paths import open_stream
from shared.records import Signal, Trade
from shared.signing import load_or_create_key, public_key_pem, sign_signal
from shared.timeutil import utcnow

NO_NATS = "needs Debian's nats-server (apt-get install nats-server; `make system-test-deps` installs it as root)"


def make_signal(surface: str = "fx", ttl: float = 600.0) -> Signal:
    now = utcnow()
    return Signal(
        id=new_id(), published_at=now, expires_at=now + timedelta(seconds=ttl), surface=surface,  # type: ignore[arg-type]
        sub_strategy="atr_breakout", venue="sim", instrument="EUR_USD", side="long",
        limit_price=Decimal("1.08412"), size_fraction=Decimal("0.02"), p_model=0.64, p_market=0.55, edge=0.071,
        confidence=0.72, model_spread=0.04, models=("offline-baseline",), eta_hours=6.0,
        stop_loss=Decimal("1.07300"), take_profit=Decimal("1.10600"),
    )


@dataclass
class Rig:
    """One operator box (logs, key), a NATS cluster, the relay and any number of edges."""

    work: Path
    nodes: int = 1
    cluster: NatsCluster = field(init=False)
    relay: Proc | None = None
    edges: dict[int, Proc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.logs = self.work / "logs"
        self.key_path = self.logs / "keys" / "operator.pem"
        self.key = load_or_create_key(self.key_path)
        self.public_key = self.work / "operator.pub.pem"
        self.public_key.write_text(public_key_pem(self.key))
        self.cluster = NatsCluster(self.work / "nats", self.nodes).start()
        self.relay_env = write_relay_env(self.work / "relay.env", self.logs, self.cluster.urls, min(3, self.nodes))
        self.edge_env = write_edge_env(self.work / "edge.env", self.logs, self.cluster.urls, 1, self.public_key,
                                       "RATE_LIMIT_PER_SECOND=1000\nRATE_LIMIT_BURST=1000\n")
        self._relay_runs = 0

    # -------------------------------------------------------------------------------------------- processes
    def start_relay(self) -> Proc:
        self._relay_runs += 1
        self.relay = relay_proc(self.relay_env, self.work / f"relay{self._relay_runs}.log").start()
        return self.relay

    def start_edge(self, port: int | None = None) -> int:
        port = port or free_port()
        proc = edge_proc(self.edge_env, self.work / f"edge{port}.log", port).start()
        self.edges[port] = proc
        wait_healthy(port, 30, proc)
        return port

    def stop(self) -> None:
        for proc in self.edges.values():
            proc.stop(5)
        if self.relay is not None:
            self.relay.stop(5)
        self.cluster.stop()

    # -------------------------------------------------------------------------------------------- operator box
    def publish(self, surface: str = "fx", tamper: bool = False) -> Signal:
        signal = sign_signal(make_signal(surface), self.key)
        if tamper:
            signal = signal.model_copy(update={"limit_price": Decimal("0.99")})  # signature no longer matches
        open_stream(self.logs, surface, "signals").append(signal)
        return signal

    def resolve(self, signal: Signal, pnl: int, units: int = 1000) -> None:
        """The operator's trade on ``signal``: intent, filled, resolved (as a surface and the resolver write it)."""
        base: dict[str, Any] = {
            "id": derive_id("trade", signal.id), "signal_id": signal.id,
            "client_order_id": derive_id("coid", signal.id),
            "surface": signal.surface, "sub_strategy": signal.sub_strategy, "venue": "sim",
            "instrument": signal.instrument, "side": signal.side, "limit_price": signal.limit_price, "units": units,
            "opened_at": signal.published_at,
        }
        trades = open_stream(self.logs, signal.surface, "trades")
        trades.append(Trade(status="intent", **base))
        trades.append(Trade(status="filled", fill_price=signal.limit_price, fees=7, cost_cents=20_000, **base))
        trades.append(Trade(status="resolved", fill_price=signal.limit_price, exit_price=signal.limit_price,
                            fees=14, cost_cents=20_000, resolved_at=utcnow(), pnl=pnl,
                            resolution_source="oanda_candles", **base))

    def subscriber(self, name: str) -> tuple[str, dict[str, str]]:
        sub, token = add_subscriber(self.logs, name)
        return sub.subscriber_id, {"Authorization": f"Bearer {token}"}

    def revoke(self, name: str) -> None:
        revoke_subscriber(self.logs, name)

    # -------------------------------------------------------------------------------------------- subscriber side
    @staticmethod
    def poll(port: int, headers: dict[str, str], cursor: str | None = None, wait: float = 0,
             **params: Any) -> httpx.Response:
        query: dict[str, Any] = {"wait": wait, **params}
        if cursor is not None:
            query["cursor"] = cursor
        return httpx.get(f"http://127.0.0.1:{port}/api/signals/feed", params=query, headers=headers,
                         timeout=60)

    def until_authorized(self, port: int, headers: dict[str, str], timeout: float = 10) -> str:
        """The edge's "now" cursor once this subscriber's token has reached it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.poll(port, headers)
            if response.status_code == 200:
                cursor: str = response.json()["next_cursor"]
                return cursor
            time.sleep(0.05)
        raise AssertionError(f"token not accepted by the edge on {port}")


def collect_until(fetch: Callable[[str], tuple[list[str], str]], cursor: str, want: int, timeout: float) -> list[str]:
    """Follow a feed from ``cursor`` until ``want`` signal ids arrived (or the time is up)."""
    ids: list[str] = []
    deadline = time.monotonic() + timeout
    while len(ids) < want and time.monotonic() < deadline:
        got, cursor = fetch(cursor)
        ids.extend(got)
    return ids


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """Builds rigs (``make(nodes=1)``) and stops every process they started; skips without nats-server."""
    if nats_server_binary() is None:
        pytest.skip(NO_NATS)
    made: list[Rig] = []

    def make(nodes: int = 1) -> Rig:
        rig = Rig(tmp_path / f"rig{len(made)}", nodes)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.stop()
