"""Small parts: PM2 status stripping, heartbeat detail filtering, equity maths, rate limiter, metrics text."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.metrics import Exposition, Histogram
from dashboard.operator_state import _safe_detail, downsample, total_equity
from dashboard.pm2 import Pm2Status, summarize
from dashboard.ratelimit import RateLimiter


def test_pm2_summary_drops_every_env_var() -> None:
    raw = [
        {
            "name": "st-dashboard",
            "pid": 123,
            "monit": {"cpu": 1.5, "memory": 52_000_000},
            "pm2_env": {
                "status": "online",
                "restart_time": 2,
                "pm_uptime": 1_700_000_000_000,
                "DASHBOARD_API_TOKEN": "secret-token",
                "OANDA_API_TOKEN": "another-secret",
                "env": {"KALSHI_API_KEY_ID": "k"},
            },
        }
    ]
    summary = summarize(raw)
    assert summary == [
        {"name": "st-dashboard", "pid": 123, "cpu": 1.5, "memory": 52_000_000, "status": "online",
         "restart_time": 2, "pm_uptime": 1_700_000_000_000}
    ]
    assert "secret" not in repr(summary)


def test_heartbeat_detail_hides_secret_looking_keys() -> None:
    detail = {"bankroll_cents": 5, "api_key": "x", "TOKEN_x": "y", "environ": {"a": 1}, "note": "ok", "nested": {}}
    assert _safe_detail(detail) == {"bankroll_cents": 5, "note": "ok"}


def test_downsample_keeps_the_last_point_and_the_limit() -> None:
    points = [(float(i), i) for i in range(1000)]
    small = downsample(points, 50)
    assert len(small) == 50 and small[-1] == (999.0, 999) and small[0] == (0.0, 0)
    assert downsample(points[:10], 50) == points[:10]


def test_total_equity_sums_the_latest_value_of_each_surface() -> None:
    curves = {"fx": [(1.0, 100), (3.0, 50)], "stocks": [(2.0, -30), (4.0, 10)]}
    assert total_equity(curves) == [(1.0, 100), (2.0, 70), (3.0, 20), (4.0, 60)]


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # buckets are per key
    assert 0 < limiter.retry_after("a") <= 0.5
    now[0] += 0.5
    assert limiter.allow("a") and not limiter.allow("a")


def test_exposition_text_format() -> None:
    out = Exposition()
    out.metric("x_total", "counter", "help", [({"surface": 'a"b'}, 3)])
    hist = Histogram((0.1, 1.0))
    hist.observe(0.05, weight=10)
    hist.observe(0.5)
    out.histogram("lat_seconds", "latency", hist)
    text = out.render()
    assert 'x_total{surface="a\\"b"} 3' in text
    assert 'lat_seconds_bucket{le="0.1"} 10' in text and 'lat_seconds_bucket{le="1.0"} 11' in text
    assert 'lat_seconds_bucket{le="+Inf"} 11' in text and "lat_seconds_count 11" in text


def test_pm2_status_runs_jlist_only_when_a_daemon_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "pm2"
    binary.write_text(
        "#!/bin/sh\n"
        'echo "some banner"\n'
        'echo "[{\\"name\\": \\"st-fx\\", \\"pid\\": 7, \\"pm2_env\\": {\\"status\\": \\"online\\", '
        '\\"PM2_HOME\\": \\"$PM2_HOME\\", \\"SECRET\\": \\"$SECRET\\"}, '
        '\\"monit\\": {\\"cpu\\": 0, \\"memory\\": 1}}]"\n'
    )
    binary.chmod(0o755)
    home = tmp_path / "pm2home"
    home.mkdir()
    monkeypatch.setenv("SECRET", "do-not-leak")
    status = Pm2Status(binary, home, ttl=0)
    assert status.status() is None  # no daemon (no pid file): jlist would start one, so it is not called
    (home / "pm2.pid").write_text("1")
    apps = status.status()
    assert apps == [{"name": "st-fx", "pid": 7, "cpu": 0, "memory": 1, "status": "online"}]
    assert "do-not-leak" not in repr(apps)
