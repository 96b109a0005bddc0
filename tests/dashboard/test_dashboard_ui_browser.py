"""What the operator sees, in a real headless Chromium at 1440×900 (Debian's package, driven by playwright through
its executable path): a crashed surface in red at the top, tables that fit and page, uPlot charts with time axes,
the skill panel, the audit drawer as a trade ticket, and the small ones (sub-strategy filter, settings errors as
sentences, a reverted override, a global STOP on the per-surface buttons, /demo, the favicon).
Screenshots are kept with the test's files (tmp_path) as artifacts."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.ids import derive_id
from shared.paths import open_stream
from shared.records import Decision, GateOutcome, Signal, Trade
from shared.signing import load_or_create_key, sign_signal
from shared.timeutil import utcnow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SECRET = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (make test installs it: apt-get install chromium)",
    ),
]


def fake_pm2(tmp_path: Path, statuses: dict[str, tuple[str, int]]) -> tuple[Path, Path]:
    """A ``pm2`` whose ``jlist`` lists ``statuses`` (name -> (status, restarts)), and a home with a daemon pid file."""
    home = tmp_path / "pm2home"
    home.mkdir()
    (home / "pm2.pid").write_text("1")
    started = time.time() * 1000 - 3_600_000
    apps = [{"name": name, "pid": 0, "monit": {"cpu": 0, "memory": 0},
             "pm2_env": {"status": status, "restart_time": restarts, "pm_uptime": started, "SECRET": SECRET}}
            for name, (status, restarts) in statuses.items()]
    listing = tmp_path / "jlist.json"
    listing.write_text(json.dumps(apps))
    binary = tmp_path / "pm2"
    binary.write_text(f'#!/bin/sh\ncat "{listing}"\n')
    binary.chmod(0o755)
    return binary, home


def strategy_only_signal(tools: Any) -> Signal:
    """A stocks signal decided by its strategy alone: the decision holds no model answers."""
    signal: Signal = tools.publish(
        tools.signal("stocks", sub_strategy="gap_fade", published=utcnow() - timedelta(seconds=5)))
    open_stream(tools.log_dir, "stocks", "decisions").append(Decision(
        decided_at=signal.published_at, surface="stocks", sub_strategy="gap_fade", instrument=signal.instrument,
        side=signal.side, candidate_id=signal.id, accepted=True,
        gates=tuple(GateOutcome(gate=g, passed=True) for g in (
            "stop_file", "dedup", "per_market_cap", "direction", "category_suspension", "risk_validation",
            "slippage", "min_edge", "min_confidence", "api_cost_cap")),
        p_model=0.64, p_market=0.55, edge=0.071, confidence=0.72, models=("offline-baseline",), context={}))
    return signal


def sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url + "/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)


def no_inner_scroll(page: Any, selector: str) -> dict[str, int]:
    """Widths of a panel and of everything inside it that could scroll sideways."""
    result: dict[str, int] = page.evaluate(
        """(sel) => {
            const panel = document.querySelector(sel);
            const widest = Math.max(...[...panel.querySelectorAll('*')].map((e) => e.getBoundingClientRect().right));
            return {scroll: panel.scrollWidth, client: panel.clientWidth,
                    overflowRight: Math.round(widest - panel.getBoundingClientRect().right),
                    height: Math.round(panel.getBoundingClientRect().height)};
        }""",
        selector,
    )
    return result


def test_operator_sees_a_dead_surface_fitting_tables_charts_skill_and_a_ticket(tools: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    fleet = tools.build_fleet(per_surface=30, resolved_per_surface=20)  # 120 signals, 80 resolved trades
    tools.publish(tools.signal("kalshi_st", sub_strategy="crypto_15m"))
    only = strategy_only_signal(tools)
    binary, home = fake_pm2(tmp_path, {"st-bot-loop": ("errored", 10), "st-lt-loop": ("online", 0),
                                       "st-forex-loop": ("online", 0), "st-stocks-loop": ("online", 0)})
    errors_dir = tools.log_dir / "pm2"
    errors_dir.mkdir(parents=True)
    (errors_dir / "st-bot-loop.err.log").write_text(
        f"2026-12-05 20:01:02.004 +00:00: retrying with KALSHI_API_KEY={SECRET}\n"
        "2026-12-05 20:01:09.120 +00:00: config error: envs/st.env: MIN_EGDE: unknown key\n\n")
    settings = tools.settings_with(pm2_bin=binary, pm2_home=home)
    with tools.live(settings) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda dialog: dialog.accept())
            sign_in(page, server.url, tools.operator_token)

            # 1. The crashed surface: a red banner at the top with its last error line, and a red row.
            banner = page.locator("#alerts .alert-bad[data-surface='kalshi_st']")
            expect(banner).to_be_visible()
            expect(banner).to_contain_text("kalshi_st ERRORED")
            expect(banner).to_contain_text("10 restarts")
            expect(banner).to_contain_text("config error: envs/st.env: MIN_EGDE: unknown key")
            expect(page.locator("#alerts .alert")).to_have_count(1)  # the healthy ones stay quiet
            top = banner.bounding_box()
            assert top is not None and top["y"] < 120  # at the top of the page, above every panel
            colour = banner.evaluate("(e) => getComputedStyle(e).borderTopColor")
            assert colour == "rgb(224, 86, 91)", colour
            st_row = page.locator("#allocations tbody tr[data-surface='kalshi_st']")
            expect(st_row).to_have_class("row-bad")
            expect(st_row.locator("td.health")).to_have_text("errored")
            expect(page.locator("#allocations tbody tr[data-surface='fx'] td.health")).to_have_text("ok")
            expect(page.locator("#allocations tbody tr.row-bad")).to_have_count(1)
            assert SECRET not in page.content()
            page.screenshot(path=str(tmp_path / "ui-health.png"))

            # 2. Tables fit their panels at 1440 px and page 25 rows at a time.
            feed_rows = page.locator("#feed tbody tr")
            expect(feed_rows).to_have_count(25)
            expect(page.locator("#feed .page-label")).to_contain_text("1–25 of 122")
            expect(page.locator("#trades tbody tr")).to_have_count(25)
            for panel in ("#feed", "#trades", "#allocations", "#skill-panel"):
                widths = no_inner_scroll(page, panel)
                assert widths["scroll"] <= widths["client"], (panel, widths)
                assert widths["overflowRight"] <= 0, (panel, widths)
            assert page.evaluate("document.documentElement.scrollWidth") <= 1440
            feed_height = no_inner_scroll(page, "#feed")["height"]
            assert feed_height < 1300, feed_height  # 25 compact rows, not 100 full ones
            first_id = feed_rows.first.get_attribute("data-signal-id")
            page.click("#feed [data-page=next]")
            expect(page.locator("#feed .page-label")).to_contain_text("26–50 of 122")
            assert feed_rows.first.get_attribute("data-signal-id") != first_id
            for _ in range(3):
                page.click("#feed [data-page=next]")
            expect(page.locator("#feed .page-label")).to_contain_text("101–122 of 122 · page 5/5")
            expect(feed_rows).to_have_count(22)
            expect(page.locator("#feed [data-page=next]")).to_be_disabled()
            page.wait_for_timeout(3500)  # a refresh keeps the page the operator is on
            expect(page.locator("#feed .page-label")).to_contain_text("page 5/5")
            for _ in range(4):
                page.click("#feed [data-page=prev]")
            expect(page.locator("#feed [data-page=prev]")).to_be_disabled()
            assert feed_rows.first.get_attribute("data-signal-id") == first_id
            page.locator("#feed").screenshot(path=str(tmp_path / "ui-signals.png"))

            # 3. Charts: uPlot with a time axis, gridlines and a crosshair, equity and drawdown.
            for chart in ("#equity-chart", "#drawdown-chart"):
                expect(page.locator(chart + " .uplot canvas")).to_have_count(1)
            # uPlot draws its axes on the canvas: read what it drew from the chart object.
            axes = page.evaluate("""() => ({time: charts.equity.scales.x.time, ticks: charts.equity.axes[0]._values,
                money: charts.equity.axes[1]._values, grid: charts.equity.axes.map((a) => a.grid.show)})""")
            assert axes["time"] is True and axes["grid"] == [True, True], axes
            assert axes["ticks"] and all(":" in str(t) for t in axes["ticks"]), axes  # clock times
            assert axes["money"] and all("$" in str(t) for t in axes["money"]), axes
            expect(page.locator("#charts-note")).to_be_hidden()
            over = page.locator("#equity-chart .u-over")
            over.scroll_into_view_if_needed()
            box = over.bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
            # The crosshair reads each curve's value at the cursor into the legend, in dollars.
            expect(page.locator("#equity-chart .u-legend .u-series").last.locator(".u-value")).to_have_text(
                re.compile(r"^-?\$[0-9,]+\.[0-9]{2}$"))
            expect(page.locator("#drawdown-chart .u-cursor-x")).to_be_visible()  # cursors are synced
            drawn = page.evaluate("""() => {
                const a = alignCurves({a: [["2026-01-01T00:00:00Z", 100], ["2026-01-01T02:00:00Z", 50]],
                                       b: [["2026-01-01T01:00:00Z", -30], ["2026-01-01T03:00:00Z", 80]]});
                return {times: a.times, columns: a.columns, dd: drawdowns(a.columns)};
            }""")
            assert drawn["columns"] == [[100, 100, 50, 50], [None, -30, -30, 80]]
            assert drawn["dd"] == [[0, 0, -50, -50], [None, -30, -30, 0]]
            assert drawn["times"] == sorted(drawn["times"]) and len(drawn["times"]) == 4
            page.locator("#pnl").screenshot(path=str(tmp_path / "ui-charts.png"))

            # 4. Skill against the market, edges in cents.
            skill_rows = httpx.get(server.url + "/api/operator/skill",
                                   headers={"Authorization": f"Bearer {tools.operator_token}"}).json()["rows"]
            expect(page.locator("#skill tbody tr")).to_have_count(len(skill_rows))
            first = page.locator("#skill tbody tr").first
            expect(first.locator("td").nth(0)).to_have_text(skill_rows[0]["label"])
            expect(first.locator("td").nth(7)).to_have_text(f"+{skill_rows[0]['claimed_edge'] * 100:.1f}¢")
            expect(first.locator("td").nth(5)).to_contain_text("[")  # the interval

            # 5. The audit drawer reads like a ticket.
            page.select_option("#filter-surface", "kalshi_st")
            expect(feed_rows).to_have_count(25)
            page.select_option("#filter-sub", "weather")
            expect(page.locator("#feed .page-label")).to_contain_text("of 30")
            page.click("#feed [data-page=next]")
            page.locator("#feed tbody tr").last.click()  # the oldest kalshi_st signal: resolved
            drawer = page.locator("#drawer")
            expect(drawer).to_be_visible()
            expect(page.locator("#drawer-body")).to_contain_text(fleet.signals[0].id)  # kalshi_st's oldest
            expect(page.locator("#drawer-title")).to_contain_text("KXHIGHNY-26NOV21-B52.5")
            expect(page.locator("#drawer-title .badge.side")).to_have_text("yes")
            ticket = page.locator("#audit-ticket")
            expect(ticket).to_contain_text("42¢")  # the limit price of a binary, in cents
            expect(ticket).to_contain_text("+7.1¢")
            expect(ticket).to_contain_text("0.64 / 0.55")
            expect(ticket).to_contain_text("2.0% of bankroll · 500 contracts")
            expect(page.locator("#audit-gates tr")).to_have_count(11)
            expect(page.locator("#audit-models")).to_contain_text("claude")
            expect(page.locator("#audit-timeline li")).to_have_count(4)
            expect(page.locator("#audit-timeline li").last).to_contain_text("resolved")
            expect(page.locator("#audit-raw pre")).to_be_hidden()
            page.screenshot(path=str(tmp_path / "ui-drawer.png"))
            page.click("#audit-raw summary")
            expect(page.locator("#audit-raw pre")).to_be_visible()
            expect(page.locator("#audit-raw pre")).to_contain_text('"candidate_id"')
            page.click("#drawer-close")

            # 6a. The sub-strategy filter lists only the chosen surface's.
            def sub_options() -> list[str]:
                return [o for o in page.locator("#filter-sub option").all_inner_texts()]

            assert sub_options() == ["all sub-strategies", "crypto_15m", "weather"]
            page.select_option("#filter-surface", "fx")
            expect(page.locator("#filter-sub option")).to_have_count(2)
            assert sub_options() == ["all sub-strategies", "atr_breakout"]
            page.select_option("#filter-surface", "stocks")
            expect(page.locator("#filter-sub option")).to_have_count(3)
            page.locator(f"#feed tbody tr[data-signal-id='{only.id}']").click()
            expect(page.locator("#audit-models")).to_have_text("strategy only (offline baseline, no model consulted)")
            page.click("#drawer-close")

            # 6b. A settings error is a sentence; a reverted override disappears.
            page.select_option("#ov-surface", "fx")
            page.select_option("#ov-key", "min_edge")
            page.fill("#ov-value", "-1")
            page.click("#override-form button[type=submit]")
            expect(page.locator("#ov-result")).to_have_text(
                "min_edge was not changed: the value should be greater than or equal to 0.")
            page.fill("#ov-value", "0.05")
            page.click("#override-form button[type=submit]")
            fx_overrides = page.locator("#overrides tbody tr[data-surface='fx']")
            expect(fx_overrides).to_contain_text("min_edge = 0.05")
            page.fill("#ov-value", "")
            page.click("#override-form button[type=submit]")
            expect(page.locator("#ov-result")).to_contain_text("reverted min_edge")
            expect(fx_overrides).not_to_contain_text("min_edge")

            # 6c. A global STOP shows on every per-surface button.
            page.click("#stop-all")
            buttons = page.locator("#allocations button.surface-stop")
            expect(page.locator("#allocations button.surface-stop:disabled")).to_have_count(4, timeout=10_000)
            expect(buttons.first).to_have_text("halted (all)")
            expect(page.locator("#allocations td.stop").first).to_have_text("halted (all)")
            page.click("#resume-all")
            expect(page.locator("#allocations button.surface-stop:disabled")).to_have_count(0, timeout=10_000)
            expect(buttons.first).to_have_text("stop")

            # 6d. A favicon, linked and served at the path browsers ask for.
            icon = httpx.get(server.url + "/favicon.ico")
            assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
            assert page.locator("link[rel=icon]").get_attribute("href") == "/static/favicon.svg"
            assert httpx.get(server.url + "/static/favicon.svg").status_code == 200
            assert not errors, errors

            # Without the vendored library the page says so instead of drawing nothing.
            page.route("**/static/vendor/uPlot.iife.min.js", lambda route: route.fulfill(status=404, body=""))
            page.goto(server.url + "/")
            page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
            expect(page.locator("#charts-note")).to_contain_text("charts unavailable")
            expect(page.locator("#charts-note")).to_contain_text("run make")
            expect(page.locator("#equity-legend span")).to_have_count(5)
            page.locator("#pnl").screenshot(path=str(tmp_path / "ui-charts-missing.png"))
        finally:
            browser.close()
    for name in ("ui-health.png", "ui-signals.png", "ui-charts.png", "ui-drawer.png", "ui-charts-missing.png"):
        assert (tmp_path / name).stat().st_size > 5_000, name


def test_vendored_chart_library_matches_package_json() -> None:
    """The committed uPlot copy is the version package.json pins, with its licence beside it."""
    root = Path(__file__).resolve().parents[2]
    pinned = json.loads((root / "package.json").read_text())["dependencies"]["uplot"]
    vendor = root / "dashboard" / "static" / "vendor"
    assert f"(v{pinned})" in (vendor / "uPlot.iife.min.js").read_text()[:200]
    assert (vendor / "uPlot.min.css").stat().st_size > 500
    assert "MIT" in (vendor / "uPlot.LICENSE").read_text() or "Permission is hereby granted" in (
        vendor / "uPlot.LICENSE").read_text()


def _real_result(tools: Any, pnl: int) -> None:
    """A real-data paper result (Kalshi's own prices, resolved by Kalshi), published an hour ago."""
    published = utcnow() - timedelta(hours=1)
    signal = tools.signal("kalshi_st", published=published, ttl=7200)
    signal = sign_signal(signal.model_copy(update={"venue": "kalshi"}),
                         load_or_create_key(Path(tools.settings.signal_key_path)))
    tools.publish(signal)
    open_stream(tools.log_dir, "kalshi_st", "trades").append(Trade(
        id=derive_id("trade", signal.id), signal_id=signal.id, client_order_id=derive_id("coid", signal.id),
        status="resolved", mode="paper", surface="kalshi_st", venue="kalshi", instrument=signal.instrument,
        side=signal.side, count=100, fill_price=signal.limit_price, exit_price=Decimal("1"), fees=3, pnl=pnl,
        opened_at=published, resolved_at=utcnow(), resolution_source="kalshi_resolution"))


def test_demo_formats_money_and_says_why_its_signal_table_is_empty(tools: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    tools.build_fleet()  # every signal is fresh: none is older than the 15-minute delay yet
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            with tools.live() as server:  # the default delay (900 s)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(server.url + "/demo")
                empty = page.locator("#demo-signals-empty")
                expect(empty).to_be_visible()
                expect(empty).to_contain_text("15 minutes after they are published")
                expect(page.locator("#demo-signals tbody tr")).to_have_count(0)
                expect(page.locator("#delay")).to_have_text("signals delayed 15 minutes")
                page.screenshot(path=str(tmp_path / "demo-empty.png"), full_page=True)
            _real_result(tools, 123_456)
            with tools.live(tools.settings_with(demo_delay_seconds=900)) as server:
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(server.url + "/demo")
                expect(page.locator("#demo-signals tbody tr")).to_have_count(1)  # the hour-old one
                expect(page.locator("#demo-signals-empty")).to_be_hidden()
                expect(page.locator("#demo-signals tbody td").nth(6)).to_have_text("42¢")
                expect(page.locator("#demo-performance tbody td").nth(4)).to_have_text("$1,234.56")
                page.screenshot(path=str(tmp_path / "demo-formatted.png"), full_page=True)
        finally:
            browser.close()
