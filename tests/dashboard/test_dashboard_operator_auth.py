"""Failed operator authentication is limited per client address however it arrives (bearer, cookie, login), and
the client address cannot be chosen with X-Forwarded-For unless the request comes from a configured proxy."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from dashboard.config import DashboardSettings, load_dashboard_settings
from dashboard.main import server_config
from shared.config import ConfigError

BURST = 4


def _client(settings: DashboardSettings, address: str = "203.0.113.7") -> TestClient:
    return TestClient(asgi_app(settings), client=(address, 40000))


@pytest.fixture
def limited(tools: Any) -> DashboardSettings:
    settings: DashboardSettings = tools.settings_with(operator_auth_failure_burst=BURST,
                                                      operator_auth_failure_window_seconds=600)
    return settings


def test_a_burst_of_bad_bearer_tokens_gets_429_and_then_even_the_right_one_is_refused(
    limited: DashboardSettings, tools: Any
) -> None:
    with _client(limited) as client, _client(limited, "198.51.100.9") as other:
        codes = [client.get("/api/operator/overview", headers={"Authorization": f"Bearer guess-{i}"}).status_code
                 for i in range(BURST + 3)]
        assert codes == [401] * BURST + [429] * 3
        locked = client.get("/api/operator/overview", headers={"Authorization": f"Bearer {tools.operator_token}"})
        # Locked out means no comparison at all: a right guess must look exactly like a wrong one.
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
        assert tools.operator_token not in locked.text
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 429
        # Another address is not affected, and presenting nothing is no attempt.
        assert other.get("/api/operator/overview",
                         headers={"Authorization": f"Bearer {tools.operator_token}"}).status_code == 200
        assert other.get("/api/operator/overview").status_code == 401


def test_cookie_and_login_failures_count_against_the_same_allowance(limited: DashboardSettings, tools: Any) -> None:
    with _client(limited) as client:
        assert client.post("/api/operator/session", json={"token": "wrong-1"}).status_code == 401
        assert client.post("/api/operator/session", json={"token": "wrong-2"}).status_code == 401
        client.cookies.set("tbot_operator", "forged-session")
        refused = client.get("/api/operator/overview")
        assert refused.status_code == 401
        assert "max-age=0" in refused.headers.get("set-cookie", "").lower()  # a dead cookie is dropped
        client.cookies.set("tbot_operator", "another-forged-session")
        assert client.get("/api/operator/overview").status_code == 401
        client.cookies.clear()
        assert client.post("/api/operator/session", json={"token": tools.operator_token}).status_code == 429


def test_success_costs_nothing(limited: DashboardSettings, tools: Any) -> None:
    headers = {"Authorization": f"Bearer {tools.operator_token}"}
    with _client(limited) as client:
        assert all(client.get("/api/operator/overview", headers=headers).status_code == 200 for _ in range(20))


# ---------------------------------------------------------------- X-Forwarded-For on a real uvicorn
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(settings: DashboardSettings) -> Iterator[str]:
    """The app on uvicorn configured as ``tbot dashboard`` configures it (proxy headers included)."""
    settings = settings.model_copy(update={"port": _free_port(), "log_level": "WARNING"})
    server = uvicorn.Server(server_config(asgi_app(settings), settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "dashboard did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(15)


def _login_codes(url: str, attempts: int) -> list[int]:
    with httpx.Client(base_url=url, timeout=10) as client:
        return [
            client.post("/api/operator/session", json={"token": f"guess-{i}"},
                        headers={"X-Forwarded-For": f"10.{i // 250}.{i % 250}.1"}).status_code
            for i in range(attempts)
        ]


def test_rotating_x_forwarded_for_does_not_escape_the_limit(limited: DashboardSettings) -> None:
    with served(limited) as url:
        assert _login_codes(url, BURST + 4) == [401] * BURST + [429] * 4


def test_a_configured_proxy_is_believed(limited: DashboardSettings) -> None:
    # Behind a trusted proxy (here: loopback), each forwarded client has its own allowance.
    with served(limited.model_copy(update={"trusted_proxies": ("127.0.0.1",)})) as url:
        assert _login_codes(url, BURST + 4) == [401] * (BURST + 4)


def test_trusted_proxies_default_to_none_and_refuse_a_wildcard(tmp_path: Path) -> None:
    assert DashboardSettings().trusted_proxies == ()
    env = tmp_path / "dashboard.env"
    env.write_text("TRUSTED_PROXIES=10.0.0.1,192.168.0.0/16\n")
    assert load_dashboard_settings(env).trusted_proxies == ("10.0.0.1", "192.168.0.0/16")
    env.write_text("TRUSTED_PROXIES=*\n")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_dashboard_settings(env)
