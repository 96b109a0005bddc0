"""PM2 process status for the health panel, from ``pm2 jlist`` with env vars stripped (jlist shows them all)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import UTC, datetime
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


# ---------------------------------------------------------------- surface health
# What the top of the operator page says about each surface's process: PM2's own status first (a crash loop ends in
# ``errored``; ``waiting restart`` is a loop still going round), then the heartbeat's age.
HEALTH_STATES = ("ok", "stale", "errored", "stopped", "unknown")
_TAIL_BYTES = 16_384
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?: ?(?:Z|[+-]\d\d:?\d\d))?):\s?")
# Anything that looks like a credential: KEY=value / key: value pairs whose name says secret, bearer tokens, PEM
# blocks and long unbroken runs of token characters (API keys, JWTs, hex digests).
_SECRET_PAIR = re.compile(
    r"(?i)\b([A-Z0-9_.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|private[_-]?key|credential|auth)[A-Z0-9_.-]*)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+\S+")
_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?(?:-----END [A-Z ]+-----|$)", re.S)
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=.]{24,}")
MAX_ERROR_CHARS = 300


def redact(line: str) -> str:
    """``line`` with anything token-like replaced by ``[redacted]``. The loops' config errors never echo a value,
    but an exception message from a library might; this is the second line of defence, so it errs on hiding."""
    line = _PEM.sub("[redacted]", line)
    line = _BEARER.sub(lambda m: m.group(1) + " [redacted]", line)  # before pairs: "Authorization: Bearer x"
    line = _SECRET_PAIR.sub(
        lambda m: m.group(0) if m.group(3).startswith(("[redacted]", "Bearer", "Basic"))
        else m.group(1) + m.group(2) + "[redacted]", line)

    def long_run(match: re.Match[str]) -> str:
        text = match.group(0)
        # Paths and dotted module names are long too, but are made of short words; a key, a JWT or a digest has a
        # long unbroken part, and a key id (a UUID) is mostly digits.
        parts = [p for p in re.split(r"[/._-]", text) if p]
        digits = sum(c.isdigit() for c in text)
        if (parts and max(len(p) for p in parts) >= 20) or ("/" not in text and digits >= 8):
            return "[redacted]"
        return text

    line = _LONG_TOKEN.sub(long_run, line)
    return line[:MAX_ERROR_CHARS] + ("…" if len(line) > MAX_ERROR_CHARS else "")


def last_error(err_log: Path) -> dict[str, Any] | None:
    """The last non-empty line of a PM2 error log, redacted, with its PM2 time stamp (or the file's mtime)."""
    try:
        with err_log.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read().decode("utf-8", "replace")
            mtime = os.fstat(handle.fileno()).st_mtime
    except OSError:
        return None
    # PM2 stamps every line it writes, blank ones too ("2026-12-05T20:17:41: "): the text after the stamp decides.
    for line in reversed(tail.splitlines()):
        stamp = _STAMP.match(line.strip())
        text = line.strip()[stamp.end():].strip() if stamp else line.strip()
        if text:
            at = stamp.group(1) if stamp else datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return {"line": redact(text), "at": at}
    return None


def surface_health(
    app_name: str,
    app: dict[str, Any] | None,
    pm2_running: bool,
    beat_age: float | None,
    stale_after: float,
    err_log: Path,
    now_ms: float,
) -> dict[str, Any]:
    """One surface's process health: ``state`` (ok | stale | errored | stopped | unknown), PM2's status and
    restart count, the heartbeat's age and, unless healthy, the last line of its PM2 error log.

    ``app`` is the surface's entry from :meth:`Pm2Status.status` (None when PM2 does not list it), ``pm2_running``
    whether PM2 answered at all, ``beat_age`` seconds since the last heartbeat (None if none was ever seen).
    """
    status = str(app.get("status")) if app and app.get("status") is not None else None
    restarts = app.get("restart_time") if app and isinstance(app.get("restart_time"), int) else None
    stale = beat_age is None or beat_age > stale_after
    reason: str
    if status == "errored":
        state, reason = "errored", "crashed and PM2 gave up restarting it"
    elif status == "waiting restart" or (status == "launching" and (restarts or 0) > 0):
        state, reason = "errored", "crash-looping: exited and waiting to restart"
    elif status in ("stopped", "stopping"):
        state, reason = "stopped", "stopped in PM2"
    elif status == "online":
        uptime = app.get("pm_uptime") if app else None
        young = isinstance(uptime, int | float) and (now_ms - uptime) / 1000 < stale_after
        if stale and not (beat_age is None and young):
            state, reason = "stale", "running in PM2 but no heartbeat for " + _age(beat_age)
        else:
            state, reason = "ok", "running"
    elif status is not None:
        state, reason = ("stale" if stale else "ok"), f"PM2 status {status}"
    elif pm2_running:
        state, reason = "stopped", f"{app_name} is not in PM2's process list"
    elif beat_age is None:
        state, reason = "unknown", "PM2 not running here and no heartbeat yet"
    elif stale:
        state, reason = "stale", "no heartbeat for " + _age(beat_age) + " (PM2 not running here)"
    else:
        state, reason = "ok", "heartbeat fresh (PM2 not running here)"
    error = last_error(err_log) if state != "ok" else None
    return {
        "state": state,
        "reason": reason,
        "process": app_name,
        "pm2_status": status,
        "restarts": restarts,
        "heartbeat_age_seconds": None if beat_age is None else round(beat_age, 1),
        "last_error": error["line"] if error else None,
        "last_error_at": error["at"] if error else None,
    }


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "ever"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
