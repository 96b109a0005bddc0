"""The PM2 fleet: `ecosystem.config.js` brings six apps online, each loop ticks and the dashboard answers, and
deleting the apps stops every process. Runs in a scratch copy of the checkout (its own logs/, envs/ and PM2_HOME)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PM2 = ROOT / "node_modules" / ".bin" / "pm2"
APPS = {"st-bot-loop", "st-lt-loop", "st-forex-loop", "st-stocks-loop", "st-resolver", "st-dashboard"}
PORT = 18977


def _copy_checkout(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in files.splitlines():
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the work tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for shared in (".venv", "node_modules"):
        (dest / shared).symlink_to(ROOT / shared)
    for example in (dest / "envs").glob("*.env.example"):
        target = example.with_suffix("")
        target.write_text(example.read_text())
        target.chmod(0o600)
    dashboard = dest / "envs" / "dashboard.env"
    dashboard.write_text(dashboard.read_text().replace("PORT=8080", f"PORT={PORT}"))


def _jlist(env: dict[str, str], cwd: Path) -> list[dict[str, object]]:
    out = subprocess.run([str(PM2), "jlist"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60).stdout
    start = out.find("[")
    return json.loads(out[start:]) if start >= 0 else []


@pytest.mark.slow
@pytest.mark.skipif(not PM2.exists(), reason="PM2 is installed by `make test` / `make up` (npm)")
def test_six_apps_online_ticking_then_stopped(tmp_path: Path) -> None:
    checkout = tmp_path / "tbot"
    _copy_checkout(checkout)
    env = {**os.environ, "PM2_HOME": str(tmp_path / "pm2home")}
    subprocess.run([str(PM2), "start", "ecosystem.config.js"], cwd=checkout, env=env, check=True,
                   capture_output=True, timeout=120)
    try:
        deadline = time.monotonic() + 150
        statuses: dict[str, str] = {}
        ticking: set[str] = set()
        healthy = False
        while time.monotonic() < deadline:
            statuses = {str(a["name"]): str(a["pm2_env"]["status"]) for a in _jlist(env, checkout)}  # type: ignore[index]
            ticking = {s for s in ("kalshi_st", "kalshi_lt", "fx", "stocks")
                       if (checkout / "logs" / s / "heartbeats.jsonl").exists()}
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2) as response:
                    healthy = response.status == 200
            except OSError:
                healthy = False
            if set(statuses) == APPS and all(v == "online" for v in statuses.values()) and len(ticking) == 4 \
                    and healthy:
                break
            time.sleep(1)
        assert set(statuses) == APPS and all(v == "online" for v in statuses.values()), statuses
        assert len(ticking) == 4 and healthy
        listing = json.dumps(_jlist(env, checkout))
        assert "DASHBOARD_API_TOKEN" not in listing  # secrets stay in env files, never in PM2's env
        pids = [int(a["pid"]) for a in _jlist(env, checkout)]  # type: ignore[call-overload]
    finally:
        subprocess.run([str(PM2), "delete", "ecosystem.config.js"], cwd=checkout, env=env, capture_output=True,
                       timeout=120)
        subprocess.run([str(PM2), "kill"], cwd=checkout, env=env, capture_output=True, timeout=60)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.mark.slow
@pytest.mark.skipif(not PM2.exists(), reason="PM2 is installed by `make test` / `make up` (npm)")
def test_a_crash_looping_surface_ends_errored_with_its_reason_in_the_log(tmp_path: Path) -> None:
    checkout = tmp_path / "tbot"
    _copy_checkout(checkout)
    st_env = checkout / "envs" / "st.env"
    st_env.write_text(st_env.read_text() + "\nMIN_EGDE=0.05\n")  # a typo: the loop exits 2 at every start
    env = {**os.environ, "PM2_HOME": str(tmp_path / "pm2home")}
    subprocess.run([str(PM2), "start", "ecosystem.config.js", "--only", "st-bot-loop"], cwd=checkout, env=env,
                   check=True, capture_output=True, timeout=120)
    try:
        deadline = time.monotonic() + 120
        status = ""
        while time.monotonic() < deadline:
            apps = {str(a["name"]): a for a in _jlist(env, checkout)}
            app = apps.get("st-bot-loop")
            status = str(app["pm2_env"]["status"]) if app else ""  # type: ignore[index]
            if status == "errored":
                break
            time.sleep(1)
        assert status == "errored"
        err = (checkout / "logs" / "pm2" / "st-bot-loop.err.log").read_text()
        assert "config error: envs/st.env: MIN_EGDE" in err
    finally:
        subprocess.run([str(PM2), "delete", "ecosystem.config.js"], cwd=checkout, env=env, capture_output=True,
                       timeout=120)
        subprocess.run([str(PM2), "kill"], cwd=checkout, env=env, capture_output=True, timeout=60)
