"""``tbot backtest``: bad input exits 2 naming it; a short FX backtest writes ordinary logs, a manifest and a summary
whose net is the trade log's resolved P&L; ``tbot audit`` and ``tbot report`` read the backtest directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.bus import JsonlLog
from shared.cli import main
from shared.execution import latest_states, read_trades
from shared.paths import stream_path


def _fail(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["backtest", *argv]) == 2
    err: str = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(("argv", "named"), [
    (("fx", "--from", "2025-8-04", "--to", "2025-08-06"), "--from: '2025-8-04' is not a date"),
    (("fx", "--from", "2025-08-04", "--to", "2025-02-30"), "--to: '2025-02-30' is not a date"),
    (("fx", "--from", "2025-08-06", "--to", "2025-08-04"), "--to 2025-08-04 is before --from 2025-08-06"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--set", "NOT_A_KEY=1"), "--set NOT_A_KEY: unknown key"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--set", "MIN_EDGE=lots"), "--set MIN_EDGE:"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--set", "MIN_EDGE"), "--set: 'MIN_EDGE' is not KEY=VALUE"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--set", "VENUE=oanda"), "--set VENUE: cannot be set"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--set", "ANTHROPIC_API_KEY=k"),
     "--set ANTHROPIC_API_KEY: cannot be set in a backtest (a backtest never calls the network)"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--data", "/nonexistent/data"),
     "--data: /nonexistent/data is not a directory"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--grid", "MIN_EDGE=0.03,0.05"),
     "walk-forward needs --grid, --train and --test together"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--grid", "MIN_EDGE=0.03,x", "--train", "1d", "--test",
      "1d"), "--set MIN_EDGE:"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--grid", "MIN_EDGE=0.03", "--train", "thirty",
      "--test", "1d"), "--train: 'thirty' is not a number of days"),
    (("fx", "--from", "2025-08-04", "--to", "2025-08-06", "--grid", "MIN_EDGE=0.03", "--train", "5d",
      "--test", "2d"), "do not fit"),
])
def test_bad_input_exits_2_naming_it(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], named: str) -> None:
    assert named in _fail(capsys, *argv)


def test_window_without_data_says_which_data_exists(capsys: pytest.CaptureFixture[str]) -> None:
    err = _fail(capsys, "fx", "--from", "2024-01-01", "--to", "2024-01-05")
    assert "fx: no data for 2024-01-01 to 2024-01-05; the data covers 2025-07-28 to 2026-02-20" in err
    err = _fail(capsys, "stocks", "--from", "2026-03-30", "--to", "2026-04-10")
    assert "stocks: no data" in err and "the data covers 2025-04-01 to" in err


@pytest.mark.parametrize("surface", ["nope", "kalshi_lt"])
def test_unknown_surface_and_long_term_are_refused(capsys: pytest.CaptureFixture[str], surface: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["backtest", surface, "--from", "2025-08-04", "--to", "2025-08-05"])
    assert exited.value.code == 2
    assert f"invalid choice: '{surface}'" in capsys.readouterr().err


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def fx_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Path]:
    base = tmp_path_factory.mktemp("bt")
    out, html = base / "run", base / "report.html"
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["backtest", "fx", "--from", "2025-08-04", "--to", "2025-08-08", "--out", str(out), "--json",
                     "--html", str(html), "--set", "MIN_EDGE=0.02"])
    assert code == 0
    return out, json.loads(buffer.getvalue()), html


def test_backtest_writes_ordinary_logs_and_a_manifest(fx_run: tuple[Path, dict[str, Any], Path]) -> None:
    out, summary, html = fx_run
    for stream in ("trades", "decisions", "signals", "heartbeats"):
        assert stream_path(out, "fx", stream).stat().st_size > 0
    assert (out / "sim" / "fx" / "orders.jsonl").stat().st_size > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["surface"] == "fx" and manifest["completed"] is True
    assert manifest["window"] == {"from": "2025-08-04", "to": "2025-08-08", "days": 5}
    assert manifest["overrides"] == {"MIN_EDGE": "0.02"} and manifest["settings"]["MIN_EDGE"] == "0.02"
    assert manifest["seed"] == 7 and manifest["result_kind"] == "sim"
    assert manifest["data"]["range"] == {"from": "2025-07-28", "to": "2026-02-20"}
    assert manifest["code_version"] and manifest["created_at"].endswith("Z")
    assert html.read_text().startswith("<!DOCTYPE html>")
    # Every tick is a bar close inside the window, in venue time.
    beats = _records(stream_path(out, "fx", "heartbeats"))
    assert len(beats) == summary["ticks"] and all("2025-08-04" <= b["detail"]["venue_time"][:10] <= "2025-08-08"
                                                  for b in beats)
    assert {b["detail"]["venue_time"][14:19] for b in beats} == {"00:00"}


def test_summary_net_is_the_trade_logs_resolved_pnl(fx_run: tuple[Path, dict[str, Any], Path]) -> None:
    out, summary, _ = fx_run
    states = latest_states(read_trades(JsonlLog(stream_path(out, "fx", "trades"))))
    resolved = [t for t in states.values() if t.status == "resolved"]
    assert resolved, "a 5-day FX backtest should close some brackets"
    assert summary["trades"] == len(resolved)
    assert summary["net_cents"] == sum(t.pnl or 0 for t in resolved)
    assert summary["fees_cents"] == sum(t.fees for t in resolved)
    assert summary["gross_cents"] == summary["net_cents"] + summary["fees_cents"]
    assert all(t.resolution_source == "sim" for t in resolved)
    assert all(t.venue == "sim" for t in states.values())
    assert summary["result_kind"] == "sim" and "synthetic" in summary["label"]
    assert summary["open_at_end"] == sum(1 for t in states.values() if t.status == "filled")
    assert summary["reconciliation"]["difference_cents"] == 0
    assert summary["gates"]["decisions"] >= summary["gates"]["accepted"] >= summary["trades"]
    assert summary["skill"] and all(row["kind"] == "sim" for row in summary["skill"])


def test_audit_reads_the_backtest_directory(fx_run: tuple[Path, dict[str, Any], Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out, summary, _ = fx_run
    capsys.readouterr()
    assert main(["audit", "pnl", "--since", "2000-01-01", "--log-dir", str(out), "--env-dir", str(out / "envs"),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (row,) = [r for r in report["pnl"]["surfaces"] if r["surface"] == "fx"]
    assert row["source"] == "sim" and row["net_cents"] == summary["net_cents"]
    assert row["trades"] == summary["trades"]
    (line,) = report["pnl"]["reconciliation"]
    assert line["ledger_pnl_cents"] == summary["net_cents"] and line["venue"] == "sim"
    assert line["venue_cash_cents"] - line["ledger_pnl_cents"] - line["open_cash_cents"] == 0


@pytest.fixture
def short_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A data folder with the first four weeks of every FX pair; the vendored data comes back afterwards."""
    import gzip

    from shared.venues.sim import data
    from surfaces.backtest.runner import forget_loaded_data

    folder = tmp_path / "data"
    (folder / "fx").mkdir(parents=True)
    for name in data.FX_FILES.values():
        rows = gzip.decompress((data.data_dir() / "fx" / f"{name}_H1.csv.gz").read_bytes()).decode().splitlines()
        kept = [rows[0]] + [r for r in rows[1:] if r[:10] <= "2025-08-22"]
        (folder / "fx" / f"{name}_H1.csv.gz").write_bytes(gzip.compress(("\n".join(kept) + "\n").encode()))
    monkeypatch.setenv("TBOT_DATA_DIR", str(data.data_dir()))
    yield folder
    monkeypatch.undo()
    forget_loaded_data()


def test_data_option_replays_another_folder(short_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fail(capsys, "fx", "--data", str(short_data), "--from", "2025-09-01", "--to", "2025-09-02")
    assert "the data covers 2025-07-28 to 2025-08-22" in err
