"""Several processes appending to one log at once: no record lost, repeated, torn or interleaved."""

from __future__ import annotations

import hashlib
import json
import random
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.bus import JsonlLog
from shared.config import repo_root
from shared.timeutil import ISO_WIDTH

WRITERS = 4
RECORDS_PER_WRITER = 20_000
PIPE_BUF = 4096
MAX_SIZE = 64 * 1024

# Runs in fresh interpreters (spawn semantics: nothing inherited from the test process but argv).
_WRITER = r"""
import hashlib, random, sys
from shared.bus import JsonlLog

def body(writer, seq, size):
    seed = hashlib.sha256(f"{writer}:{seq}".encode()).hexdigest()
    return (seed * (size // 64 + 1))[:size]

def sizes(writer, count):
    rng = random.Random(writer)
    for seq in range(count):
        u = rng.random()
        if u < 0.002:
            yield 65536
        elif u < 0.025:
            yield rng.randint(8 * 4096, 65536)
        elif u < 0.10:
            yield rng.randint(4096, 8 * 4096)
        else:
            yield rng.randint(8, 600)

path, writer, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
log = JsonlLog(path)
batch_rng = random.Random(1000 + writer)
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()  # the start gun: every writer begins together
pending = []
for seq, size in enumerate(sizes(writer, count)):
    pending.append({"w": writer, "seq": seq, "pad": body(writer, seq, size), "odd": "\u00e9\n\"\\"})
    # Mostly single appends; now and then a small batch, which must stay contiguous and in order too.
    if batch_rng.random() < 0.9 or len(pending) >= 4:
        if len(pending) == 1:
            log.append(pending[0])
        else:
            log.append_many(pending)
        pending = []
if pending:
    log.append_many(pending)
log.close()
"""


def _expected_body(writer: int, seq: int, size: int) -> str:
    seed = hashlib.sha256(f"{writer}:{seq}".encode()).hexdigest()
    return (seed * (size // 64 + 1))[:size]


def _expected_sizes(writer: int, count: int) -> list[int]:
    rng = random.Random(writer)
    out = []
    for _ in range(count):
        u = rng.random()
        if u < 0.002:
            out.append(65536)
        elif u < 0.025:
            out.append(rng.randint(8 * 4096, 65536))
        elif u < 0.10:
            out.append(rng.randint(4096, 8 * 4096))
        else:
            out.append(rng.randint(8, 600))
    return out


@pytest.mark.slow
def _readable(stream: Any, timeout: float) -> bool:
    """True once ``stream`` has something to read: poll, not select(), which refuses descriptors from 1,024 up."""
    poller = select.poll()
    poller.register(stream, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def test_four_processes_append_concurrently_without_loss_tear_or_interleave(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(w), str(RECORDS_PER_WRITER)],
            cwd=repo_root(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            ready = _readable(proc.stdout, 60)
            assert ready and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.wait(timeout=300) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw[:-1].split(b"\n")
    sizes = {w: _expected_sizes(w, RECORDS_PER_WRITER) for w in range(WRITERS)}
    assert sum(1 for s in sizes[0] if s > PIPE_BUF) > 1000  # many records far past PIPE_BUF
    assert max(sizes[0]) == MAX_SIZE

    next_seq = dict.fromkeys(range(WRITERS), 0)
    last_ts = ""
    switches = 0
    previous_writer = -1
    for line in lines:
        record = json.loads(line)  # a torn or interleaved line would not parse, or not match below
        writer, seq = record["w"], record["seq"]
        assert seq == next_seq[writer], "per-writer order broken, or a record lost or repeated"
        next_seq[writer] += 1
        ts = record["ts"]
        assert len(ts) == ISO_WIDTH and ts >= last_ts, "ts must not decrease in file order"
        last_ts = ts
        expected = {"w": writer, "seq": seq, "pad": _expected_body(writer, seq, sizes[writer][seq]), "odd": "é\n\"\\"}
        # Byte-identical: exactly what the writer serialized, behind the stamp.
        expected_line = b'{"ts":"' + ts.encode() + b'",' + json.dumps(expected, separators=(",", ":")).encode()[1:]
        assert line == expected_line
        switches += writer != previous_writer
        previous_writer = writer
    assert next_seq == dict.fromkeys(range(WRITERS), RECORDS_PER_WRITER)
    assert len(lines) == WRITERS * RECORDS_PER_WRITER
    # The writers really did run at the same time (otherwise this test would prove nothing).
    assert switches > 200

    # The bus's own reader agrees: every record exactly once, nothing corrupt.
    reader = JsonlLog(path).reader()
    count = sum(1 for _ in reader.read())
    assert count == WRITERS * RECORDS_PER_WRITER
    assert reader.stats.corrupt_lines == 0
    assert reader.offset == len(raw)
