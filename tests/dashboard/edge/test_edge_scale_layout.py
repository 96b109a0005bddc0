"""`make scale-up`'s PM2 file: three clustered NATS nodes, the relay, two edges and the proxy; `make up`'s file and
target start none of them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _apps(name: str) -> list[dict[str, object]]:
    if shutil.which("node") is None:
        pytest.skip("node is installed by `make` (npm, for PM2)")
    out = subprocess.run(["node", "-e", f"console.log(JSON.stringify(require('./{name}').apps))"], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=30).stdout
    apps: list[dict[str, object]] = json.loads(out)
    return apps


def test_the_scaled_layout_and_the_default_fleet_are_apart() -> None:
    scaled = {str(app["name"]): [str(a) for a in app["args"]] for app in _apps("ecosystem.scale.config.js")}  # type: ignore[attr-defined]
    assert set(scaled) == {"st-nats-1", "st-nats-2", "st-nats-3", "st-feed-relay", "st-feed-edge-1",
                           "st-feed-edge-2", "st-feed-proxy"}
    for i in (1, 2, 3):
        args = scaled[f"st-nats-{i}"]
        assert "-js" in args and args[args.index("-a") + 1] == "127.0.0.1"
        routes = args[args.index("--routes") + 1].split(",")
        assert len(routes) == 2 and f"nats://127.0.0.1:{6221 + i}" not in routes
    assert scaled["st-feed-relay"] == ["-m", "dashboard.edge.relay", "--env", "envs/relay.env"]
    assert scaled["st-feed-edge-2"][-2:] == ["--port", "8182"]
    default = {str(app["name"]) for app in _apps("ecosystem.config.js")}
    assert not default & set(scaled)
    makefile = (ROOT / "Makefile").read_text()
    up = re.search(r"^up:.*?(?=^\S)", makefile, re.S | re.M)
    assert up is not None and "scale" not in up.group(0) and "nats" not in up.group(0)
