"""`make up` must not report success when another process holds the dashboard's port, and must name it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.fleetwait import main
from shared.ports import port_holder

REPO = Path(__file__).resolve().parents[2]

SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def impostor(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=tmp_path)
    deadline = time.monotonic() + 10
    while port_holder(port) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port, proc
    proc.kill()
    proc.wait()


def test_port_holder_names_the_listening_process(impostor: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, proc = impostor
    holder = port_holder(port)
    assert holder is not None and holder.pid == proc.pid and "http.server" in holder.command
    assert port_holder(_free_port()) is None


def test_another_process_answering_healthz_fails_make_up(
    impostor: tuple[int, subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    port, proc = impostor
    assert main(["--port", str(port), "--timeout", "5", "--root", str(REPO)]) == 1
    err = capsys.readouterr().err
    assert f"port {port} is held by another process (pid {proc.pid}" in err


def test_port_and_host_come_from_the_dashboard_env_file(tmp_path: Path) -> None:
    port = _free_port()
    env = tmp_path / "dashboard.env"
    env.write_text(f"HOST=127.0.0.1\nPORT={port}\n")
    # Nobody listens there: a short wait ends in the pointer to the dashboard's log, naming the env file's port.
    assert main(["--env", str(env), "--timeout", "0.5"]) == 1


def test_the_repo_root_tbot_wrapper_runs_without_activation() -> None:
    done = subprocess.run([str(REPO / "tbot"), "--help"], capture_output=True, text=True, cwd="/", timeout=60)
    assert done.returncode == 0 and "audit" in done.stdout
