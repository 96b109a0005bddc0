"""The scaled layout as local processes on loopback: NATS nodes, the relay, edges. Used by the tests and the bench.

``make scale-up`` runs the same layout under PM2 (``ecosystem.scale.config.js``); this module starts it from Python
so a test can kill any piece (SIGKILL) and start it again.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def nats_server_binary() -> str | None:
    """Debian's ``nats-server`` (``apt-get install nats-server``; ``make system-test-deps`` does it as root)."""
    return shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if os.access("/usr/sbin/nats-server", os.X_OK) else None
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nats_args(name: str, port: int, cluster_port: int | None, routes: list[int], store: Path) -> list[str]:
    """Command-line flags of one JetStream node on loopback (a cluster when ``cluster_port`` is given)."""
    args = ["-js", "-a", "127.0.0.1", "-p", str(port), "-n", name, "-sd", str(store)]
    if cluster_port is not None:
        args += ["--cluster_name", "tbot", "--cluster", f"nats://127.0.0.1:{cluster_port}",
                 "--routes", ",".join(f"nats://127.0.0.1:{r}" for r in routes)]
    return args


@dataclass
class Proc:
    """A child process with its output in a file (read it when a test fails)."""

    args: list[str]
    log_path: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(self.args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            env=self.env, start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye, as a crash or a pulled plug."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 10) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class NatsCluster:
    """``size`` JetStream nodes on loopback (one node: no cluster), each with its own store."""

    work: Path
    size: int = 3
    ports: list[int] = field(default_factory=list)
    cluster_ports: list[int] = field(default_factory=list)
    nodes: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server is not installed")
        self.ports = [free_port() for _ in range(self.size)]
        self.cluster_ports = [free_port() for _ in range(self.size)] if self.size > 1 else []
        for i in range(self.size):
            cluster = self.cluster_ports[i] if self.size > 1 else None
            routes = [p for j, p in enumerate(self.cluster_ports) if j != i]
            args = [binary, *nats_args(f"n{i + 1}", self.ports[i], cluster, routes, self.work / f"n{i + 1}")]
            self.nodes.append(Proc(args, self.work / f"n{i + 1}.log"))

    @property
    def urls(self) -> str:
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.ports)

    def start(self) -> NatsCluster:
        for node in self.nodes:
            node.start()
        for port in self.ports:
            wait_port(port, 15)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop(5)


def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def wait_healthy(port: int, timeout: float, proc: Proc | None = None) -> None:
    """Until ``GET /healthz`` answers 200 (an edge answers only once it has caught up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.running:
            raise RuntimeError(f"process exited:\n{proc.output()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"127.0.0.1:{port} did not become healthy")


def write_relay_env(path: Path, log_dir: Path, urls: str, replicas: int) -> Path:
    path.write_text(f"LOG_DIR={log_dir}\nNATS_URLS={urls}\nSTREAM_REPLICAS={replicas}\nLOG_LEVEL=INFO\n")
    path.chmod(0o600)
    return path


def write_edge_env(path: Path, log_dir: Path, urls: str, port: int, public_key: Path, extra: str = "",
                   log_level: str = "INFO") -> Path:
    path.write_text(f"LOG_DIR={log_dir}\nNATS_URLS={urls}\nPORT={port}\nSIGNAL_PUBLIC_KEY_PATH={public_key}\n"
                    f"LOG_LEVEL={log_level}\n{extra}")
    path.chmod(0o600)
    return path


def relay_proc(env: Path, log_path: Path) -> Proc:
    return Proc([sys.executable, "-m", "dashboard.edge.relay", "--env", str(env)], log_path)


def edge_proc(env: Path, log_path: Path, port: int | None = None) -> Proc:
    args = [sys.executable, "-m", "shared.cli", "feed-edge", "--env", str(env)]
    if port is not None:
        args += ["--port", str(port)]
    return Proc(args, log_path)


def proxy_proc(listen: int, backends: list[int], log_path: Path) -> Proc:
    args = [sys.executable, "-m", "dashboard.edge.proxy", "--listen", f"127.0.0.1:{listen}"]
    for port in backends:
        args += ["--backend", f"127.0.0.1:{port}"]
    return Proc(args, log_path)


def write_public_key(private_key: Path, out: Path) -> None:
    """The operator's public key (PEM) for the edges; the private key is created first if the fleet never ran."""
    from shared.signing import load_or_create_key, public_key_pem

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(public_key_pem(load_or_create_key(private_key)))


def main(argv: list[str] | None = None) -> int:
    """``make scale-up``'s helpers: ``public-key PRIVATE OUT`` and ``wait-healthy PORT [SECONDS]``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "public-key":
        write_public_key(Path(args[1]), Path(args[2]))
        return 0
    if len(args) in (2, 3) and args[0] == "wait-healthy":
        try:
            wait_healthy(int(args[1]), float(args[2]) if len(args) == 3 else 60)
        except TimeoutError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        return 0
    print("usage: python -m dashboard.edge.localrig public-key PRIVATE OUT | wait-healthy PORT [SECONDS]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
