"""A tiny run of bench/risk_chain.py, so the benchmark cannot rot (the full run is `tbot bench risk_chain`)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[3] / "bench" / "risk_chain.py"


def test_bench_runs_small(capsys: Any) -> None:
    module = runpy.run_path(str(BENCH), run_name="risk_chain_bench")
    assert module["main"](["--n", "300", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "evaluate (gates + Decision record)" in out and "reference" in out and "ratio" in out
    assert "interpreter reference" in out and "ns per sum(range(20))" in out
    # The mix exercises acceptances and denials alike.
    accepted = [line for line in out.splitlines() if "accepted" in line]
    assert accepted and all(" 0% accepted" not in line and "100% accepted" not in line for line in accepted)
