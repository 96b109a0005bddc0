"""The dashboard's HTTP API through an in-process client: auth, feed, callbacks, history, commission, operator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from dashboard.config import DashboardSettings, load_dashboard_settings
from dashboard.subscribers import revoke_subscriber
from shared.config import ConfigError, load_settings
from shared.paths import feed_path, stop_file, stream_path
from shared.records import Signal, parse_record
from shared.signing import load_public_key, verify_signal
from shared.timeutil import to_iso, utcnow


@pytest.fixture
def client(settings: DashboardSettings) -> Iterator[TestClient]:
    with TestClient(asgi_app(settings)) as c:
        yield c


def client_for(settings: DashboardSettings) -> TestClient:
    return TestClient(asgi_app(settings))


# ---------------------------------------------------------------- subscriber auth and the feed
def test_feed_needs_a_valid_subscriber_token(client: TestClient, tools: Any) -> None:
    assert client.get("/api/signals/feed?wait=0").status_code == 401
    assert client.get("/api/signals/feed?wait=0", headers={"Authorization": "Bearer tbs_nope"}).status_code == 401
    assert client.get("/api/signals/feed?wait=0", headers={"Authorization": "Basic abc"}).status_code == 401
    headers = tools.subscriber("alice")
    token = headers["Authorization"].split()[1]
    # A token in the URL is never accepted: it would land in access logs.
    assert client.get(f"/api/signals/feed?wait=0&token={token}").status_code == 401
    assert client.get("/api/signals/feed?wait=0", headers=headers).status_code == 200


@pytest.mark.parametrize("fast_path", [True, False])
def test_feed_delivers_signed_signals_after_the_cursor(tools: Any, fast_path: bool) -> None:
    settings = tools.settings_with(feed_fast_path=fast_path)
    headers = tools.subscriber("alice")
    with client_for(settings) as client:
        first = client.get("/api/signals/feed?wait=0", headers=headers)
        assert first.status_code == 200 and first.json()["signals"] == []  # no cursor: starts at now
        cursor = first.json()["next_cursor"]
        a = tools.publish(tools.signal("fx"))
        b = tools.publish(tools.signal("kalshi_st"))
        got = client.get("/api/signals/feed", params={"cursor": cursor, "wait": 2}, headers=headers).json()
        assert [s["id"] for s in got["signals"]] == [a.id, b.id]
        public = load_public_key(client.get("/api/signals/public-key").text)
        for raw in got["signals"]:
            assert verify_signal(parse_record(Signal, raw), public)
        again = client.get("/api/signals/feed", params={"cursor": got["next_cursor"], "wait": 0}, headers=headers)
        assert again.json()["signals"] == []


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "abc"}, 422, "limit"),
        ({"wait": "-1"}, 422, "wait"),  # above the maximum is clamped, not refused (test_dashboard_limits.py)
        ({"wait": "nan"}, 422, "wait"),
        ({"surface": "crypto"}, 422, "surface"),
        ({"cursor": "garbage!"}, 400, None),
    ],
)
@pytest.mark.parametrize("fast_path", [True, False])
def test_feed_rejects_bad_parameters(
    tools: Any, query: dict[str, str], status: int, field: str | None, fast_path: bool
) -> None:
    headers = tools.subscriber("alice")
    with client_for(tools.settings_with(feed_fast_path=fast_path)) as client:
        response = client.get("/api/signals/feed", params=query, headers=headers)
    assert response.status_code == status
    if field is not None:
        assert field in json.dumps(response.json()["detail"])


def test_revocation_takes_effect_on_the_next_request(client: TestClient, tools: Any) -> None:
    headers = tools.subscriber("alice")
    assert client.get("/api/signals/feed?wait=0", headers=headers).status_code == 200
    revoke_subscriber(tools.log_dir, "alice")
    assert client.get("/api/signals/feed?wait=0", headers=headers).status_code == 401


def test_rate_limit_per_token(tools: Any) -> None:
    headers = tools.subscriber("alice")
    other = tools.subscriber("bob")
    with client_for(tools.settings_with(rate_limit_per_second=0.01, rate_limit_burst=2)) as client:
        codes = [client.get("/api/signals/feed?wait=0", headers=headers).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert client.get("/api/signals/feed?wait=0", headers=other).status_code == 200


# ---------------------------------------------------------------- callbacks
def test_callbacks_validate_order_and_idempotency(client: TestClient, tools: Any) -> None:
    headers = tools.subscriber("alice")
    signal = tools.publish(tools.signal("fx"))
    url = f"/api/signals/{signal.id}"
    assert client.post("/api/signals/NOPE/ack", headers=headers, json={}).status_code == 404
    assert client.post(f"{url}/ack", json={}).status_code == 401
    assert client.post(f"{url}/bogus", headers=headers, json={}).status_code in (404, 405, 422)
    bad = client.post(f"{url}/executed", headers=headers, json={"fill_price": "1.1", "quantity": -5, "fees_cents": 1})
    assert bad.status_code == 422 and "quantity" in json.dumps(bad.json())
    early = client.post(f"{url}/resolved", headers=headers, json={"pnl_cents": 10, "resolved_at": to_iso(utcnow())})
    assert early.status_code == 409
    assert client.post(f"{url}/ack", headers=headers, json={}).status_code == 201
    executed = {"fill_price": "1.08420", "quantity": 1000, "fees_cents": 3}
    assert client.post(f"{url}/executed", headers=headers, json=executed).status_code == 201
    again = client.post(f"{url}/executed", headers=headers, json=executed)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    later = {"pnl_cents": -120, "resolved_at": to_iso(utcnow())}
    resolved = client.post(f"{url}/resolved", headers=headers, json=later)
    assert resolved.status_code == 201
    lines = [json.loads(line) for line in feed_path(tools.log_dir, "callbacks").read_text().splitlines()]
    assert [(x["callback"], x["signal_id"]) for x in lines] == [
        ("ack", signal.id), ("executed", signal.id), ("resolved", signal.id)
    ]
    assert lines[1]["body"] == {"fill_price": "1.08420", "quantity": 1000, "fees_cents": 3}
    # Idempotency survives a restart: the store is rebuilt from the log.
    with client_for(tools.settings) as fresh:
        assert fresh.post(f"{url}/executed", headers=headers, json=executed).json()["status"] == "duplicate"


def test_callbacks_are_per_subscriber(client: TestClient, tools: Any) -> None:
    alice, bob = tools.subscriber("alice"), tools.subscriber("bob")
    signal = tools.publish(tools.signal("stocks"))
    assert client.post(f"/api/signals/{signal.id}/ack", headers=alice, json={}).status_code == 201
    assert client.post(f"/api/signals/{signal.id}/ack", headers=bob, json={}).status_code == 201


# ---------------------------------------------------------------- commission and history
def test_commission_is_idempotent_and_conflicts_are_refused(client: TestClient, tools: Any) -> None:
    headers = tools.subscriber("alice")
    body = {"id": "wd-2026-11-01", "amount_cents": 1234, "crystallized_at": to_iso(utcnow())}
    assert client.post("/api/commission", headers=headers, json=body).status_code == 201
    assert client.post("/api/commission", headers=headers, json=body).status_code == 200
    assert client.post("/api/commission", headers=headers, json={**body, "amount_cents": 1}).status_code == 409
    bad = client.post("/api/commission", headers=headers, json={**body, "id": "x2", "amount_cents": -1})
    assert bad.status_code == 422 and "amount_cents" in json.dumps(bad.json())
    assert client.post("/api/commission", json=body).status_code == 401
    lines = feed_path(tools.log_dir, "commission").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["amount_cents"] == 1234


def test_history_joins_resolved_signals_with_their_trades_and_pages(tools: Any) -> None:
    fleet = tools.build_fleet(per_surface=3, resolved_per_surface=2)
    headers = tools.subscriber("alice")
    with client_for(tools.settings) as client:
        seen: list[dict[str, Any]] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/api/signals/history", params=params, headers=headers).json()
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if not page["items"]:
                break
        assert len(seen) == len(fleet.resolved) == 8
        assert len({item["signal"]["id"] for item in seen}) == 8
        for item in seen:
            pnl = fleet.resolved[item["signal"]["id"]]
            assert item["pnl_cents"] == pnl
            assert item["outcome"] == ("win" if pnl > 0 else "loss")
            assert item["status"] == "resolved" and item["resolution_source"] and item["resolved_at"]
            assert item["fill_price"] is not None and item["exit_price"] is not None
        only_fx = client.get("/api/signals/history", params={"surface": "fx"}, headers=headers).json()["items"]
        assert {i["signal"]["surface"] for i in only_fx} == {"fx"} and len(only_fx) == 2
        tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
        assert client.get("/api/signals/history", params={"since": tomorrow}, headers=headers).json()["items"] == []
        assert client.get("/api/signals/history", params={"cursor": "bad"}, headers=headers).status_code == 400
        # A cursor from the end of the history stays valid and empty until something new resolves.
        assert client.get("/api/signals/history", params={"cursor": cursor}, headers=headers).json()["items"] == []


# ---------------------------------------------------------------- operator side
def _operator_get_paths(client: TestClient) -> list[str]:
    schema = client.get("/openapi.json").json()
    paths = []
    for path, methods in schema["paths"].items():
        if path.startswith("/api/operator") and "get" in methods:
            paths.append(path.replace("{signal_id}", "x").replace("{trade_id}", "x"))
    return paths


def test_every_operator_endpoint_needs_the_operator_token(
    client: TestClient, tools: Any, operator_headers: dict[str, str]
) -> None:
    tools.build_fleet()
    subscriber = tools.subscriber("alice")
    paths = _operator_get_paths(client)
    assert len(paths) >= 9
    for path in paths:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=subscriber).status_code == 401, path
        assert client.get(path, headers=operator_headers).status_code in (200, 404), path
    for path in ("/api/operator/stop", "/api/operator/resume", "/api/operator/overrides"):
        assert client.post(path, json={}).status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_overview_equity_signals_and_audit(client: TestClient, tools: Any, operator_headers: dict[str, str]) -> None:
    fleet = tools.build_fleet()
    client.get("/healthz")
    overview = client.get("/api/operator/overview", headers=operator_headers).json()
    by_surface = {s["surface"]: s for s in overview["surfaces"]}
    assert overview["total"]["realized_cents"] == sum(fleet.resolved.values())
    assert by_surface["kalshi_lt"]["breaker_tripped"] is True
    assert by_surface["fx"]["open_positions"] == 1 and by_surface["fx"]["exposure_cents"] == 23_000
    assert by_surface["fx"]["gate_counts"] == {"accepted": 3, "min_edge": 3}
    equity = client.get("/api/operator/equity", headers=operator_headers).json()
    assert equity["total"][-1][1] == sum(fleet.resolved.values())
    signals = client.get("/api/operator/signals?surface=fx", headers=operator_headers).json()
    assert len(signals["items"]) == 3 and all(s["surface"] == "fx" for s in signals["items"])
    assert "fx/atr_breakout" in signals["sub_strategies"]
    first = fleet.signals[0]
    audit = client.get(f"/api/operator/audit/signal/{first.id}", headers=operator_headers).json()
    assert len(audit["decision"]["gates"]) == 10
    assert [a["model"] for a in audit["model_answers"]] == ["claude", "gpt"]
    assert [t["status"] for t in audit["trades"]] == ["intent", "placed", "filled", "resolved"]
    assert audit["resolution_source"] == "nws_observation" and audit["fees_cents"] == 14
    by_trade = client.get(f"/api/operator/audit/trade/{fleet.trade_ids[first.id]}", headers=operator_headers).json()
    assert by_trade["signal"]["id"] == first.id
    assert client.get("/api/operator/audit/signal/nope", headers=operator_headers).status_code == 404


def test_subscriber_aggregates_suppress_small_cohorts_and_never_name_anyone(
    tools: Any, operator_headers: dict[str, str]
) -> None:
    with client_for(tools.settings_with(min_cohort=3)) as client:
        _aggregates_suppress_small_cohorts(client, tools, operator_headers)


def _aggregates_suppress_small_cohorts(client: TestClient, tools: Any, operator_headers: dict[str, str]) -> None:
    signal = tools.publish(tools.signal("fx"))
    names = ["alice", "bob", "carol"]
    subs = {name: tools.subscriber(name) for name in names}

    def report(name: str, pnl: int) -> None:
        url = f"/api/signals/{signal.id}"
        client.post(f"{url}/ack", headers=subs[name], json={})
        body = {"fill_price": "1.08520", "quantity": 1000, "fees_cents": 2}
        client.post(f"{url}/executed", headers=subs[name], json=body)
        client.post(f"{url}/resolved", headers=subs[name], json={"pnl_cents": pnl, "resolved_at": to_iso(utcnow())})

    report("alice", 500)
    report("bob", -200)
    small = client.get("/api/operator/subscribers", headers=operator_headers).json()
    fx = next(s for s in small["surfaces"] if s["surface"] == "fx")
    assert fx == {"surface": "fx", "suppressed": True}
    assert small["active_subscribers"] == 3  # a count of tokens is an aggregate too, shown once >= min cohort
    report("carol", 100)
    full = client.get("/api/operator/subscribers", headers=operator_headers).json()
    fx = next(s for s in full["surfaces"] if s["surface"] == "fx")
    assert fx["subscribers"] == 3 and fx["executions"] == 3 and fx["pnl_cents"] == 400 and fx["wins"] == 2
    assert fx["avg_slippage_bps"] == pytest.approx(9.96, abs=0.01)  # (1.08520 - 1.08412) / 1.08412
    ids = [line for line in feed_path(tools.log_dir, "subscribers").read_text().splitlines()]
    sub_ids = [json.loads(line)["subscriber_id"] for line in ids]
    for path in _operator_get_paths(client):
        text = client.get(path, headers=operator_headers).text
        for secret in [*names, *sub_ids]:
            assert secret not in text, (path, secret)


def test_overrides_are_validated_and_written_for_the_loops(
    client: TestClient, tools: Any, operator_headers: dict[str, str]
) -> None:
    ok = client.post("/api/operator/overrides", headers=operator_headers,
                     json={"surface": "kalshi_lt", "key": "min_edge", "value": "0.05"})
    assert ok.status_code == 201
    suspend = client.post("/api/operator/overrides", headers=operator_headers,
                          json={"surface": "kalshi_lt", "key": "suspend_category", "value": "politics"})
    assert suspend.status_code == 201
    bad = client.post("/api/operator/overrides", headers=operator_headers,
                      json={"surface": "kalshi_lt", "key": "min_edge", "value": "-1"})
    assert bad.status_code == 422
    unknown = client.post("/api/operator/overrides", headers=operator_headers,
                          json={"surface": "fx", "key": "kalshi_api_key_id", "value": "x"})
    assert unknown.status_code == 422
    lines = [json.loads(x) for x in stream_path(tools.log_dir, "kalshi_lt", "overrides").read_text().splitlines()]
    assert [(x["kind"], x["key"], x["value"]) for x in lines] == [
        ("override", "min_edge", "0.05"), ("override", "suspend_category", "politics")
    ]
    view = client.get("/api/operator/settings", headers=operator_headers).json()["surfaces"]["kalshi_lt"]
    assert view["suspended_categories"] == ["politics"] and view["effective"]["min_edge"] == "0.05"


def test_stop_and_resume_write_the_kill_switch_files(
    client: TestClient, tools: Any, operator_headers: dict[str, str]
) -> None:
    assert client.post("/api/operator/stop", headers=operator_headers, json={}).status_code == 200
    assert stop_file(tools.log_dir).exists()
    assert client.post("/api/operator/stop", headers=operator_headers, json={"surface": "fx"}).status_code == 200
    assert stop_file(tools.log_dir, "fx").exists()
    assert client.get("/api/operator/overview", headers=operator_headers).json()["stop"]["global"] is True
    client.post("/api/operator/resume", headers=operator_headers, json={})
    client.post("/api/operator/resume", headers=operator_headers, json={"surface": "fx"})
    assert not stop_file(tools.log_dir).exists() and not stop_file(tools.log_dir, "fx").exists()


def test_browser_session_cookie_and_csrf_header(client: TestClient, tools: Any) -> None:
    assert client.post("/api/operator/session", json={"token": "wrong"}).status_code == 401
    assert client.post("/api/operator/session", json={"token": tools.operator_token}).status_code == 204
    cookie = client.cookies.get("tbot_operator")
    assert cookie and tools.operator_token not in cookie
    page = client.get("/")
    assert page.status_code == 200 and "Allocations" in page.text
    assert client.get("/api/operator/overview").status_code == 200
    assert client.post("/api/operator/stop", json={}).status_code == 403  # no CSRF header
    assert not stop_file(tools.log_dir).exists()
    assert client.post("/api/operator/stop", json={}, headers={"X-Tbot-Operator": "1"}).status_code == 200
    assert stop_file(tools.log_dir).exists()
    client.post("/api/operator/logout")
    assert client.get("/api/operator/overview").status_code == 401


# ---------------------------------------------------------------- edges
def test_body_size_is_capped(client: TestClient, tools: Any) -> None:
    headers = tools.subscriber("alice")
    big = {"id": "x", "amount_cents": 1, "crystallized_at": to_iso(utcnow()), "pad": "x" * 20_000}
    assert client.post("/api/commission", headers=headers, json=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts bytes as they arrive
        yield b'{"id": "y", "amount_cents": 1, "pad": "'
        for _ in range(40):
            yield b"x" * 1000
        yield b'"}'

    chunked = client.post("/api/commission", headers={**headers, "Content-Type": "application/json"},
                          content=chunks())
    assert chunked.status_code == 413
    assert not feed_path(tools.log_dir, "commission").exists()


def test_cors_is_closed_unless_configured(client: TestClient, tools: Any) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    response = client.options("/api/signals/feed", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    with client_for(tools.settings_with(cors_origins="https://ok.example")) as open_client:
        allowed = open_client.options(
            "/api/signals/history", headers={**preflight, "Origin": "https://ok.example"}
        )
        assert allowed.headers.get("access-control-allow-origin") == "https://ok.example"


def test_demo_is_public_delayed_and_edge_cacheable(client: TestClient, tools: Any) -> None:
    old = tools.publish(tools.signal("fx", published=utcnow() - timedelta(seconds=1000), ttl=3600))
    tools.publish(tools.signal("fx"))
    page = client.get("/demo")
    assert page.status_code == 200 and "public, max-age=" in page.headers["cache-control"]
    data = client.get("/api/demo")
    assert "s-maxage" in data.headers["cache-control"]
    assert [s["id"] for s in data.json()["signals"]] == [old.id]
    assert "signature" not in data.text


def test_healthz_and_metrics(client: TestClient, tools: Any, operator_headers: dict[str, str]) -> None:
    tools.build_fleet()
    assert client.get("/healthz").json()["status"] == "ok"
    text = client.get("/metrics", headers=operator_headers).text
    assert 'tbot_signals_total{surface="fx"} 3' in text
    assert 'tbot_decisions_total{gate="min_edge",surface="fx"} 3' in text
    assert 'tbot_orders_total{surface="fx"} 3' in text and 'tbot_fills_total{surface="fx"} 3' in text
    assert "tbot_feed_waiting 0" in text and "tbot_feed_latency_seconds_count" in text


def test_live_mode_refuses_to_start_without_an_operator_token(tmp_path: Path) -> None:
    env = tmp_path / "dashboard.env"
    env.write_text("TRADING_MODE=live\n")
    with pytest.raises(ConfigError) as error:
        load_settings(DashboardSettings, env)
    assert error.value.key == "DASHBOARD_API_TOKEN"
    env.write_text("TRADING_MODE=live\nDASHBOARD_API_TOKEN=0123456789abcdef0123\n")
    assert load_settings(DashboardSettings, env).trading_mode == "live"


def test_host_and_port_never_come_from_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "dashboard.env"
    env.write_text("LOG_LEVEL=INFO\n")
    monkeypatch.setenv("HOST", "0.0.0.0")  # zsh sets HOST to the machine name; a PaaS sets PORT
    monkeypatch.setenv("PORT", "80")
    monkeypatch.setenv("MIN_COHORT", "7")  # other declared keys may still come from the environment
    settings = load_dashboard_settings(env)
    assert (settings.host, settings.port, settings.min_cohort) == ("127.0.0.1", 8080, 7)
    env.write_text("HOST=127.0.0.2\nPORT=9090\n")
    settings = load_dashboard_settings(env)
    assert (settings.host, settings.port) == ("127.0.0.2", 9090)
    env.write_text("PORT=http\n")
    with pytest.raises(ConfigError) as error:
        load_dashboard_settings(env)
    assert error.value.key == "PORT"


def test_skill_against_the_market_per_surface(client: TestClient, tools: Any, operator_headers: dict[str, str]) -> None:
    fleet = tools.build_fleet()
    body = client.get("/api/operator/skill", headers=operator_headers).json()
    rows = {(r["kind"], r["surface"], r["sub_strategy"]): r for r in body["rows"]}
    surface_rows = [r for r in body["rows"] if r["sub_strategy"] == "*"]
    assert sum(r["n"] for r in surface_rows) == len(fleet.resolved)
    assert all(r["label"] == "synthetic (sim)" for r in surface_rows if r["kind"] == "sim")
    assert rows  # every resolved trade joined to its signal was scored
    again = client.get("/api/operator/skill", headers=operator_headers).json()
    assert again["rows"] == body["rows"]  # cached until a trade log moves
    assert client.get("/api/operator/skill").status_code == 401
