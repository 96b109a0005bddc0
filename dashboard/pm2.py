"""PM2 process status for the health panel, from ``pm2 jlist`` with env vars stripped (jlist shows them all)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

_KEEP = ("status", "restart_time", "unstable_restarts", "pm_uptime", "exit_code")


def summarize(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the fields the panel shows; everything else (``pm2_env`` holds every env var) is dropped."""
    apps = []
    for app in raw:
        raw_env, raw_monit = app.get("pm2_env"), app.get("monit")
        env: dict[str, Any] = raw_env if isinstance(raw_env, dict) else {}
        monit: dict[str, Any] = raw_monit if isinstance(raw_monit, dict) else {}
        apps.append(
            {
                "name": str(app.get("name", "")),
                "pid": app.get("pid") if isinstance(app.get("pid"), int) else None,
                "cpu": monit.get("cpu") if isinstance(monit.get("cpu"), int | float) else None,
                "memory": monit.get("memory") if isinstance(monit.get("memory"), int) else None,
                **{key: env.get(key) for key in _KEEP if isinstance(env.get(key), str | int | float)},
            }
        )
    return apps


class Pm2Status:
    """Runs ``pm2 jlist`` at most every ``ttl`` seconds; None when PM2 is not installed or not running."""

    def __init__(self, binary: Path, home: Path, ttl: float = 5.0) -> None:
        self.binary = binary
        self.home = home
        self.ttl = ttl
        self._cached: tuple[float, list[dict[str, Any]] | None] = (0.0, None)

    def status(self) -> list[dict[str, Any]] | None:
        at, value = self._cached
        if time.monotonic() - at < self.ttl:
            return value
        value = self._run()
        self._cached = (time.monotonic(), value)
        return value

    def _run(self) -> list[dict[str, Any]] | None:
        # ``pm2 jlist`` would start a daemon if none runs: only ask when one does (its pid file is there).
        if not self.binary.exists() or not (self.home / "pm2.pid").exists():
            return None
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PM2_HOME": str(self.home.resolve())}
        try:
            done = subprocess.run(
                [str(self.binary), "jlist"], capture_output=True, timeout=5, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            return None
        text = done.stdout.decode("utf-8", "replace")
        start = text.find("[")
        try:
            raw = json.loads(text[start:]) if start >= 0 else []
        except ValueError:
            return None
        return summarize(raw) if isinstance(raw, list) else None
