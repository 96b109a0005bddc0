"""``tbot report``: one self-contained HTML file with inline SVG charts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from shared.audit import svg
from shared.audit.calibration import BucketRow
from shared.audit.gates import GateStats
from shared.cli import main


def test_report_is_self_contained(log_dir: Path, scenario: Any, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code = main(["report", "--since", "2026-11-02", "--until", "2026-11-03", "--log-dir", str(log_dir),
                 "--out", str(out), "--min-samples", "4", "--min-cohort", "2"])
    assert code == 0 and "wrote" in capsys.readouterr().out
    html = out.read_text()
    # No external asset of any kind: nothing to fetch, no script.
    assert not re.search(r"<script|<link|<img|\ssrc=|\shref=|url\(|@import", html, re.IGNORECASE)
    # Equity curve, reliability diagrams for 2 surfaces and 3 models (a, b, the ensemble), 2 ETA scatters, 1 funnel.
    svgs = re.findall(r"<svg.*?</svg>", html, re.DOTALL)
    assert len(svgs) == 9
    for element in svgs:
        ElementTree.fromstring(element)  # each chart is well-formed XML
    assert "Equity: cumulative net P&amp;L" in html and "Gate funnel: kalshi_st" in html
    assert "Miscalibrated (cannot start live without --allow-uncalibrated): kalshi_st" in html
    assert "$2.60" in html and "suppressed (&lt; 2)" in html
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_inputs_exit_2(log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--since", "2026/11/02", "--log-dir", str(log_dir), "--out", str(tmp_path / "r.html")]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["report", "--since", "2026-11-02", "--log-dir", str(log_dir),
                 "--out", str(tmp_path / "missing" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_empty_window_still_writes_a_report(log_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", "--since", "2999-01-01", "--log-dir", str(log_dir), "--out", str(out)]) == 0
    html = out.read_text()
    assert "in the future" in html and "no data in this window" in html


def test_chart_geometry() -> None:
    # A perfectly calibrated bucket sits on the diagonal: predicted 0.5 -> realized 0.5 -> the plot's centre.
    chart = svg.reliability_diagram("r", [BucketRow(0.5, 0.6, 4, 0.5, 0.5)])
    centre_x = (svg.MARGIN_LEFT + svg.WIDTH - svg.MARGIN_RIGHT) / 2
    centre_y = (svg.MARGIN_TOP + svg.HEIGHT - svg.MARGIN_BOTTOM) / 2
    assert f'cx="{centre_x:.1f}" cy="{centre_y:.1f}"' in chart
    # The funnel's bars are proportional to the candidates alive: 10 -> full width, 5 -> half.
    bars = svg.funnel("f", 10, [GateStats("dedup", 10, 5, 5, 5, 5, [])])
    widths = [float(w) for w in re.findall(r'<rect x="150" y="\d+" width="([\d.]+)"', bars)]
    assert widths[1] == pytest.approx(widths[0] / 2)
    # Labels are escaped.
    assert "<b>" not in svg.line_chart("<b>", {"<i>": [(0.0, 1.0), (1.0, 2.0)]}, "x", "y")
    assert svg.nice_ticks(0, 9.3) == [0, 2, 4, 6, 8, 10]
