"""Processes for the client's end-to-end tests: the real dashboard, a TCP proxy that can cut the network, the client.

Loaded by path from the e2e tests (importlib mode has no package for tests/client).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.ids import derive_id
from shared.paths import open_feed, open_stream
from shared.records import Signal, Trade
from shared.timeutil import from_iso

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_until(ready, timeout, f"a server on port {port}")


class RealDashboard:
    """The real ``tbot dashboard`` process over a fresh logs/ folder, with one subscriber token."""

    name = "real"
    delivers_expired = False  # the dashboard consumes expired signals without delivering them

    def __init__(self, folder: Path, operator_key: Ed25519PrivateKey) -> None:
        from dashboard.subscribers import add_subscriber

        self.folder = folder
        self.log_dir = folder / "logs"
        key_path = self.log_dir / "keys" / "operator_ed25519.pem"
        key_path.parent.mkdir(parents=True, exist_ok=True)
        pem = operator_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_path.write_bytes(pem)
        key_path.chmod(0o600)
        self.port = free_port()
        self.env = folder / "dashboard.env"
        self.env.write_text(
            f"LOG_DIR={self.log_dir}\nSIGNAL_KEY_PATH={key_path}\nPORT={self.port}\nPM2_HOME={folder / 'nopm2'}\n"
            f"ENV_DIR={folder}\nDASHBOARD_API_TOKEN=operator-token-for-client-tests-0123\n"
            "RATE_LIMIT_PER_SECOND=200\nRATE_LIMIT_BURST=400\n"
        )
        self.env.chmod(0o600)
        _, self.token = add_subscriber(self.log_dir, "client-e2e")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([PYTHON, "-m", "shared.cli", "dashboard", "--env", str(self.env)], cwd=REPO,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, 60)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        self.kill()

    def publish(self, signal_record: Signal, raw: dict[str, Any] | None = None) -> None:
        open_stream(self.log_dir, signal_record.surface, "signals").append(
            raw if raw is not None else signal_record
        )

    def resolve(self, signal_record: Signal, *, pnl_cents: int, fill_price: str, exit_price: str | None,
                resolved_at: str) -> None:
        """The operator's resolver writing the resolved trade the history endpoint serves."""
        open_stream(self.log_dir, signal_record.surface, "trades").append(Trade(
            id=derive_id("trade", signal_record.id), signal_id=signal_record.id,
            client_order_id=derive_id("coid", signal_record.id), status="resolved", surface=signal_record.surface,
            venue="sim", instrument=signal_record.instrument, side=signal_record.side, count=100,
            fill_price=Decimal(fill_price), exit_price=None if exit_price is None else Decimal(exit_price),
            fees=0, pnl=pnl_cents, resolved_at=from_iso(resolved_at), resolution_source="sim",
        ))

    def callbacks(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(str(e.data["signal_id"]), str(e.data["callback"]), dict(e.data.get("body") or {}))
                for e in open_feed(self.log_dir, "callbacks").read_all()]

    def commissions(self) -> list[dict[str, Any]]:
        return [{"id": e.data["report_id"], "amount_cents": e.data["amount_cents"]}
                for e in open_feed(self.log_dir, "commission").read_all()]


class Proxy:
    """A loopback TCP relay whose ``cut()`` drops every connection and refuses new ones: a network loss."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self.down = False
        self.cuts = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.extend([client, upstream])
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.down = True
        self.cuts += 1
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()


class ClientProcess:
    """``python -m client.cli --json run`` with its stdout parsed line by line."""

    def __init__(self, config_path: Path, env: dict[str, str] | None = None) -> None:
        self.config_path = config_path
        self.env = env or {}
        self.lines: list[dict[str, Any]] = []
        self.proc: subprocess.Popen[str] | None = None

    def start(self, **env: str) -> None:
        full_env = os.environ | {"PYTHONUNBUFFERED": "1"} | self.env | env
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "client.cli", "--config", str(self.config_path), "--json", "run"],
            cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                data = json.loads(line)
            except ValueError:
                data = {"text": line.rstrip()}
            self.lines.append(data if isinstance(data, dict) else {"text": line})

    def verdicts(self, signal_id: str) -> list[str]:
        return [str(d["verdict"]) for d in list(self.lines) if d.get("signal_id") == signal_id and "verdict" in d]

    def wait_verdict(self, signal_id: str, verdict: str, timeout: float = 20.0) -> None:
        try:
            wait_until(lambda: verdict in self.verdicts(signal_id), timeout, f"{verdict} for {signal_id}")
        except AssertionError:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGUSR1)  # the client dumps its stacks into its output
                time.sleep(0.5)
            raise AssertionError(f"{verdict} for {signal_id} not seen; client said: {self.lines}") from None

    def wait_exit(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def cli(config_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one ``tbot-client`` command to completion."""
    return subprocess.run(
        [PYTHON, "-m", "client.cli", "--config", str(config_path), *args],
        cwd=REPO, env=os.environ | (env or {}), capture_output=True, text=True, timeout=60,
    )


def get_json(url: str, token: str) -> Any:
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
