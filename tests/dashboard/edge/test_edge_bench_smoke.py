"""A tiny run of bench/feed_scale.py: every edge subscriber receives every publish; every callback is appended once."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from dashboard.edge.localrig import nats_server_binary

BENCH = Path(__file__).resolve().parents[3] / "bench" / "feed_scale.py"


@pytest.mark.nats
@pytest.mark.timeout(180)
def test_feed_scale_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    if nats_server_binary() is None:
        pytest.skip("needs Debian's nats-server (apt-get install nats-server; `make system-test-deps` as root)")
    spec = importlib.util.spec_from_file_location("feed_scale_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    out = module.run(subscribers=10, rounds=2, with_dashboard=False, with_redis=False, callback_signals=1,
                     callback_connections=4)
    edges = out["edges"]
    assert edges["samples"] == 20 and edges["missing"] == 0 and edges["held_connections"] == 10
    callbacks = out["callbacks"]
    assert callbacks["statuses"] == {201: 30} and callbacks["appended"] == 30
    assert "feed at scale: 10 long-poll subscribers" in capsys.readouterr().out
