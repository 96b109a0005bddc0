"""Walk-forward: folds roll by the test length, the best training net is chosen, out-of-sample results per fold and
overall, and the overfitting warning."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from shared.cli import main
from surfaces.backtest.walkforward import WalkForwardError, grid_points, make_folds, overfit, parse_span
from surfaces.backtest.window import BacktestWindow


def test_folds_roll_by_the_test_window() -> None:
    folds = make_folds(BacktestWindow(date(2025, 8, 1), date(2025, 8, 31)), 10, 5)
    assert [(f.train.first.day, f.train.last.day, f.test.first.day, f.test.last.day) for f in folds] == [
        (1, 10, 11, 15), (6, 15, 16, 20), (11, 20, 21, 25), (16, 25, 26, 30)]
    with pytest.raises(WalkForwardError, match="do not fit"):
        make_folds(BacktestWindow(date(2025, 8, 1), date(2025, 8, 5)), 4, 2)


def test_spans_grids_and_the_overfit_rule() -> None:
    assert parse_span("--train", "30d") == 30 and parse_span("--test", "7") == 7
    for bad in ("0d", "7w", "-3d", ""):
        with pytest.raises(WalkForwardError, match="not a number of days"):
            parse_span("--test", bad)
    assert grid_points({"A": ["1", "2"], "B": ["x"]}) == [{"A": "1", "B": "x"}, {"A": "2", "B": "x"}]
    assert overfit(10.0, 4.9) and overfit(10.0, -1.0)
    assert not overfit(10.0, 5.0) and not overfit(-1.0, -5.0)


def test_walk_forward_runs_two_folds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wf"
    code = main(["backtest", "fx", "--from", "2025-08-04", "--to", "2025-08-11", "--grid", "MIN_EDGE=0.02,0.2",
                 "--train", "4d", "--test", "2d", "--out", str(out), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [f["fold"] for f in report["folds"]] == [1, 2]
    assert report["folds"][0]["train"] == {"from": "2025-08-04", "to": "2025-08-07"}
    assert report["folds"][1]["test"] == {"from": "2025-08-10", "to": "2025-08-11"}
    for fold in report["folds"]:
        nets = [g["net_cents"] for g in fold["grid"]]
        assert fold["in_sample"]["net_cents"] == max(nets)
        assert fold["chosen"] == fold["grid"][nets.index(max(nets))]["values"]
        assert Path(fold["out_of_sample"]["out_dir"], "manifest.json").is_file()
        manifest = json.loads(Path(fold["out_of_sample"]["out_dir"], "manifest.json").read_text())
        assert manifest["overrides"] == fold["chosen"] and manifest["window"]["from"] == fold["test"]["from"]
    overall = report["overall"]
    assert overall["out_of_sample"]["net_cents"] == sum(f["out_of_sample"]["net_cents"] for f in report["folds"])
    assert overall["out_of_sample"]["days"] == 4
    assert (out / "walkforward.json").is_file() and (out / "manifest.json").is_file()
