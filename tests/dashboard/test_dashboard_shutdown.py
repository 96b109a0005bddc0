"""SIGTERM on the real ``tbot dashboard`` process: held polls answer, a poll arriving after the stop signal on a
keep-alive connection is answered at once (empty, same cursor, ``Connection: close``), nothing gets a 5xx, and
the process is gone within 2 s."""

from __future__ import annotations

import json
import os
import signal as signals
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.feed import FeedHub, SignalIndex
from dashboard.subscribers import add_subscriber
from shared.config import parse_env_file

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def tbot_dashboard(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``tbot dashboard`` as PM2 runs it, on loopback; killed if a test leaves it running."""
    port = _free_port()
    env = tmp_path / "dashboard.env"
    env.write_text(
        f"LOG_DIR={tmp_path / 'logs'}\nSIGNAL_KEY_PATH={tmp_path / 'logs' / 'keys' / 'k.pem'}\nPORT={port}\n"
        f"PM2_HOME={tmp_path / 'nopm2'}\nENV_DIR={tmp_path}\nDASHBOARD_API_TOKEN=shutdown-operator-token-0123456789\n"
    )
    env.chmod(0o600)
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "dashboard", "--env", str(env)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "dashboard did not start"
            time.sleep(0.05)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert parse_env_file(env)["DASHBOARD_API_TOKEN"] not in (process.stderr.read().decode()
                                                                  if process.stderr else "")


def _request(path: str, token: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n").encode()


class Conn:
    """One raw keep-alive HTTP/1.1 connection: the test decides exactly when each request goes out."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def response(self) -> tuple[int, dict[str, str], bytes] | None:
        """The next response, or None if the server closed the connection before sending one."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                raise AssertionError("connection closed inside a response body")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def closed_by_server(self) -> bool:
        try:
            return not self._fill()
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def _held(port: int, operator: str) -> int:
    reply = httpx.get(f"http://127.0.0.1:{port}/api/operator/health", headers={"Authorization": f"Bearer {operator}"},
                      timeout=5)
    held: int = reply.json()["feed"]["held_connections"]
    return held


@pytest.mark.timeout(120)
def test_sigterm_answers_held_and_new_polls_at_once_and_exits_within_two_seconds(tmp_path: Path) -> None:
    _, token = add_subscriber(tmp_path / "logs", "alice")
    with tbot_dashboard(tmp_path) as (process, port):
        operator = parse_env_file(tmp_path / "dashboard.env")["DASHBOARD_API_TOKEN"]
        first = httpx.get(f"http://127.0.0.1:{port}/api/signals/feed", params={"wait": 0},
                          headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        cursor = first["next_cursor"]
        poll = _request(f"/api/signals/feed?cursor={cursor}&wait=50", token)
        # A: the client re-polls at once on the same keep-alive connection (its next request is already on the
        # wire when the answer to the held one comes back). B: re-polls as soon as it has read the answer.
        pipelined, reader = Conn(port), Conn(port)
        pipelined.send(poll + poll)
        reader.send(poll)
        deadline = time.monotonic() + 10
        while _held(port, operator) < 2:
            assert time.monotonic() < deadline, "the polls were not held"
            time.sleep(0.02)

        stopped_at = time.monotonic()
        process.send_signal(signals.SIGTERM)

        answers: list[tuple[int, dict[str, str], bytes]] = []
        for _ in range(2):
            answer = pipelined.response()
            assert answer is not None, "the re-poll on the keep-alive connection got no answer"
            answers.append(answer)
        held_answer = reader.response()
        assert held_answer is not None
        reader.send(poll)
        late = reader.response()  # answered at once, or the connection was already closed (idle at shutdown)
        answered_by = time.monotonic() - stopped_at

        code = process.wait(timeout=10)
        exited_after = time.monotonic() - stopped_at

    assert code == 0
    assert answered_by < 2.0, answered_by
    assert exited_after < 2.0, exited_after
    for status, _, body in [*answers, held_answer, *([late] if late is not None else [])]:
        assert status == 200, (status, body[:200])
        payload = json.loads(body)
        assert payload == {"signals": [], "next_cursor": cursor}
    # The re-poll was answered without being held, and told the client to reconnect rather than reuse.
    assert answers[1][1].get("connection") == "close"
    if late is not None:
        assert late[1].get("connection") == "close"
    assert pipelined.closed_by_server()
    pipelined.close()
    reader.close()


def test_a_closing_hub_answers_polls_at_once() -> None:
    async def run() -> Any:
        index = SignalIndex(3600)
        hub = FeedHub(index)
        hub.close()
        started = time.monotonic()
        batch = await hub.poll((0, 0, 0, 0), None, None, 10, 50.0, "sub")
        return batch, time.monotonic() - started, hub.held

    import asyncio

    batch, elapsed, held = asyncio.run(run())
    assert batch is not None and batch.delivered == 0 and batch.cursor == (0, 0, 0, 0)
    assert elapsed < 0.5 and held == 0
