"""The operator UI in a real headless Chromium (Debian's package, driven by playwright through its executable
path): sign in, every panel shows the fleet's data, the audit drawer, filters, an override, STOP and resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.paths import stop_file, stream_path
from shared.timeutil import to_iso, utcnow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (make test installs it: apt-get install chromium)",
    ),
]


def _subscriber_activity(url: str, tools: Any, signal_id: str) -> None:
    """Three subscribers report on one signal, so the aggregate panel has a cohort big enough to show."""
    for name, pnl in (("alice", 400), ("bob", -150), ("carol", 90)):
        headers = tools.subscriber(name)
        base = f"{url}/api/signals/{signal_id}"
        httpx.post(f"{base}/ack", headers=headers, json={}).raise_for_status()
        body = {"fill_price": "0.43", "quantity": 500, "fees_cents": 4}
        httpx.post(f"{base}/executed", headers=headers, json=body).raise_for_status()
        resolved = {"pnl_cents": pnl, "resolved_at": to_iso(utcnow())}
        httpx.post(f"{base}/resolved", headers=headers, json=resolved).raise_for_status()


def test_operator_ui_end_to_end(tools: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    fleet = tools.build_fleet(per_surface=4, resolved_per_surface=3)
    # A cohort of three subscribers, shown: the minimum set to three (the default is five).
    with tools.live(tools.settings_with(min_cohort=3)) as server, sync_playwright() as playwright:
        _subscriber_activity(server.url, tools, fleet.signals[0].id)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(server.url + "/")
            expect(page).to_have_url(server.url + "/login")
            page.fill("#token", "wrong")
            page.click("button[type=submit]")
            expect(page.locator("#login-error")).to_be_visible()
            page.fill("#token", tools.operator_token)
            page.click("button[type=submit]")
            expect(page).to_have_url(server.url + "/")
            page.wait_for_selector("body[data-loaded='1']", timeout=15_000)

            # Allocations: four surfaces with money figures and the tripped breaker.
            rows = page.locator("#allocations tbody tr")
            expect(rows).to_have_count(4)
            lt_row = page.locator("#allocations tbody tr[data-surface='kalshi_lt']")
            expect(lt_row).to_contain_text("tripped: daily_loss")
            fx_realized = sum(pnl for sid, pnl in fleet.resolved.items() if any(
                s.id == sid and s.surface == "fx" for s in fleet.signals))
            fx_bankroll = (1_000_000 + fx_realized) / 100
            fx_cells = page.locator("#allocations tbody tr[data-surface='fx'] td")
            expect(fx_cells.nth(2)).to_have_text(f"${fx_bankroll:,.2f}")
            # P&L: the total matches the fleet, the legend lists the curves.
            total = sum(fleet.resolved.values())
            sign = "-" if total < 0 else ""
            expect(page.locator("#pnl-total")).to_contain_text(f"{sign}${abs(total) / 100:,.2f}")
            expect(page.locator("#equity-legend span")).to_have_count(5)
            # Signals: all sixteen, with dry-run and live markers.
            expect(page.locator("#feed tbody tr")).to_have_count(16)
            expect(page.locator("#feed tbody")).to_contain_text("dry-run")
            expect(page.locator("#feed tbody")).to_contain_text("LIVE")
            # Trades, subscribers (aggregate, cohort of three), health (four loops).
            expect(page.locator("#trades tbody tr").first).to_be_visible()
            expect(page.locator("#subscribers tbody tr[data-surface], #subscribers tbody tr")).to_have_count(4)
            expect(page.locator("#subscribers tbody")).to_contain_text("$3.40")
            for name in ("alice", "bob", "carol"):
                expect(page.locator("body")).not_to_contain_text(name)
            expect(page.locator("#heartbeats tbody tr")).to_have_count(4)
            expect(page.locator("#heartbeats tbody")).to_contain_text("alive")
            expect(page.locator("#pm2 tbody")).to_contain_text("PM2 not running")

            # Audit drawer: the decision with all ten gates and the model answers.
            page.locator("#feed tbody tr").first.click()
            expect(page.locator("#drawer")).to_be_visible()
            expect(page.locator("#audit-gates tr")).to_have_count(11)
            expect(page.locator("#drawer-body")).to_contain_text("claude")
            page.click("#drawer-close")

            # Filters: only fx signals remain.
            page.select_option("#filter-surface", "fx")
            expect(page.locator("#feed tbody tr")).to_have_count(4)
            for text in page.locator("#feed tbody tr td:nth-child(2)").all_inner_texts():
                assert text.split() == ["fx", "atr_breakout"]

            # An override, written as a record the loop picks up.
            page.select_option("#ov-surface", "kalshi_st")
            page.select_option("#ov-key", "suspend_category")
            page.fill("#ov-value", "weather")
            page.click("#override-form button[type=submit]")
            expect(page.locator("#ov-result")).to_contain_text("saved")
            expect(page.locator("#overrides tbody")).to_contain_text("weather")
            records = stream_path(tools.log_dir, "kalshi_st", "overrides").read_text().splitlines()
            assert json.loads(records[-1])["key"] == "suspend_category"

            # STOP and resume.
            page.click("#stop-all")
            expect(page.locator("#stop-state")).to_contain_text("STOPPED", timeout=10_000)
            assert stop_file(tools.log_dir).exists()
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            page.click("#resume-all")
            expect(page.locator("#stop-state")).to_contain_text("STOP off", timeout=10_000)
            assert not stop_file(tools.log_dir).exists()
            assert not errors, errors
        finally:
            browser.close()
    shot = tmp_path / "dashboard.png"
    assert shot.exists() and shot.stat().st_size > 20_000


def test_demo_page_renders_without_a_token(tools: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    tools.build_fleet()
    with tools.live(tools.settings_with(demo_delay_seconds=0)) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(server.url + "/demo")
            # The fleet trades on sim venues: its results are synthetic and never shown on /demo
            # (tests/dashboard/test_dashboard_demo.py checks the note and the labels).
            expect(page.locator("#demo-performance tbody tr")).to_have_count(0)
            expect(page.locator("#demo-signals tbody tr")).to_have_count(12)
            page.screenshot(path=str(tmp_path / "demo.png"))
        finally:
            browser.close()
