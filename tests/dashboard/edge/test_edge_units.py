"""The edge's pieces without NATS: the index that waits for a cursor ahead of it, and refusing a missing key."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from dashboard.cursor import encode_cursor
from dashboard.edge.state import EdgeSignalIndex
from shared.bus import Entry
from shared.ids import new_id
from shared.records import Signal
from shared.signing import load_or_create_key, public_key_pem, sign_signal
from shared.timeutil import utcnow

ROOT = Path(__file__).resolve().parents[3]


def test_a_cursor_ahead_of_this_edge_waits_instead_of_starting_over(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")

    def entry(offset: int) -> Entry:
        now = utcnow()
        signal = sign_signal(Signal(
            id=new_id(), published_at=now, expires_at=now + timedelta(seconds=600), surface="fx",
            sub_strategy="s", venue="sim", instrument="EUR_USD", side="long", limit_price=Decimal("1.1"),
            size_fraction=Decimal("0.01"), p_model=0.6, p_market=0.5, edge=0.1, confidence=0.7, model_spread=0.0,
            models=("m",), eta_hours=1.0,
        ), key)
        data = {"ts": now.isoformat().replace("+00:00", "Z"), **signal.to_json_dict()}
        return Entry(offset, offset + 100, data["ts"], data)

    index = EdgeSignalIndex(3600)
    first, second, third = entry(0), entry(100), entry(200)
    index.ingest("fx", [first], 100)
    # Another edge already served the signal at byte 100: its cursor is at 200, ahead of this edge's tail (100).
    ahead = (0, 0, 200, 0)
    batch = index.collect(ahead, None, None, 10)
    assert batch.delivered == 0 and batch.cursor == ahead  # neither reset to 0 (a repeat) nor moved back
    assert index.tail == [0, 0, 100, 0]  # the index itself is untouched
    index.ingest("fx", [second], 200)  # this edge catches up: still nothing for that cursor
    assert index.collect(ahead, None, None, 10).delivered == 0
    index.ingest("fx", [third], 300)
    batch = index.collect(ahead, None, None, 10)
    assert batch.delivered == 1 and third.data["id"].encode() in batch.body
    assert encode_cursor(batch.cursor) in batch.body.decode()
    # A cursor at or behind the tail is the dashboard's own behaviour.
    assert index.collect((0, 0, 0, 0), None, None, 10).delivered == 3


def test_the_edge_refuses_to_start_without_the_operator_public_key(tmp_path: Path) -> None:
    env = tmp_path / "edge.env"
    env.write_text(f"SIGNAL_PUBLIC_KEY_PATH={tmp_path / 'missing.pem'}\nNATS_URLS=nats://127.0.0.1:9\n")
    done = subprocess.run([sys.executable, "-m", "shared.cli", "feed-edge", "--env", str(env)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "SIGNAL_PUBLIC_KEY_PATH" in done.stderr


def test_credentials_in_a_nats_url_never_reach_the_log(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    (tmp_path / "pub.pem").write_text(public_key_pem(key))
    env = tmp_path / "edge.env"
    env.write_text(f"SIGNAL_PUBLIC_KEY_PATH={tmp_path / 'pub.pem'}\nNATS_URLS=nats://ops:s3cr3t-pw@127.0.0.1:9\n"
                   "NATS_TOKEN=t0k3n-s3cr3t\n")
    env.chmod(0o600)
    process = subprocess.Popen([sys.executable, "-m", "shared.cli", "feed-edge", "--env", str(env)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(4)  # it prints where it listens and keeps retrying the unreachable node
    process.send_signal(signal.SIGKILL)
    out = process.communicate(timeout=10)[0].decode()
    assert "127.0.0.1:9" in out and "nats:" in out  # it did try, and said so
    assert "s3cr3t-pw" not in out and "t0k3n-s3cr3t" not in out
