"""A crashed surface never looks healthy: the overview carries each surface's process health from PM2's status
(``pm2 jlist``, here a fake binary), its heartbeats and the last line of its PM2 error log, secrets stripped."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from dashboard.pm2 import last_error, redact, surface_health

# Made at run time in the shapes real credentials take (a vendor API key, a PEM body): nothing key-like is committed.
SECRET = "sk-ant-api03-" + secrets.token_hex(20)
PEM_BODY = "MII" + secrets.token_hex(16)


def fake_pm2(tmp_path: Path, apps: list[dict[str, Any]]) -> tuple[Path, Path]:
    """A ``pm2`` that answers ``jlist`` with ``apps`` (env vars included, as the real one prints them), and a
    PM2 home with a pid file (so the dashboard believes a daemon runs)."""
    home = tmp_path / "pm2home"
    home.mkdir()
    (home / "pm2.pid").write_text("1")
    listing = tmp_path / "jlist.json"
    listing.write_text(json.dumps(apps))
    binary = tmp_path / "pm2"
    binary.write_text(f'#!/bin/sh\ncat "{listing}"\n')
    binary.chmod(0o755)
    return binary, home


def app(name: str, status: str, restarts: int = 0, uptime_ms: float | None = None) -> dict[str, Any]:
    env = {"status": status, "restart_time": restarts, "unstable_restarts": restarts,
           "pm_uptime": uptime_ms if uptime_ms is not None else time.time() * 1000 - 3_600_000,
           "KALSHI_API_KEY_ID": "must-not-leak"}
    return {"name": name, "pid": 0 if status != "online" else 4242, "pm2_env": env, "monit": {"cpu": 0, "memory": 1}}


def write_err_log(log_dir: Path, process: str, lines: list[str]) -> None:
    folder = log_dir / "pm2"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{process}.err.log").write_text("\n".join(lines) + "\n\n")


def test_overview_shows_a_crash_looping_surface_as_errored_with_its_last_error(tools: Any, tmp_path: Path,
                                                                             operator_headers: dict[str, str]) -> None:
    tools.build_fleet()  # every surface has a fresh heartbeat: only PM2 knows st-bot-loop is dead
    binary, home = fake_pm2(tmp_path, [
        app("st-bot-loop", "errored", restarts=10),
        app("st-lt-loop", "waiting restart", restarts=3),
        app("st-forex-loop", "online"),
        app("st-stocks-loop", "stopped"),
        app("st-dashboard", "online"),
    ])
    write_err_log(tools.log_dir, "st-bot-loop", [
        "2026-12-05 20:01:02.003 +00:00: Traceback (most recent call last):",
        f"2026-12-05 20:01:02.004 +00:00: KALSHI_API_KEY_SECRET={SECRET} was rejected",
        "2026-12-05 20:01:09.120 +00:00: config error: envs/st.env: MIN_EGDE: unknown key",
    ])
    write_err_log(tools.log_dir, "st-lt-loop", [f"boom with Authorization: Bearer {SECRET}"])
    write_err_log(tools.log_dir, "st-forex-loop", ["an old warning from an earlier run"])
    settings = tools.settings_with(pm2_bin=binary, pm2_home=home)
    with TestClient(asgi_app(settings)) as client:
        reply = client.get("/api/operator/overview", headers=operator_headers)
    assert reply.status_code == 200
    assert SECRET not in reply.text and "must-not-leak" not in reply.text
    health = {s["surface"]: s["health"] for s in reply.json()["surfaces"]}

    st = health["kalshi_st"]
    assert (st["state"], st["pm2_status"], st["restarts"], st["process"]) == ("errored", "errored", 10, "st-bot-loop")
    assert st["last_error"] == "config error: envs/st.env: MIN_EGDE: unknown key"
    assert st["last_error_at"] == "2026-12-05 20:01:09.120 +00:00"
    assert st["heartbeat_age_seconds"] is not None and st["heartbeat_age_seconds"] < 60

    lt = health["kalshi_lt"]
    assert (lt["state"], lt["pm2_status"], lt["restarts"]) == ("errored", "waiting restart", 3)
    assert "crash-looping" in lt["reason"]
    assert lt["last_error"] is not None and SECRET not in lt["last_error"] and "[redacted]" in lt["last_error"]

    fx = health["fx"]
    assert (fx["state"], fx["pm2_status"], fx["last_error"]) == ("ok", "online", None)  # old lines stay hidden
    assert health["stocks"]["state"] == "stopped"
    assert health["stocks"]["last_error"] is None  # no error log: nothing to show, no crash


def test_without_pm2_health_follows_the_heartbeats(tools: Any, operator_headers: dict[str, str]) -> None:
    tools.build_fleet()
    with TestClient(asgi_app(tools.settings)) as client:  # conftest points PM2_HOME at a folder with no daemon
        surfaces = client.get("/api/operator/overview", headers=operator_headers).json()["surfaces"]
    for s in surfaces:
        assert s["health"]["state"] == "ok", s["health"]
        assert s["health"]["pm2_status"] is None and "PM2 not running" in s["health"]["reason"]


@pytest.mark.parametrize(
    ("status", "restarts", "beat_age", "uptime_age", "state"),
    [
        ("online", 0, 5.0, 3600.0, "ok"),
        ("online", 0, 600.0, 3600.0, "stale"),  # PM2 thinks it runs; the loop has hung
        ("online", 0, None, 3600.0, "stale"),  # running an hour and never a heartbeat
        ("online", 0, None, 5.0, "ok"),  # just started: no heartbeat yet is fine
        ("launching", 2, 5.0, 1.0, "errored"),
        ("waiting restart", 1, 5.0, 1.0, "errored"),
        ("errored", 10, 5.0, 1.0, "errored"),
        ("stopped", 0, 5.0, 1.0, "stopped"),
        (None, None, 5.0, None, "stopped"),  # PM2 runs but does not list the app
    ],
)
def test_surface_health_states(tmp_path: Path, status: str | None, restarts: int | None, beat_age: float | None,
                               uptime_age: float | None, state: str) -> None:
    now_ms = 1_800_000_000_000.0
    entry = None
    if status is not None:
        entry = {"name": "st-forex-loop", "status": status, "restart_time": restarts,
                 "pm_uptime": now_ms - (uptime_age or 0) * 1000}
    health = surface_health("st-forex-loop", entry, pm2_running=True, beat_age=beat_age, stale_after=60,
                            err_log=tmp_path / "missing.err.log", now_ms=now_ms)
    assert health["state"] == state, health


def test_without_pm2_no_heartbeat_is_unknown_and_an_old_one_is_stale(tmp_path: Path) -> None:
    def state(beat_age: float | None) -> str:
        return str(surface_health("st-bot-loop", None, pm2_running=False, beat_age=beat_age, stale_after=60,
                                  err_log=tmp_path / "x", now_ms=0)["state"])

    assert (state(None), state(61), state(59)) == ("unknown", "stale", "ok")


def test_last_error_is_the_last_non_empty_line_redacted(tmp_path: Path) -> None:
    log = tmp_path / "a.err.log"
    assert last_error(log) is None
    log.write_text("\n\n")
    assert last_error(log) is None
    # A long log: only its tail is read, and the last line is the one shown.
    log.write_text("x" * 100_000 + "\nfirst\n" + f"token={SECRET} and {SECRET}\n   \n")
    error = last_error(log)
    assert error is not None and SECRET not in error["line"] and error["line"].startswith("token=[redacted]")
    assert error["at"].endswith("Z")
    # What PM2 7 writes with ``time: true``: every line stamped, the blank one after the message too.
    log.write_text("2026-12-05T20:17:41: config error: envs/st.env: MIN_EGDE: unknown key\n2026-12-05T20:17:41: \n")
    assert last_error(log) == {"line": "config error: envs/st.env: MIN_EGDE: unknown key", "at": "2026-12-05T20:17:41"}


@pytest.mark.parametrize(
    "line",
    [
        f"OANDA_API_TOKEN={SECRET}",
        f"failed: password: '{SECRET[:10]}'",
        "Authorization: Bearer abcdEFGH1234",
        "key id 6f1c2a7e-1b2c-4d5e-8f90-123456789abc rejected",
        "digest e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "-----BEGIN " + "PRIVATE KEY-----" + PEM_BODY,
    ],
)
def test_redact_strips_anything_token_like(line: str) -> None:
    shown = redact(line)
    assert "[redacted]" in shown
    for secret in (SECRET, SECRET[:10], "abcdEFGH1234", "6f1c2a7e-1b2c", "e3b0c442", PEM_BODY[:8]):
        assert secret not in shown


def test_redact_keeps_what_the_operator_needs() -> None:
    for line in ("config error: envs/st.env: MIN_EGDE: unknown key",
                 'File "/work/main/surfaces/kalshi_st/surface.py", line 12, in build',
                 "ModuleNotFoundError: No module named 'surfaces.kalshi_st.weather_model'"):
        assert redact(line) == line
    assert len(redact("word " * 200)) <= 301
