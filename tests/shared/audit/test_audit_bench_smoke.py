"""A tiny run of bench/audit_since.py: the generator writes valid records and both reports run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "audit_since.py"


def test_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("audit_since_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The bench exits with an error if any generated line is corrupt or not a valid record.
    assert module.main(["--size-gb", "0.003", "--runs", "1", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ratio one-day / whole:" in out and "one-day report sample row: real" in out
    # The one-day window (1 of 30 days) reads a small fraction of the bytes the whole-log report reads.
    fraction = float(out.split("x faster), ")[1].split(" of the bytes")[0])
    assert 0 < fraction < 0.2
