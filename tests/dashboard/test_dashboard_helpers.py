"""Small parts: PM2 status stripping, heartbeat detail filtering, equity maths, rate limiter, metrics text."""

from __future__ import annotations

from dashboard.metrics import Exposition, Histogram
from dashboard.operator_state import _safe_detail, downsample, total_equity
from dashboard.pm2 import summarize
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
