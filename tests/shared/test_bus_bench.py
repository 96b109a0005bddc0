"""A tiny smoke run of ``bench/bus.py``: every figure is printed and all four readers agree on the day."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import repo_root


@pytest.mark.slow
def test_bus_benchmark_smoke_run() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bus.py", "--quick", "--count", "200", "--runs", "1", "--size-gb", "0.002",
         "--follow-count", "50"],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for label in ("1 writer, flushed", "1 writer, fsync'd", "4 processes, flushed", "follow latency p50",
                  "follow latency p99", "full json scan", "grep -c of that day", "sqlite indexed"):
        assert label in out
    found = next(line for line in out.splitlines() if "records found" in line)
    counts = ast.literal_eval(found.split("records found ", 1)[1])
    assert set(counts) == {"bus", "grep", "sqlite", "scan"}
    assert len(set(counts.values())) == 1 and counts["bus"] > 0
    assert "tbot-bench-bus-" in out
    temp_dir = next(line for line in out.splitlines() if "files in" in line).split("files in ", 1)[1].split(";")[0]
    assert not Path(temp_dir).exists()  # the benchmark cleans up its gigabyte
