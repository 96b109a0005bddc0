"""Always on: ``tbot-client service install|uninstall|status``.

A foreground ``run`` on a laptop that sleeps misses signals (they expire 600 s after publication). ``install``
writes a user service that starts ``run`` at login and restarts it when it fails: a systemd user unit on Linux
(``~/.config/systemd/user/tbot-client.service``), a launchd agent on macOS
(``~/Library/LaunchAgents/com.tbot.client.plist``). It prints the unit and what it does before enabling it. No
secret goes into the unit: the token and broker keys stay in their 0600 files, read by ``run``.

``run`` writes ``heartbeat.json`` in the state folder after every poll that succeeded, and at start records the
time it was away (``downtime.jsonl``: from the last heartbeat to now). ``service status`` says when the last poll
succeeded and which of the operator's signals were published while the client was down and expired before it came
back (from the operator's history, so resolved signals only).
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from client.store import StatePaths, atomic_write_json, read_json
from shared.bus import JsonlLog
from shared.timeutil import from_iso, to_iso

UNIT_NAME = "tbot-client.service"
AGENT_LABEL = "com.tbot.client"
DOWN_AFTER_SECONDS = 90.0  # a gap between polls longer than this counts as time away


@dataclass(frozen=True, slots=True)
class ServicePlan:
    kind: str  # systemd | launchd
    path: Path
    text: str
    enable: list[list[str]]
    disable: list[list[str]]
    explain: str


def _command(config_path: Path) -> list[str]:
    return [sys.executable, "-m", "client.cli", "--config", str(config_path.resolve()), "run"]


def systemd_unit(config_path: Path) -> str:
    """The systemd user unit: ``run`` at login, restarted 10 s after any failure, forever."""
    command = " ".join(_quote(part) for part in _command(config_path))
    return f"""# Written by `tbot-client service install`; remove with `tbot-client service uninstall`.
# No secret here: the feed token and broker keys stay in their 0600 files, read by `tbot-client run`.
[Unit]
Description=tbot-client: follow the operator's signals ({config_path.resolve()})
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
WorkingDirectory={config_path.resolve().parent}
ExecStart={command}
Restart=on-failure
RestartSec=10
Environment=PYTHONUNBUFFERED=1
NoNewPrivileges=yes

[Install]
WantedBy=default.target
"""


def launchd_plist(config_path: Path, log_dir: Path) -> str:
    """The launchd agent: ``run`` at login, kept alive when it exits with a failure."""
    data: dict[str, Any] = {
        "Label": AGENT_LABEL,
        "ProgramArguments": _command(config_path),
        "WorkingDirectory": str(config_path.resolve().parent),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 10,
        "EnvironmentVariables": {"PYTHONUNBUFFERED": "1"},
        "StandardOutPath": str(log_dir / "service.out.log"),
        "StandardErrorPath": str(log_dir / "service.err.log"),
    }
    return plistlib.dumps(data).decode()


def _quote(part: str) -> str:
    return part if part and all(c.isalnum() or c in "/._-=:" for c in part) else '"' + part.replace('"', '\\"') + '"'


def plan(config_path: Path, state_dir: Path, *, platform: str | None = None, unit_dir: Path | None = None
         ) -> ServicePlan:
    """What ``install`` writes and runs on this platform (``unit_dir`` overrides the user service folder)."""
    platform = platform or sys.platform
    if platform == "darwin":
        folder = unit_dir or Path.home() / "Library" / "LaunchAgents"
        path = folder / f"{AGENT_LABEL}.plist"
        return ServicePlan(
            "launchd", path, launchd_plist(config_path, state_dir),
            enable=[["launchctl", "load", "-w", str(path)]], disable=[["launchctl", "unload", "-w", str(path)]],
            explain=(f"a launchd agent ({path}) that starts `tbot-client run` when you log in and starts it again "
                     "10 s after it fails; output goes to service.out.log / service.err.log in the state folder"),
        )
    folder = unit_dir or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"
    path = folder / UNIT_NAME
    return ServicePlan(
        "systemd", path, systemd_unit(config_path),
        enable=[["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", UNIT_NAME]],
        disable=[["systemctl", "--user", "disable", "--now", UNIT_NAME], ["systemctl", "--user", "daemon-reload"]],
        explain=(f"a systemd user service ({path}) that starts `tbot-client run` when you log in and starts it "
                 "again 10 s after it fails, with no limit; its output is in `journalctl --user -u tbot-client`. "
                 "To keep it running while you are logged out: loginctl enable-linger"),
    )


def run_commands(commands: list[list[str]]) -> tuple[bool, str]:
    """Run the enable/disable commands; (False, why) if the tool is missing or a command fails."""
    for command in commands:
        if shutil.which(command[0]) is None:
            return False, f"{command[0]} not found"
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            return False, f"`{' '.join(command)}` failed: {(done.stderr or done.stdout).strip()[:300]}"
    return True, ""


# ---------------------------------------------------------------------------------------------- heartbeat, downtime
def heartbeat_path(paths: StatePaths) -> Path:
    return paths.root / "heartbeat.json"


def write_heartbeat(paths: StatePaths, at: datetime, **detail: Any) -> None:
    """After a poll that succeeded: when, and this process."""
    atomic_write_json(heartbeat_path(paths), {"last_poll_ok": to_iso(at), "pid": os.getpid(), **detail})


def read_heartbeat(paths: StatePaths) -> dict[str, Any] | None:
    return read_json(heartbeat_path(paths))


def record_downtime(paths: StatePaths, now: datetime) -> tuple[datetime, datetime] | None:
    """At ``run``'s start: the time since the last heartbeat, if long enough to count, appended to
    ``downtime.jsonl``."""
    beat = read_heartbeat(paths)
    if beat is None or not isinstance(beat.get("last_poll_ok"), str):
        return None
    last = from_iso(beat["last_poll_ok"])
    if (now - last).total_seconds() < DOWN_AFTER_SECONDS:
        return None
    JsonlLog(paths.root / "downtime.jsonl").append({"kind": "downtime", "from": to_iso(last), "to": to_iso(now)})
    return last, now


def downtimes(paths: StatePaths) -> list[tuple[datetime, datetime]]:
    out = []
    for entry in JsonlLog(paths.root / "downtime.jsonl").read_all():
        if isinstance(entry.data.get("from"), str) and isinstance(entry.data.get("to"), str):
            out.append((from_iso(entry.data["from"]), from_iso(entry.data["to"])))
    return out


def missed_signals(items: list[dict[str, Any]], windows: list[tuple[datetime, datetime]], seen: set[str],
                   surfaces: tuple[str, ...]) -> list[dict[str, Any]]:
    """History items (followed surfaces) published while the client was down that expired before it came back and
    that it never handled."""
    out = []
    for item in items:
        signal = item.get("signal")
        if not isinstance(signal, dict) or signal.get("id") in seen or signal.get("surface") not in surfaces:
            continue
        try:
            published = from_iso(str(signal["published_at"]))
            expires = from_iso(str(signal.get("expires_at") or "")) if signal.get("expires_at") else (
                published + timedelta(seconds=600))
        except (KeyError, ValueError):
            continue
        for start, end in windows:
            if start <= published <= end and expires <= end:
                out.append(item)
                break
    return out
