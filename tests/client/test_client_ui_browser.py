"""``tbot-client ui``: loopback only, behind a token; the page in headless Chromium with screenshots."""

from __future__ import annotations

import shutil
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.brokers import PaperBroker
from client.control import ControlLog
from client.engine import Follower
from client.store import StatePaths
from client.ui import HistoryCache, make_server
from shared.bus import Durability, JsonlLog
from shared.signing import load_public_key
from shared.timeutil import to_iso, utcnow

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "ui-token-for-the-test-0123456789"


def _item(signal: Any, fill: str, outcome: str, pnl: int) -> dict[str, Any]:
    return {"signal": signal.to_json_dict(), "status": "resolved", "fill_price": fill, "exit_price": None,
            "resolved_at": to_iso(utcnow()), "resolution_source": "sim", "result_kind": "sim", "pnl_cents": pnl,
            "outcome": outcome}


@pytest.fixture
def session(make_config, make_signal) -> Any:
    """A paper session: two traded (one resolved), one skipped, and the operator's history of them."""
    config = make_config(control={"max_open_positions": 2})
    paths = StatePaths(config.state_dir)
    paths.ensure()
    broker = PaperBroker(JsonlLog(config.state_dir / "paper_orders.jsonl", Durability.FSYNC), config.broker)
    follower = Follower(config, broker, load_public_key(config.public_key_path.read_text()))
    follower.recover()
    won = make_signal(instrument="KXHIGHNY-26JAN05-B31.5", limit_price=Decimal("0.40"))
    held = make_signal(instrument="KXHIGHNY-26JAN06-B33.5", limit_price=Decimal("0.55"))
    refused = make_signal(instrument="KXHIGHNY-26JAN07-B35.5")
    for signal in (won, held, refused):
        follower.handle(signal.to_json_dict())
    history = [_item(won, "0.40", "win", 1_380), _item(refused, "0.40", "loss", -800)]
    follower.apply_history(history)
    server = make_server(config, TOKEN, HistoryCache(lambda: history, every=0.5), port=0,
                         unit_path=Path("/nonexistent/tbot-client.service"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield config, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_api_needs_the_token_and_the_loopback_host(session: Any) -> None:
    config, port = session
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(base + "/").status_code == 200  # the page holds no data
    assert httpx.get(base + "/api/state").status_code == 401
    assert httpx.get(base + "/api/state", headers={"Authorization": "Bearer wrong"}).status_code == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(base + "/api/state", headers=good | {"Host": "evil.example:80"}).status_code == 421
    state = httpx.get(base + "/api/state", headers=good).json()
    assert state["account"]["mode"] == "paper" and len(state["positions"]) == 1
    assert state["skipped"] == {"max_open_positions": 1}
    done = httpx.post(base + "/api/control", headers=good, json={"action": "pause"})
    assert done.status_code == 200 and ControlLog(config.state_dir).state.paused
    assert httpx.post(base + "/api/control", json={"action": "resume"}).status_code == 401


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install chromium)")
def test_the_page_in_headless_chromium(session: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    config, port = session
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/#token={TOKEN}")
            expect(page.locator("#account")).to_have_text("paper (no real money)")
            expect(page.locator("#positions tbody tr")).to_have_count(1)
            expect(page.locator("#skips tbody tr")).to_have_count(1)
            expect(page.locator("#skips tbody")).to_contain_text("max_open_positions")
            expect(page.locator("#tracking tbody tr")).to_have_count(2)
            expect(page.locator("#tracking tbody")).to_contain_text("skipped: max_open_positions")
            expect(page.locator("#tracking tbody")).to_contain_text("synthetic (sim)")
            expect(page.locator("#tracking-summary")).to_contain_text("traded 1")
            expect(page.locator("#equity path")).to_have_count(1)
            assert "token" not in page.url, "the token leaves the address bar once read"
            page.screenshot(path=str(tmp_path / "ui.png"), full_page=True)
            page.once("dialog", lambda dialog: dialog.accept())
            page.click("#flatten")
            expect(page.locator("#trading")).to_contain_text("PAUSED", timeout=10_000)
            page.screenshot(path=str(tmp_path / "ui-flatten-requested.png"), full_page=True)
        finally:
            browser.close()
    state = ControlLog(config.state_dir).state
    assert state.paused and len(state.flatten_pending) == 1
