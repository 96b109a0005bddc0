"""A backtest's summary, read back from its own logs by the audit (shared/audit), never recomputed beside it.

P&L, win rate, drawdown and the daily Sharpe (venue days) come from the audit's pnl section over the backtest's trade
log, i.e. from fills: the resolver's ``pnl`` of each resolved trade. Brier and skill against the market, realized
against claimed edge: the calibration section's skill rows (shared/audit/skill.py). The gate funnel: the gates
section. The reconciliation line: shared/audit/reconcile.py (the ledger's P&L beside the sim venue's cash). Every
figure is labelled synthetic (sim): a backtest on a sim venue tests the machinery and shows no skill.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from shared.audit.pnl import ALL, PnlRow
from shared.audit.reconcile import fold, reconcile
from shared.audit.report import AuditReport, ReportOptions, build_report
from shared.audit.skill import points
from shared.audit.window import Window
from shared.bus import JsonlLog
from shared.execution import read_trades
from shared.paths import stream_path
from surfaces.backtest.runner import MANIFEST, RESULT_KIND, RESULT_LABEL, BacktestRun

SUMMARY = "summary.json"
SUMMARY_SECTIONS = ("pnl", "calibration", "gates")


def audit_report(out_dir: Path, surface: str) -> AuditReport:
    """The audit's report over the whole backtest directory (bus time is when the backtest ran: take it all)."""
    return build_report(ReportOptions(log_dir=out_dir, window=Window.everything(), surfaces=(surface,)),
                        SUMMARY_SECTIONS)


def _row(row: PnlRow | None, days: int) -> dict[str, Any]:
    if row is None:
        return {"trades": 0, "wins": 0, "win_rate": None, "gross_cents": 0, "fees_cents": 0, "net_cents": 0,
                "max_drawdown_cents": 0, "sharpe_days": 0, "sharpe_daily": None, "sharpe_annualized": None,
                "net_per_day_cents": 0.0}
    return {"trades": row.trades, "wins": row.wins, "win_rate": row.win_rate, "gross_cents": row.gross_cents,
            "fees_cents": row.fees_cents, "net_cents": row.net_cents, "max_drawdown_cents": row.max_drawdown_cents,
            "sharpe_days": row.days, "sharpe_daily": row.sharpe_daily,
            "sharpe_annualized": row.sharpe_annualized, "net_per_day_cents": row.net_cents / max(1, days)}


def summarize(run: BacktestRun) -> dict[str, Any]:
    """The summary of a finished run, JSON-ready (money in integer cents), also written to ``summary.json``."""
    surface, days = run.spec.surface, run.spec.window.days
    report = audit_report(run.out_dir, surface)
    pnl = report.pnl
    totals = next((r for r in (pnl.surfaces if pnl else []) if r.source == RESULT_KIND and r.surface == surface),
                  None)
    others = [asdict(r) for r in (pnl.surfaces if pnl else []) if r.source != RESULT_KIND]
    portfolio = fold(read_trades(JsonlLog(stream_path(run.out_dir, surface, "trades"))), surface)
    line = reconcile(surface, portfolio, run.member.venue, run.starting_cash_cents,
                     note="sim venue at the window's end")
    gates = report.gates.surfaces[0] if report.gates and report.gates.surfaces else None
    calibration = report.calibration
    summary: dict[str, Any] = {
        "id": run.out_dir.name,
        "out_dir": str(run.out_dir),
        "surface": surface,
        "window": run.manifest["window"],
        "seed": run.spec.seed,
        "overrides": run.manifest["overrides"],
        "result_kind": RESULT_KIND,
        "label": RESULT_LABEL,
        "clock": run.clock,
        "deviations": run.manifest.get("deviations", []),
        "ticks": run.ticks,
        "elapsed_seconds": round(run.elapsed_seconds, 3),
        "venue_days_per_second": round(days / run.elapsed_seconds, 2) if run.elapsed_seconds > 0 else None,
        **_row(totals, days),
        "open_at_end": line.open_trades,
        "sub_strategies": [_row(r, days) | {"sub_strategy": r.sub_strategy}
                           for r in (pnl.rows if pnl else []) if r.sub_strategy != ALL],
        "other_sources": others,  # never expected in a backtest: shown, not hidden, if a record says otherwise
        "calibration": [asdict(s) for s in (calibration.surfaces if calibration else [])],
        "skill": [s.to_json() for s in (calibration.skill if calibration else [])],
        "gates": None if gates is None else asdict(gates),
        "reconciliation": {
            "ledger_pnl_cents": line.ledger_pnl_cents, "open_cash_cents": line.open_cash_cents,
            "venue_cash_movement_cents": line.venue_cash_cents, "difference_cents": line.difference_cents,
            "pending": line.pending, "open_trades": line.open_trades, "note": line.note,
        },
        "signals_missing": report.signals_missing,
        "corrupt_lines": report.corrupt_lines,
    }
    (run.out_dir / SUMMARY).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return summary


def money(cents: int | float | None) -> str:
    if cents is None:
        return "-"
    return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(summary: dict[str, Any]) -> str:
    """The summary as text for a terminal."""
    w = summary["window"]
    lines = [
        f"backtest {summary['id']}: {summary['surface']} {w['from']} to {w['to']} ({w['days']} venue days), "
        f"seed {summary['seed']}",
        f"  result: {summary['label']}",
        f"  clock: {summary['clock']}; {summary['ticks']} ticks in {summary['elapsed_seconds']:.2f} s "
        f"({summary['venue_days_per_second']} venue days/s)",
    ]
    if summary["overrides"]:
        lines.append("  settings: " + " ".join(f"{k}={v}" for k, v in summary["overrides"].items()))
    for deviation in summary["deviations"]:
        lines.append(f"  note: {deviation}")
    lines += [
        f"  trades {summary['trades']}  win rate {_pct(summary['win_rate'])}  gross {money(summary['gross_cents'])}  "
        f"fees {money(summary['fees_cents'])}  net {money(summary['net_cents'])} (from fills; "
        f"{money(summary['net_per_day_cents'])}/venue day)",
        f"  max drawdown {money(summary['max_drawdown_cents'])}  daily Sharpe {_num(summary['sharpe_daily'])} over "
        f"{summary['sharpe_days']} venue days (first result to last, quiet days 0; annualized "
        f"{_num(summary['sharpe_annualized'], 2)})",
        f"  open at the window's end: {summary['open_at_end']} (not in net)",
    ]
    for row in summary["sub_strategies"]:
        lines.append(f"    {row['sub_strategy']:<16} trades {row['trades']:>4}  win {_pct(row['win_rate']):>6}  "
                     f"net {money(row['net_cents']):>12}  fees {money(row['fees_cents']):>10}")
    skill_rows = summary["skill"]
    if skill_rows:
        lines.append("  against the market (Brier; skill = 1 - model/market; edge in cents per $1 of payoff):")
        for s in skill_rows:
            lines.append(
                f"    {s['sub_strategy']:<16} n {s['n']:>4}  Brier model {_num(s['brier_model'])} market "
                f"{_num(s['brier_market'])}  skill {_num(s['skill'])}  realized edge {points(s['realized_edge'])} "
                f"vs claimed {points(s['claimed_edge'])}  [{s['label']}]")
    gates = summary["gates"]
    if gates:
        lines.append(f"  gate funnel: {gates['decisions']} decisions, {gates['accepted']} accepted")
        for g in gates["gates"]:
            if g["stopped"]:
                lines.append(f"    {g['gate']:<22} stopped {g['stopped']:>6}  survivors {g['survivors']:>6}")
    rec = summary["reconciliation"]
    diff = rec["difference_cents"]
    lines.append(
        f"  reconciliation: ledger P&L {money(rec['ledger_pnl_cents'])} + open entry cash "
        f"{money(rec['open_cash_cents'])} vs sim venue cash movement {money(rec['venue_cash_movement_cents'])}: "
        f"difference {money(diff)}" + (f" ({rec['pending']} exits not yet booked)" if rec["pending"] else ""))
    if summary["other_sources"]:
        lines.append(f"  WARNING: {len(summary['other_sources'])} result rows not tagged sim (see --json)")
    lines.append(f"  logs: {summary['out_dir']} (tbot audit / tbot report --log-dir it; {MANIFEST} there)")
    return "\n".join(lines) + "\n"
