"""Chaos: real surface and resolver processes on the sim venues, SIGKILLed at random again and again.

Afterwards: no client order id placed twice (at the venue or in the log), no torn record, no orphan position, and
every ledger equal to a fresh rebuild once each surface has restarted and reconciled.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from shared.bus import JsonlLog
from shared.config import load_settings
from shared.execution import latest_states, read_trades
from shared.money.ledger import Ledger
from shared.paths import stream_path
from shared.records import RECORD_TYPES, parse_any
from surfaces.runner import SURFACE_PACKAGES

ROOT = Path(__file__).resolve().parents[2]
SURFACES = {"kalshi_st": "st", "fx": "fx"}  # the two surfaces that trade from their first minutes of sim time


def _env(tmp: Path, name: str, extra: str = "") -> Path:
    path = tmp / f"{name}.env"
    path.write_text(f"LOG_DIR={tmp / 'logs'}\nSIGNAL_KEY_PATH={tmp / 'logs' / 'keys' / 'op.pem'}\n"
                    f"TICK_SECONDS=0.3\nSIM_SPEED=1200\n{extra}")
    return path


def _start(args: list[str], tmp: Path, name: str) -> subprocess.Popen[bytes]:
    out = (tmp / f"{name}.out").open("ab")
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
def test_sigkill_storm_leaves_no_duplicate_no_torn_record_no_orphan(tmp_path: Path) -> None:
    envs = {surface: _env(tmp_path, short) for surface, short in SURFACES.items()}
    resolver_env = tmp_path / "resolver.env"
    resolver_env.write_text(f"LOG_DIR={tmp_path / 'logs'}\nTICK_SECONDS=0.3\nSURFACE_ENVS="
                            + ",".join(f"{s}={envs[s]}" for s in SURFACES) + "\n")
    commands = {s: ["surfaces." + s, "--env", str(envs[s])] for s in SURFACES}
    commands["resolver"] = ["surfaces.resolver", "--env", str(resolver_env)]
    procs = {name: _start(cmd, tmp_path, name) for name, cmd in commands.items()}
    rng = random.Random(11)
    kills = 0
    deadline = time.monotonic() + 25
    try:
        time.sleep(6)  # let every process get past its imports once
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.4, 2.0))
            name = rng.choice(sorted(procs))
            procs[name].send_signal(signal.SIGKILL)
            procs[name].wait()
            kills += 1
            procs[name] = _start(commands[name], tmp_path, name)
        time.sleep(4)
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            assert proc.wait(timeout=60) in (0, -signal.SIGKILL, -signal.SIGTERM), f"{name} did not stop cleanly"
    assert kills >= 10
    log_dir = tmp_path / "logs"

    # Every surface restarts once more, reconciles with the venue, and its ledger must equal a fresh rebuild.
    for surface, env in envs.items():
        module = importlib.import_module(SURFACE_PACKAGES[surface][0])
        settings = load_settings(module.SETTINGS, env)
        loop = module.build(settings, process_name=f"check-{surface}")
        loop.start()  # reconcile: raises OrphanPositionError if the venue holds a position the log does not know
        live = loop.decider.ledger
        live.sync()
        rebuilt = Ledger.rebuild(log_dir, surface, "paper", bankroll_cents=settings.bankroll_cents)
        assert live.state() == rebuilt.state()
        loop.close()

        trades = read_trades(JsonlLog(stream_path(log_dir, surface, "trades")))
        assert trades, f"{surface} never traded during the storm"
        intents = Counter(t.client_order_id for t in trades if t.status == "intent")
        assert max(intents.values()) == 1, "a client order id was intended twice"
        latest = latest_states(trades)
        assert all(t.status in ("filled", "resolved", "rejected", "cancelled") for t in latest.values())

        # The venue's own memory: each client order id at most once, and each fill known to the log.
        orders = [json.loads(line) for line in (log_dir / "sim" / surface / "orders.jsonl").read_text().splitlines()
                  if line.strip()]
        opened = Counter(o["client_order_id"] for o in orders if o["intent"] == "open")
        assert max(opened.values(), default=1) == 1, "the venue received a client order id twice"
        filled_at_venue = {o["client_order_id"] for o in orders if o["intent"] == "open" and o.get("fills")}
        known = {t.client_order_id for t in latest.values() if t.status in ("filled", "resolved")}
        assert filled_at_venue <= known, f"orphans at the venue: {sorted(filled_at_venue - known)[:3]}"

    # No torn record: every stream reads back as valid records; killed writers' fragments only ever count as
    # skipped lines, never as records.
    for path in log_dir.glob("*/*.jsonl"):
        reader = JsonlLog(path).reader()
        for entry in reader.read():
            if entry.data.get("kind") in RECORD_TYPES:
                parse_any(entry.data, entry.ts)
