"""``tbot audit``: arguments, exit codes and output, through the real command dispatcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.cli import main


def audit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["audit", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_report(log_dir: Path, scenario: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = audit(capsys, "all", "--since", "2026-11-02", "--until", "2026-11-03", "--log-dir", str(log_dir),
                         "--min-samples", "4")
    assert code == 0
    assert "real data vs synthetic (sim):" in out
    # The sim weather row, labelled synthetic: 3 trades, win rate 66.7%, gross $2.60, fees $0.60, net $2.00, max dd
    # $5.00.
    assert any(line.split()[:4] == ["synthetic", "(sim)", "kalshi_st", "weather"] and "$2.60" in line
               and "$5.00" in line for line in out.splitlines())
    assert "FLAGGED (miscalibrated; cannot start live without --allow-uncalibrated): kalshi_st" in out
    assert "skipped 1 corrupt lines" in out


def test_json_report(log_dir: Path, scenario: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = audit(capsys, "pnl", "--since", "2026-11-02", "--until", "2026-11-03", "--log-dir", str(log_dir),
                         "--json")
    assert code == 0
    data = json.loads(out)
    assert data["sections"] == ["pnl"] and data["calibration"] is None
    nets = {(r["source"], r["surface"]): r["net_cents"] for r in data["pnl"]["surfaces"]}
    assert nets == {("sim", "kalshi_st"): 200, ("kalshi_resolution", "kalshi_st"): 100, ("oanda_candles", "fx"): -200}
    assert data["corrupt_lines"] == 1


@pytest.mark.parametrize("value", ["2026-13-01", "11/02/2026", "2026-11-2", "yesterday", "2026-02-30"])
def test_malformed_date_exits_2_with_the_format(log_dir: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = audit(capsys, "pnl", "--since", value, "--log-dir", str(log_dir))
    assert code == 2 and out == ""
    assert "--since" in err and "YYYY-MM-DD" in err


def test_until_before_since_exits_2(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = audit(capsys, "pnl", "--since", "2026-11-03", "--until", "2026-11-02", "--log-dir", str(log_dir))
    assert code == 2 and "before --since" in err


@pytest.mark.parametrize(("option", "value", "named"), [("--surface", "crypto", "--surface"),
                                                        ("--source", "made_up", "--source")])
def test_unknown_surface_or_source_exits_2(log_dir: Path, option: str, value: str, named: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = audit(capsys, "pnl", "--since", "2026-11-02", option, value, "--log-dir", str(log_dir))
    assert code == 2 and named in err and "expected one of" in err


def test_missing_log_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = audit(capsys, "pnl", "--since", "2026-11-02", "--log-dir", str(tmp_path / "nope"))
    assert code == 2 and "not a directory" in err


def test_future_since_prints_an_empty_report_with_a_note(log_dir: Path, scenario: Any,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = audit(capsys, "all", "--since", "2999-01-01", "--log-dir", str(log_dir))
    assert code == 0
    assert "is in the future" in out
    assert "read 0 bytes" in out
