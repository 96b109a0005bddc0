"""Every figure the audit shows says where it comes from: synthetic (sim), real-data paper or live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.cli import main

WINDOW = ["--since", "2026-11-02", "--until", "2026-11-03"]


def test_text_report_labels_sim_and_shows_skill(log_dir: Path, scenario: Any,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "all", *WINDOW, "--log-dir", str(log_dir), "--min-samples", "4"]) == 0
    out = capsys.readouterr().out
    assert "real data vs synthetic (sim):" in out
    lines = out.splitlines()
    # No P&L row says just "sim": each one is labelled synthetic.
    assert not any(line.startswith("sim ") for line in lines)
    assert "skill against the market, per source, surface and sub-strategy:" in out
    # The scenario's sim weather trades: 3, two won, p_model .7/.6/.8 against a 0.5 market.
    # Brier model (0.09 + 0.36 + 0.04) / 3 = 0.1633, market 0.25: skill +0.347.
    [weather] = [line for line in lines if line.startswith("synthetic (sim)") and " weather " in line
                 and "0.1633" in line]
    assert "0.2500" in weather and "+0.347" in weather
    # The per-surface calibration row says it mixes a sim and a real-data source.
    assert any(line.startswith("kalshi_st") and line.endswith("synthetic (sim) + real-data paper") for line in lines)


def test_json_skill_rows_carry_their_label(log_dir: Path, scenario: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "calibration", *WINDOW, "--log-dir", str(log_dir), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["calibration"]["skill"]
    labels = {(r["surface"], r["sub_strategy"]): r["label"] for r in rows}
    assert labels[("kalshi_st", "weather")] == "synthetic (sim)"
    assert labels[("kalshi_st", "btc")] == "real-data paper"
    assert labels[("fx", "atr")] == "real-data paper"


def test_html_report_labels_sim_and_shows_skill(log_dir: Path, scenario: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", *WINDOW, "--log-dir", str(log_dir), "--out", str(out), "--min-samples", "4"]) == 0
    html = out.read_text()
    assert "<h3>Real data vs synthetic (sim)</h3>" in html and "<h3>Skill against the market</h3>" in html
    assert "<td class=text>synthetic (sim)</td>" in html and "<td class=text>real-data paper</td>" in html
    assert "<td class=text>sim</td>" not in html
    assert "synthetic (sim) / kalshi_st" in html  # the equity curve's legend
