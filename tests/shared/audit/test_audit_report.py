"""The report sections on a constructed log, against figures worked out by hand (see build_scenario's table)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from shared.audit.report import ReportOptions, build_report
from shared.audit.window import Window, parse_day

WINDOW = Window.from_days(parse_day("--since", "2026-11-02"), parse_day("--until", "2026-11-03"))


def report_for(log_dir: Path, **kw: Any) -> Any:
    options = ReportOptions(log_dir=log_dir, window=WINDOW, **kw)
    return build_report(options, now=WINDOW.since)


def test_pnl_rows_partitioned_by_source(log_dir: Path, scenario: Any) -> None:
    report = report_for(log_dir)
    rows = {(r.source, r.surface, r.sub_strategy): r for r in report.pnl.rows}
    # T0 (before) and T6 (after the window) and the filled state of T1 are not in any row.
    assert set(rows) == {("sim", "kalshi_st", "weather"), ("kalshi_resolution", "kalshi_st", "btc"),
                         ("oanda_candles", "fx", "atr")}
    weather = rows[("sim", "kalshi_st", "weather")]
    # T1 +300, T2 -500, T3 +400 in ledger order: net 200, fees 20+30+10 = 60, gross 260, 2 of 3 won.
    assert (weather.trades, weather.wins, weather.net_cents, weather.fees_cents, weather.gross_cents) == \
        (3, 2, 200, 60, 260)
    assert weather.win_rate == pytest.approx(2 / 3)
    # Equity 300, -200, 200: peak 300, trough -200 -> drawdown 500 cents.
    assert weather.max_drawdown_cents == 500
    # Venue days (resolved_at), not the days the records were written: 2025-01-01 +300, 01-02 0, 01-03 -500,
    # 01-04 +400 -> mean 50, sample sd sqrt((250^2 + 50^2 + 550^2 + 350^2) / 3) = 404.145
    # -> Sharpe 50 / 404.145 = 0.123718; annualized x sqrt(365) = 19.10497 -> 2.36363.
    assert weather.days == 4
    assert weather.sharpe_daily == pytest.approx(0.123718, abs=1e-6)
    assert weather.sharpe_annualized == pytest.approx(2.36363, abs=1e-4)
    btc = rows[("kalshi_resolution", "kalshi_st", "btc")]
    # One winning trade: +100 net, 5 fees, gross 105; no drawdown; one day: no Sharpe.
    assert (btc.trades, btc.wins, btc.net_cents, btc.gross_cents, btc.max_drawdown_cents, btc.sharpe_daily) == \
        (1, 1, 100, 105, 0, None)
    fx = rows[("oanda_candles", "fx", "atr")]
    assert (fx.net_cents, fx.max_drawdown_cents, fx.win_rate) == (-200, 200, 0.0)


def test_real_vs_sim_summary(log_dir: Path, scenario: Any) -> None:
    summary = {r.source: r for r in report_for(log_dir).pnl.summary}
    real, sim = summary["real"], summary["sim"]
    # Real = T4 (+100, 11-02) and T5 (-200, 11-03): net -100, fees 5, 1 of 2 won; equity 100, -100 -> dd 200.
    assert (real.trades, real.wins, real.net_cents, real.fees_cents, real.max_drawdown_cents) == (2, 1, -100, 5, 200)
    # Daily 100, -200: mean -50, sd sqrt(2 * 150^2) = 212.132 -> -0.235702.
    assert real.sharpe_daily == pytest.approx(-0.235702, abs=1e-6)
    assert (sim.trades, sim.net_cents, sim.fees_cents) == (3, 200, 60)


def test_summary_always_shows_real_and_sim(log_dir: Path) -> None:
    summary = {r.source: r for r in report_for(log_dir).pnl.summary}
    assert summary["real"].trades == 0 and summary["sim"].trades == 0


def test_source_filter(log_dir: Path, scenario: Any) -> None:
    real = report_for(log_dir, source="real")
    assert {r.source for r in real.pnl.rows} == {"kalshi_resolution", "oanda_candles"}
    sim = report_for(log_dir, source="sim")
    assert {r.source for r in sim.pnl.rows} == {"sim"}
    one = report_for(log_dir, source="oanda_candles")
    assert [(r.surface, r.net_cents) for r in one.pnl.rows] == [("fx", -200)]


def test_surface_filter(log_dir: Path, scenario: Any) -> None:
    report = report_for(log_dir, surfaces=("fx",))
    assert [(r.surface, r.trades) for r in report.pnl.surfaces] == [("fx", 1)]
    assert report.gates is not None and report.gates.surfaces == []


def test_calibration_per_surface(log_dir: Path, scenario: Any) -> None:
    calibration = report_for(log_dir, min_samples=4).calibration
    kst = {s.key: s for s in calibration.surfaces}["kalshi_st"]
    # Pairs (0.70 won) (0.55 won) (0.60 lost) (0.80 won):
    # Brier (0.09 + 0.2025 + 0.36 + 0.04) / 4 = 0.173125
    # log loss (-ln .7 - ln .55 - ln .4 - ln .8) / 4 = (0.356675 + 0.597837 + 0.916291 + 0.223144) / 4 = 0.523487
    # buckets: 0.5-0.6 {0.55 won}, 0.6-0.7 {0.60 lost}, 0.7-0.8 {0.70 won}, 0.8-0.9 {0.80 won}
    # ECE = (0.45 + 0.60 + 0.30 + 0.20) / 4 = 0.3875 > 0.10 with n = 4 >= 4 -> miscalibrated
    assert kst.n == 4
    assert kst.brier == pytest.approx(0.173125)
    assert kst.log_loss == pytest.approx(0.523487, abs=1e-6)
    assert kst.ece == pytest.approx(0.3875)
    assert [(b.count, b.realized_frequency) for b in kst.table[5:9]] == [(1, 1.0), (1, 0.0), (1, 1.0), (1, 1.0)]
    assert sum(b.count for b in kst.table) == 4 and len(kst.table) == 10
    assert kst.status == "miscalibrated"
    assert calibration.flagged == ["kalshi_st"]
    fx = {s.key: s for s in calibration.surfaces}["fx"]
    assert (fx.n, fx.brier, fx.status) == (1, pytest.approx(0.36), "insufficient")


def test_calibration_not_judged_under_min_samples(log_dir: Path, scenario: Any) -> None:
    calibration = report_for(log_dir, min_samples=5).calibration
    assert calibration.flagged == []
    assert {s.key: s.status for s in calibration.surfaces}["kalshi_st"] == "insufficient"


def test_calibration_per_model(log_dir: Path, scenario: Any) -> None:
    calibration = report_for(log_dir, min_samples=2).calibration
    models = {m.key: m for m in calibration.models}
    # Model a: T1 0.7 won, T2 0.4 lost -> Brier (0.09 + 0.16) / 2 = 0.125; log loss (0.356675 + 0.510826) / 2;
    # ECE (0.3 + 0.4) / 2 = 0.35. Model b abstained on T1, said 0.9 on T2 (lost): Brier 0.81.
    assert models["a"].n == 2 and models["a"].brier == pytest.approx(0.125)
    assert models["a"].log_loss == pytest.approx(0.4337505, abs=1e-6)
    assert models["a"].ece == pytest.approx(0.35)
    assert models["b"].n == 1 and models["b"].brier == pytest.approx(0.81)
    # The ensemble's combined P(YES): 0.70 (T1 won), 0.65 (T2 lost) -> Brier (0.09 + 0.4225) / 2 = 0.25625.
    assert models["(ensemble)"].n == 2 and models["(ensemble)"].brier == pytest.approx(0.25625)
    # T3, T4, T5 have no decision with model answers.
    assert calibration.trades_without_answers == 3
    assert calibration.trades_without_signal == 0


def test_eta(log_dir: Path, scenario: Any) -> None:
    eta = {s.surface: s for s in report_for(log_dir).eta.surfaces}
    kst = eta["kalshi_st"]
    # Ratios actual/eta: T1 3/2 = 1.5 (late), T4 1/1 = 1.0 (signal's ETA; on time), T2 2/4 = 0.5, T3 5/10 = 0.5.
    # Sorted 0.5, 0.5, 1.0, 1.5: median (0.5 + 1.0) / 2 = 0.75; late 1 of 4; p90 at 2.7 -> 1.0 + 0.7 * 0.5 = 1.35.
    assert kst.n == 4 and kst.unusable == 0
    assert kst.median_ratio == pytest.approx(0.75)
    assert kst.late_rate == pytest.approx(0.25)
    assert kst.quantiles["p90"] == pytest.approx(1.35)
    assert dict(kst.histogram) == {"0-0.5x": 0, "0.5-1x": 2, "1-1.5x": 1, "1.5-2x": 1, "2-4x": 0, ">=4x": 0}
    # T5 has no opened_at: counted, not scored.
    assert (eta["fx"].n, eta["fx"].unusable, eta["fx"].median_ratio) == (0, 1, None)


def test_gates_funnel(log_dir: Path, scenario: Any) -> None:
    gates = report_for(log_dir).gates
    [kst] = gates.surfaces
    # In the window: S2 accepted (P P P), D2 (P F), D3 (P P F), D4 (P F F, stopped by dedup).
    assert (kst.surface, kst.decisions, kst.accepted) == ("kalshi_st", 4, 1)
    rows = [(g.gate, g.evaluated, g.passed, g.denied, g.stopped, g.survivors) for g in kst.gates]
    assert rows == [("stop_file", 4, 4, 0, 0, 4), ("dedup", 4, 2, 2, 2, 2), ("min_edge", 3, 1, 2, 1, 1)]
    assert dict(kst.gates[2].top_reasons) == {"edge_low": 2}


def test_subscribers_aggregates_and_suppression(log_dir: Path, scenario: Any) -> None:
    # The sums first, nothing withheld (a minimum of one), then what a minimum of two withholds.
    total = {c.cohort: c for c in report_for(log_dir, min_cohort=1).subscribers.cohorts}["*"]
    section = report_for(log_dir, min_cohort=2).subscribers
    cohorts = {c.cohort: c for c in section.cohorts}
    # Subscribers A, B, C (D's ack is after the window). A's second ack is a duplicate.
    assert (total.subscribers, total.acks, total.executions, total.resolutions) == (3, 2, 3, 2)
    assert (total.fees_cents, total.resolved_pnl_cents, total.wins) == (6, 35, 1)
    # Slippage bps of the limit: A (0.52 - 0.50) / 0.50 = 400; B 0; C short (1.1000 - 1.0989) / 1.1 = 10.
    assert total.slippage_n == 3
    assert total.slippage_median_bps == pytest.approx(10.0)
    assert total.slippage_mean_bps == pytest.approx(410 / 3)
    assert total.adverse_rate == pytest.approx(2 / 3)
    kst = cohorts["kalshi_st"]
    assert (kst.subscribers, kst.executions, kst.resolved_pnl_cents, kst.slippage_median_bps) == (2, 2, 35, 200.0)
    # The fx cohort has one subscriber: suppressed, every figure withheld.
    assert cohorts["fx"].suppressed and cohorts["fx"].subscribers is None and cohorts["fx"].acks is None
    # The total's execution figures minus kalshi_st's would be fx's one subscriber's: withheld too. The
    # resolutions are all on kalshi_st, so nothing small remains and they stay.
    shown = cohorts["*"]
    assert (shown.subscribers, shown.acks, shown.resolutions, shown.resolved_pnl_cents) == (3, 2, 2, 35)
    assert (shown.executions, shown.fees_cents, shown.slippage_n, shown.slippage_median_bps) == (None,) * 4
    assert section.duplicates == 1
    # Nothing in the report names a subscriber.
    text = repr(section)
    assert all(f"'{name}'" not in text for name in ("A", "B", "C", "D"))


def test_corrupt_lines_skipped_and_counted(log_dir: Path, scenario: Any) -> None:
    report = report_for(log_dir)
    assert report.corrupt_lines == 1
    assert report.pnl.summary[1].trades == 3  # the torn line cost nothing else


def test_future_since_is_an_empty_report_with_a_note(log_dir: Path, scenario: Any) -> None:
    window = Window.from_days(parse_day("--since", "2030-01-01"))
    report = build_report(ReportOptions(log_dir=log_dir, window=window), now=WINDOW.since)
    assert report.pnl.rows == [] and report.gates.surfaces == []
    assert any("in the future" in note for note in report.notes)


def test_since_reads_a_small_fraction_of_a_large_log(log_dir: Path, builder: Any, kit: Any) -> None:
    # 5000 resolved trades over 50 days, then a one-day window: the windowed read covers ~1/50 of the file.
    for i in range(5000):
        day, minute = divmod(i, 100)
        ts = kit.at(f"2026-09-{1 + day % 30:02d} 00:00") if day < 30 else kit.at(f"2026-10-{day - 29:02d} 00:00")
        moment = ts.replace(minute=minute % 60, hour=minute // 60)
        builder.stream("fx", "trades", moment, kit.trade(f"{i}", "fx", pnl=1, sub="atr", source="oanda_candles"))
    builder.write()
    window = Window.from_days(parse_day("--since", "2026-10-10"), parse_day("--until", "2026-10-10"))
    report = build_report(ReportOptions(log_dir=log_dir, window=window, surfaces=("fx",)), ["pnl"])
    size = (log_dir / "fx" / "trades.jsonl").stat().st_size
    assert report.pnl.summary[0].trades == 100
    assert report.bytes_scanned < size / 25
    assert math.isclose(report.pnl.summary[0].net_cents, 100)


def test_model_answers_are_scored_as_p_yes(kit: Any) -> None:
    from shared.audit.calibration import model_pairs

    # The ensemble answers P(YES) / P(long). A "no" trade that lost means YES happened; a short that won means
    # the long side did not win.
    no_lost = kit.trade("1", "kalshi_lt", pnl=-100, side="no")
    short_won = kit.trade("2", "fx", pnl=100, side="short")
    answers = {"S1": [{"model": "m", "p": 0.8, "abstained": False}],
               "S2": [{"model": "m", "p": 0.3, "abstained": False}, {"model": "x", "p": None, "abstained": True},
                      {"model": "y", "p": 1.5, "abstained": False}]}
    pairs, without, invalid = model_pairs([no_lost, short_won], answers)
    assert pairs == {"m": [(0.8, True), (0.3, False)]}
    assert (without, invalid) == (0, 1)


def test_model_answers_same_with_or_without_the_gates_pass(log_dir: Path, scenario: Any) -> None:
    # With gates, answers inside the window come from the gates pass and the rest from lookups around the
    # signals; calibration alone looks every one up. Both must find the same answers.
    alone = build_report(ReportOptions(log_dir=log_dir, window=WINDOW), ["calibration"], now=WINDOW.since)
    both = build_report(ReportOptions(log_dir=log_dir, window=WINDOW), ["calibration", "gates"], now=WINDOW.since)
    assert alone.calibration == both.calibration
    assert {m.key: m.n for m in alone.calibration.models} == {"a": 2, "b": 1, "(ensemble)": 2}


def test_a_repeated_resolution_counts_once(log_dir: Path, builder: Any, kit: Any) -> None:
    trade = kit.trade("9", "stocks", pnl=250, fees=5, sub="atr", source="ibkr_position")
    builder.stream("stocks", "trades", kit.at("2026-11-02 15:00"), trade)
    builder.stream("stocks", "trades", kit.at("2026-11-02 15:05"), trade)  # the resolver wrote it again
    builder.write()
    report = report_for(log_dir)
    [row] = report.pnl.rows
    assert (row.trades, row.net_cents, row.fees_cents) == (1, 250, 5)
    assert any("counted once" in note for note in report.notes)


def test_equity_curves_are_thinned_but_keep_the_final_equity() -> None:
    from shared.audit.pnl import thin

    curve = [(f"t{i}", i) for i in range(10_001)]
    thinned = thin(curve, 2000)
    # step ceil(10001 / 2000) = 6: points 0, 6, ..., 9996 (1667 of them), then the last point 10000.
    assert len(thinned) == 1668 and thinned[0] == ("t0", 0) and thinned[-1] == ("t10000", 10_000)
    assert thin(curve[:5], 2000) == curve[:5]
