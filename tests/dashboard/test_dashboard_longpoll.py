"""Long-poll behaviour on a real uvicorn on loopback: held requests, release on append, restarts, revocation,
and the ``tbot dashboard`` process itself (token generation, refusal in live mode, graceful SIGTERM)."""

from __future__ import annotations

import os
import signal as signals
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from dashboard.subscribers import revoke_subscriber
from shared.config import parse_env_file


def test_a_held_poll_is_released_by_an_append(tools: Any) -> None:
    headers = tools.subscriber("alice")
    with tools.live() as server, httpx.Client(base_url=server.url, headers=headers, timeout=20) as client:
        cursor = client.get("/api/signals/feed", params={"wait": 0}).json()["next_cursor"]
        result: dict[str, Any] = {}

        def poll() -> None:
            started = time.monotonic()
            result["response"] = client.get("/api/signals/feed", params={"cursor": cursor, "wait": 15})
            result["elapsed"] = time.monotonic() - started

        thread = threading.Thread(target=poll)
        thread.start()
        deadline = time.monotonic() + 5
        while server.app.state.hub.held < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.app.state.hub.held == 1
        appended_at = time.monotonic()
        published = tools.publish(tools.signal("stocks"))
        thread.join(10)
        assert result["response"].status_code == 200
        assert [s["id"] for s in result["response"].json()["signals"]] == [published.id]
        assert time.monotonic() - appended_at < 1.0  # inotify wake-up, not the 15 s timeout
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {tools.operator_token}"}).text
        assert "tbot_feed_latency_seconds_count 1" in metrics


def test_an_idle_poll_answers_empty_after_wait(tools: Any) -> None:
    headers = tools.subscriber("alice")
    with tools.live() as server, httpx.Client(base_url=server.url, headers=headers, timeout=20) as client:
        started = time.monotonic()
        response = client.get("/api/signals/feed", params={"wait": 0.4})
        elapsed = time.monotonic() - started
        assert response.status_code == 200 and response.json()["signals"] == []
        assert 0.35 <= elapsed < 3


def test_a_cursor_survives_a_dashboard_restart(tools: Any) -> None:
    headers = tools.subscriber("alice")
    before = tools.publish(tools.signal("fx"))
    with tools.live() as server, httpx.Client(base_url=server.url, headers=headers, timeout=20) as client:
        cursor = client.get("/api/signals/feed", params={"wait": 0}).json()["next_cursor"]
        assert client.get("/api/signals/feed", params={"cursor": cursor, "wait": 0}).json()["signals"] == []
    missed = [tools.publish(tools.signal(s)) for s in ("kalshi_lt", "fx", "stocks")]  # while the dashboard is down
    with tools.live() as server, httpx.Client(base_url=server.url, headers=headers, timeout=20) as client:
        got = client.get("/api/signals/feed", params={"cursor": cursor, "wait": 0}).json()
        assert [s["id"] for s in got["signals"]] == [s.id for s in missed]
        assert before.id not in {s["id"] for s in got["signals"]}


def test_revoking_ends_held_polls_at_once(tools: Any) -> None:
    headers = tools.subscriber("alice")
    with tools.live() as server, httpx.Client(base_url=server.url, headers=headers, timeout=20) as client:
        result: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: result.update(r=client.get("/api/signals/feed", params={"wait": 20})))
        thread.start()
        deadline = time.monotonic() + 5
        while server.app.state.hub.held < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        revoke_subscriber(tools.log_dir, "alice")
        thread.join(5)
        assert not thread.is_alive()
        assert result["r"].status_code == 401


def _tbot(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "shared.cli", *args]


def _env_file(tmp_path: Path, port: int, extra: str = "") -> Path:
    env = tmp_path / "dashboard.env"
    env.write_text(
        f"LOG_DIR={tmp_path / 'logs'}\nSIGNAL_KEY_PATH={tmp_path / 'logs' / 'keys' / 'k.pem'}\n"
        f"PORT={port}\nPM2_HOME={tmp_path / 'nopm2'}\nENV_DIR={tmp_path}\n{extra}"
    )
    env.chmod(0o600)
    return env


def test_tbot_dashboard_refuses_live_mode_without_a_token(tmp_path: Path) -> None:
    env = _env_file(tmp_path, 1, "TRADING_MODE=live\n")
    done = subprocess.run(_tbot("dashboard", "--env", str(env), cwd=tmp_path), capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2
    assert "DASHBOARD_API_TOKEN" in done.stderr


def test_tbot_dashboard_generates_a_token_serves_and_stops_gracefully(tmp_path: Path, tools: Any) -> None:
    from dashboard.subscribers import add_subscriber

    from_port = __import__("socket").socket()
    from_port.bind(("127.0.0.1", 0))
    port = from_port.getsockname()[1]
    from_port.close()
    env = _env_file(tmp_path, port)
    _, token = add_subscriber(tmp_path / "logs", "alice")
    process = subprocess.Popen(
        _tbot("dashboard", "--env", str(env), cwd=tmp_path),
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "dashboard did not start"
            time.sleep(0.1)
        operator = parse_env_file(env)["DASHBOARD_API_TOKEN"]
        assert len(operator) >= 32 and (env.stat().st_mode & 0o077) == 0
        assert httpx.get(f"{url}/api/operator/overview").status_code == 401
        assert httpx.get(f"{url}/api/operator/overview", headers={"Authorization": f"Bearer {operator}"}).is_success
        result: dict[str, Any] = {}

        def hold() -> None:
            result["r"] = httpx.get(f"{url}/api/signals/feed", params={"wait": 50},
                                    headers={"Authorization": f"Bearer {token}"}, timeout=60)

        thread = threading.Thread(target=hold)
        thread.start()
        time.sleep(0.5)
        stopped_at = time.monotonic()
        process.send_signal(signals.SIGTERM)
        assert process.wait(timeout=15) == 0
        thread.join(5)
        assert time.monotonic() - stopped_at < 6  # the held poll did not keep it up for 50 s
        assert result["r"].status_code == 200 and result["r"].json()["signals"] == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        stderr = process.stderr.read().decode() if process.stderr else ""
        assert operator_not_printed(stderr, env)


def operator_not_printed(stderr: str, env: Path) -> bool:
    token = parse_env_file(env).get("DASHBOARD_API_TOKEN", "")
    return not token or token not in stderr
