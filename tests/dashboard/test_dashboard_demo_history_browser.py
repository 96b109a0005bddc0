"""/demo in headless Chromium says whether the published history verifies (signatures and hash chain)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (make test installs it: apt-get install chromium)",
    ),
]


def test_demo_page_says_the_history_verifies(tools: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    tools.build_fleet()  # the fleet's loops publish through SignalPublisher: every signal is chained
    with tools.live(tools.settings_with(demo_delay_seconds=0)) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(server.url + "/demo")
            line = page.locator("#demo-history")
            expect(line).to_have_text(re.compile(r"^history verified: \d+ signals, chain intact$"))
            expect(line).to_have_class("pos")
            page.screenshot(path=str(tmp_path / "demo-history.png"))
        finally:
            browser.close()
