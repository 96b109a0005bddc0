"""A writer SIGKILLed mid-append, over and over, while a reader follows the log."""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from shared.bus import JsonlLog
from shared.config import repo_root

RECORD_SIZE = 1 << 20
ROUNDS = 30

# Appends 1 MiB records until killed. Just before each big write(2) it tells the parent, which then kills it
# at once or after a short random delay: some kills land inside the write (a torn line), some between writes.
_WRITER = r"""
import hashlib, os, sys
from shared.bus import JsonlLog
path, round_no, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
real_write = os.write
def announced_write(fd, data):
    if len(data) > 4096:
        sys.stdout.write("w\n"); sys.stdout.flush()
    return real_write(fd, data)
os.write = announced_write
log = JsonlLog(path)
log.append({"round": round_no, "seq": -1, "pad": "restart"})  # the first append after the previous kill
sys.stdout.write("ready\n"); sys.stdout.flush()
seq = 0
while True:
    seed = hashlib.sha256(f"{round_no}:{seq}".encode()).hexdigest()
    log.append({"round": round_no, "seq": seq, "pad": seed * (size // 64)})
    seq += 1
"""


def _valid(record: dict[str, Any]) -> bool:
    """A record is whole iff its padding is exactly what the writer generated for its (round, seq)."""
    if record.get("seq") == -1:
        return record.get("pad") == "restart"
    seed = hashlib.sha256(f"{record['round']}:{record['seq']}".encode()).hexdigest()
    return record.get("pad") == seed * (RECORD_SIZE // 64)


class _Follower(threading.Thread):
    """Follows the log the whole time, checking every record it is given."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.reader = JsonlLog(path).reader()
        self.seen: list[tuple[int, int]] = []
        self.bad: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self._check(self.reader.follow(timeout=0.05))
        self._check(list(self.reader.read()))

    def _check(self, entries: list[Any]) -> None:
        for entry in entries:
            if not _valid(entry.data):
                self.bad.append(f"partial record at byte {entry.offset}")
            self.seen.append((entry.data["round"], entry.data["seq"]))


@pytest.mark.slow
def _readable(stream: Any, timeout: float) -> bool:
    """True once ``stream`` has something to read: poll, not select(), which refuses descriptors from 1,024 up."""
    poller = select.poll()
    poller.register(stream, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def test_sigkilled_writer_never_yields_partial_records(tmp_path: Path) -> None:
    path = tmp_path / "crash.jsonl"
    follower = _Follower(path)
    follower.start()
    rng = random.Random(20261121)
    try:
        for round_no in range(ROUNDS):
            child = subprocess.Popen(
                [sys.executable, "-c", _WRITER, str(path), str(round_no), str(RECORD_SIZE)],
                cwd=repo_root(),
                stdout=subprocess.PIPE,
                text=True,
            )
            assert child.stdout is not None
            ready = _readable(child.stdout, 60)
            assert ready and child.stdout.readline().strip() == "ready"
            for _ in range(rng.randint(1, 3)):  # let a few whole records through, then strike at a write
                assert child.stdout.readline().strip() == "w"
            pause = rng.choice([0.0, 0.0, 0.0001, 0.0003, 0.001])
            if pause:
                time.sleep(pause)
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
            child.stdout.close()
        # A clean writer after the last kill: its append is intact and readable.
        JsonlLog(path).append({"round": ROUNDS, "seq": -1, "pad": "restart"})
    finally:
        time.sleep(0.2)
        follower.stop.set()
        follower.join(timeout=60)
        follower.reader.close()

    assert follower.bad == []
    # Every round's first append (made right after the previous writer was killed) came through intact.
    restarts = {r for r, s in follower.seen if s == -1}
    assert restarts == set(range(ROUNDS + 1))

    # Against the raw file: each complete line is either a whole record the follower returned, or a torn
    # fragment the follower counted as corrupt. Nothing is glued, nothing lost.
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    whole, torn = [], 0
    for line in raw[:-1].split(b"\n"):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and _valid(record):
            whole.append((record["round"], record["seq"]))
        else:
            torn += 1
            assert not line.endswith(b"}"), "a torn fragment holds a whole record: an append glued onto it"
    assert follower.seen == whole
    assert follower.reader.stats.corrupt_lines == torn
    # Kills aimed at write(2) tear some lines; if none did, this run did not exercise what it is meant to.
    assert torn >= 1
    # Per round, the surviving records are a gap-free prefix: a kill loses at most the record in flight.
    for round_no in range(ROUNDS):
        seqs = [s for r, s in whole if r == round_no]
        assert seqs == list(range(-1, len(seqs) - 1))
