"""Honest labels: the public /demo shows only real-data results and marks sim signals synthetic; history items and
the operator UI say where each result comes from. The browser tests drive Debian's headless Chromium and keep
their screenshots with the test's files (tmp_path) as artifacts."""

from __future__ import annotations

import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.app import asgi_app
from dashboard.routes_public import NO_REAL_RESULTS
from shared.ids import derive_id
from shared.paths import open_stream
from shared.records import Signal, Trade
from shared.signing import load_or_create_key, sign_signal
from shared.timeutil import utcnow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
browser = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (make test installs it: apt-get install chromium)",
    ),
]


def resolved(tools: Any, surface: str, venue: str, source: str, pnl: int, mode: str = "paper") -> Signal:
    """A signed signal and its resolved trade, on ``venue`` in ``mode``."""
    signal = tools.signal(surface, published=utcnow() - timedelta(hours=1), ttl=7200)
    signal = sign_signal(signal.model_copy(update={"venue": venue, "dry_run": mode == "paper"}),
                         load_or_create_key(Path(tools.settings.signal_key_path)))
    tools.publish(signal)
    open_stream(tools.log_dir, surface, "trades").append(Trade(
        id=derive_id("trade", signal.id), signal_id=signal.id, client_order_id=derive_id("coid", signal.id),
        status="resolved", mode=mode, surface=surface, venue=venue, instrument=signal.instrument, side=signal.side,
        count=100 if surface.startswith("kalshi") else None, units=None if surface.startswith("kalshi") else 1000,
        fill_price=signal.limit_price, exit_price=signal.limit_price + Decimal("0.01"), fees=3, pnl=pnl,
        opened_at=signal.published_at, resolved_at=utcnow(), resolution_source=source))  # type: ignore[arg-type]
    return signal


def test_demo_hides_synthetic_results_and_says_so(tools: Any) -> None:
    resolved(tools, "kalshi_st", "sim", "sim", 1_000_000)  # a sim's windfall: never advertised
    with TestClient(asgi_app(tools.settings_with(demo_delay_seconds=0))) as client:
        data = client.get("/api/demo").json()
    assert data["performance"] == []
    assert data["performance_note"] == NO_REAL_RESULTS
    assert "no real-data results yet" in NO_REAL_RESULTS and "synthetic" in NO_REAL_RESULTS
    assert data["synthetic_results_hidden"] == 1
    [shown] = data["signals"]
    assert (shown["result_kind"], shown["result_label"]) == ("sim", "synthetic (sim)")


def test_demo_shows_real_data_results_by_kind(tools: Any) -> None:
    resolved(tools, "kalshi_st", "sim", "sim", 5000)
    resolved(tools, "kalshi_st", "kalshi", "kalshi_resolution", 120)
    resolved(tools, "kalshi_st", "kalshi", "kalshi_resolution", -80)
    resolved(tools, "fx", "oanda", "oanda_candles", 300, mode="live")
    with TestClient(asgi_app(tools.settings_with(demo_delay_seconds=0))) as client:
        data = client.get("/api/demo").json()
    rows = {(p["surface"], p["label"]): p for p in data["performance"]}
    assert set(rows) == {("kalshi_st", "real-data paper"), ("fx", "live")}
    paper = rows[("kalshi_st", "real-data paper")]
    assert (paper["resolved"], paper["wins"], paper["realized_cents"], paper["win_rate"]) == (2, 1, 40, 0.5)
    assert rows[("fx", "live")]["realized_cents"] == 300
    assert data["performance_note"] is None and data["synthetic_results_hidden"] == 1
    kinds = sorted(s["result_kind"] for s in data["signals"])
    assert kinds == ["live", "real_data_paper", "real_data_paper", "sim"]


def test_history_items_carry_their_result_kind(tools: Any) -> None:
    sim = resolved(tools, "kalshi_st", "sim", "sim", 50)
    paper = resolved(tools, "kalshi_lt", "kalshi", "kalshi_resolution", -20)
    live = resolved(tools, "stocks", "ibkr", "ibkr_position", 70, mode="live")
    headers = tools.subscriber("alice")
    with TestClient(asgi_app(tools.settings)) as client:
        items = client.get("/api/signals/history", headers=headers).json()["items"]
    kinds = {item["signal"]["id"]: item["result_kind"] for item in items}
    assert kinds == {sim.id: "sim", paper.id: "real_data_paper", live.id: "live"}


@browser[0]
@browser[1]
def test_demo_labels_sim_results_synthetic(tools: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    fleet = tools.build_fleet()  # the paper fleet on sim venues: 12 signals, 8 resolved, all synthetic
    with tools.live(tools.settings_with(demo_delay_seconds=0)) as server, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server.url + "/demo")
            expect(page.locator("#demo-performance-note")).to_have_text(NO_REAL_RESULTS)
            expect(page.locator("#demo-performance tbody tr")).to_have_count(0)
            expect(page.locator("#demo-synthetic-hidden")).to_have_text(
                f"{len(fleet.resolved)} synthetic (sim) results not shown.")
            rows = page.locator("#demo-signals tbody tr")
            expect(rows).to_have_count(len(fleet.signals))
            expect(page.locator("#demo-signals tbody td:nth-child(2) .badge.warn")).to_have_count(len(fleet.signals))
            expect(rows.first.locator("td").nth(1)).to_have_text("synthetic (sim)")
            # Edge in cents (probability points), never a percentage return.
            expect(rows.first.locator("td").nth(7)).to_have_text("+7.1¢")
            page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
            assert not errors, errors
        finally:
            chromium.close()
    shot = tmp_path / "demo.png"
    assert shot.exists() and shot.stat().st_size > 10_000


@browser[0]
@browser[1]
def test_operator_ui_labels_each_result_by_its_source(tools: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    resolved(tools, "kalshi_st", "sim", "sim", 900)
    resolved(tools, "kalshi_lt", "kalshi", "kalshi_resolution", -40)
    with tools.live() as server, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(server.url + "/login")
            page.fill("#token", tools.operator_token)
            page.click("button[type=submit]")
            page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
            expect(page.locator("#pnl-total")).to_contain_text("includes synthetic (sim)")
            expect(page.locator("#pnl-table tbody")).to_contain_text("kalshi_st · synthetic (sim)")
            expect(page.locator("#pnl-table tbody")).to_contain_text("kalshi_lt · real-data paper")
            expect(page.locator("#equity-legend")).to_contain_text("kalshi_st $9.00 · synthetic (sim)")
            trades = page.locator("#trades tbody")
            expect(trades.locator(".badge.warn")).to_have_text("synthetic (sim)")
            expect(trades.locator(".badge.dry")).to_have_text("real-data paper")
            expect(page.locator("#feed tbody")).to_contain_text("+7.1¢")
            page.screenshot(path=str(tmp_path / "operator-labels.png"), full_page=True)
        finally:
            chromium.close()
