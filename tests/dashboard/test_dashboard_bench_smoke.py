"""A tiny run of bench/feed_fanout.py: every subscriber receives every publish, on both systems."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "feed_fanout.py"


@pytest.mark.timeout(180)
def test_feed_fanout_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("feed_fanout_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    with_redis = shutil.which("redis-server") is not None
    out = module.run(subscribers=20, rounds=2, with_redis=with_redis)
    dash = out["dashboard"]
    assert dash["samples"] == 40 and dash["missing"] == 0 and dash["held_connections"] == 20
    assert dash["p99_ms"] < 5000
    if with_redis:
        assert out["redis"]["samples"] == 40 and out["redis"]["missing"] == 0
        assert "p99" in out["ratios"]
    assert "feed fan-out: 20 concurrent" in capsys.readouterr().out
