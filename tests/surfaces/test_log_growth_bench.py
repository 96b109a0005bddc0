"""A short run of ``bench/log_growth.py``'s measurement: folding and spaced heartbeats write less, same trades."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from shared.config import repo_root


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("log_growth_bench", repo_root() / "bench" / "log_growth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_log_growth_bench_short_run() -> None:
    bench = load_bench()
    before, _, _ = bench.run(60, {"decision_repeat_summary_seconds": 0.0, "heartbeat_seconds": 0.0}, 2.0, 600.0)
    after, _, packed = bench.run(60, {"decision_repeat_summary_seconds": 300.0, "heartbeat_seconds": 10.0}, 2.0, 600.0)
    assert after["trades"] == before["trades"] and after["signals"] == before["signals"]
    assert after["decisions"] * 2 < before["decisions"]
    assert after["heartbeats"] * 3 < before["heartbeats"]
    assert before["pm2 logs"] > 0
    assert 0 < packed["decisions"] < after["decisions"]
