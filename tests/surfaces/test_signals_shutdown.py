"""A surface loop finishes its tick and exits 0 on SIGTERM and on SIGINT (PM2 sends SIGINT first)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_loop_exits_0_after_its_tick(tmp_path: Path, signum: int) -> None:
    env = tmp_path / "fx.env"
    env.write_text(f"LOG_DIR={tmp_path / 'logs'}\nSIGNAL_KEY_PATH={tmp_path / 'op.pem'}\nTICK_SECONDS=0.2\n")
    proc = subprocess.Popen([sys.executable, "-m", "surfaces.fx", "--env", str(env)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    heartbeats = tmp_path / "logs" / "fx" / "heartbeats.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (heartbeats.exists() and heartbeats.stat().st_size > 0):
        time.sleep(0.1)
    assert heartbeats.exists(), "the loop never ticked"
    proc.send_signal(signum)
    assert proc.wait(timeout=30) == 0
    last = json.loads(heartbeats.read_text().splitlines()[-1])
    assert last["kind"] == "heartbeat" and last["process"] == "st-forex-loop"
