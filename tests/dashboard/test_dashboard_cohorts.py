"""Subscriber figures in the operator's views and /metrics are withheld per figure, by the number of subscribers
each one aggregates (MIN_COHORT, the audit's default)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from shared.timeutil import to_iso, utcnow


def _row(client: TestClient, headers: dict[str, str], surface: str) -> dict[str, Any]:
    view = client.get("/api/operator/subscribers", headers=headers).json()
    row: dict[str, Any] = next(s for s in view["surfaces"] if s["surface"] == surface)
    return row


def test_three_acking_and_one_resolving_never_shows_that_ones_pnl(
    tools: Any, operator_headers: dict[str, str]
) -> None:
    signal = tools.publish(tools.signal("fx"))
    subs = {name: tools.subscriber(name) for name in ("alice", "bob", "carol")}
    url = f"/api/signals/{signal.id}"
    with TestClient(asgi_app(tools.settings_with(min_cohort=3))) as client:
        for headers in subs.values():
            assert client.post(f"{url}/ack", headers=headers, json={}).status_code == 201
        alice = subs["alice"]
        executed = {"fill_price": "1.08520", "quantity": 1000, "fees_cents": 2}
        assert client.post(f"{url}/executed", headers=alice, json=executed).status_code == 201
        resolved = {"pnl_cents": 4321, "resolved_at": to_iso(utcnow())}
        assert client.post(f"{url}/resolved", headers=alice, json=resolved).status_code == 201

        row = _row(client, operator_headers, "fx")
        assert row["suppressed"] is False and (row["subscribers"], row["acks"]) == (3, 3)
        for figure in ("executions", "fees_cents", "avg_slippage_bps", "resolved", "wins", "pnl_cents"):
            assert row[figure] is None, figure
        assert set(row["suppressed_figures"]) == {"executions", "fees_cents", "avg_slippage_bps", "resolved",
                                                  "wins", "pnl_cents"}
        text = client.get("/api/operator/subscribers", headers=operator_headers).text
        assert "4321" not in text

        # Two more resolve: now the resolution figures aggregate three subscribers and are shown.
        for name in ("bob", "carol"):
            client.post(f"{url}/executed", headers=subs[name], json=executed)
            client.post(f"{url}/resolved", headers=subs[name], json={**resolved, "pnl_cents": -21})
        row = _row(client, operator_headers, "fx")
        assert (row["resolved"], row["pnl_cents"], row["wins"], row["executions"]) == (3, 4279, 1, 3)
        assert row["suppressed_figures"] == []
        assert _row(client, operator_headers, "stocks") == {"surface": "stocks", "suppressed": True}


def test_metrics_withhold_the_active_count_like_the_view(tools: Any, operator_headers: dict[str, str]) -> None:
    tools.subscriber("alice")
    tools.subscriber("bob")
    settings = tools.settings_with(min_cohort=3)
    with TestClient(asgi_app(settings)) as client:
        metrics = client.get("/metrics", headers=operator_headers).text
        assert "\ntbot_subscribers_active " not in metrics  # HELP/TYPE only, no sample
        assert "# TYPE tbot_subscribers_active gauge" in metrics
        assert client.get("/api/operator/subscribers", headers=operator_headers).json()["active_subscribers"] is None
    tools.subscriber("carol")
    with TestClient(asgi_app(settings)) as client:
        assert "\ntbot_subscribers_active 3\n" in client.get("/metrics", headers=operator_headers).text
        assert client.get("/api/operator/subscribers", headers=operator_headers).json()["active_subscribers"] == 3


def test_the_default_minimum_is_five(tools: Any, operator_headers: dict[str, str]) -> None:
    for name in ("a", "b", "c", "d"):
        tools.subscriber(name)
    with TestClient(asgi_app(tools.settings)) as client:
        view = client.get("/api/operator/subscribers", headers=operator_headers).json()
        assert view["min_cohort"] == 5 and view["active_subscribers"] is None
        assert "\ntbot_subscribers_active " not in client.get("/metrics", headers=operator_headers).text
