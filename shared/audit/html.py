"""``tbot report --since YYYY-MM-DD [--until ...] --out report.html``: one self-contained HTML file.

Everything is inline: the CSS in a <style> element, the charts as SVG generated in Python (svg.py). No
script, font, image or stylesheet is fetched, so the file opens the same offline, from an e-mail or a USB stick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path

from shared.audit import svg
from shared.audit.cli import add_window_arguments, bad_input, options_from_args
from shared.audit.pnl import PnlRow
from shared.audit.render import SKILL_HEADERS, SKILL_NOTE, money, num, pct, skill_cells, source_label
from shared.audit.report import SECTIONS, AuditReport, BadOption, build_report
from shared.audit.window import BadDate

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
.note { background: #fff7d6; padding: 6px 10px; border-left: 3px solid #e0b000; }
.flag { color: #b00020; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { width: 520px; max-width: 100%; height: auto; background: #fff; }
svg .title { font-size: 13px; font-weight: 600; } svg .tick { font-size: 10px; fill: #555; }
svg .axis { font-size: 11px; fill: #333; } svg .legend { font-size: 10px; }
svg .plot { fill: #fafafa; stroke: #ccc; } svg .grid { stroke: #e6e6e6; }
svg .ideal { stroke: #999; stroke-dasharray: 4 3; }
.muted { color: #777; }
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1,
           text_last: bool = False) -> str:
    last = len(headers) - 1

    def cls(i: int) -> str:
        return " class=text" if i < text_columns or (text_last and i == last) else ""

    head = "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{escape(c)}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_PNL_HEADERS = ("source", "surface", "sub-strategy", "trades", "win rate", "gross", "fees", "net", "max drawdown",
                "days", "Sharpe (daily)", "Sharpe (annual)")


def _pnl_row(r: PnlRow) -> list[str]:
    return [source_label(r.source), r.surface, r.sub_strategy, str(r.trades), pct(r.win_rate), money(r.gross_cents),
            money(r.fees_cents), money(r.net_cents), money(r.max_drawdown_cents), str(r.days),
            num(r.sharpe_daily, 2), num(r.sharpe_annualized, 2)]


def _pnl(report: AuditReport) -> str:
    section = report.pnl
    if section is None:
        return ""
    series = {
        _curve_label(key): [(datetime.fromisoformat(ts).timestamp(), cents / 100) for ts, cents in curve if ts]
        for key, curve in section.equity.items()
    }
    chart = svg.line_chart("Equity: cumulative net P&L by source / surface", series, "bus time (UTC)", "dollars",
                           x_format="epoch")
    return "".join([
        "<h2>P&amp;L</h2><p class=muted>Partitioned by resolution source: real-data and synthetic (sim) outcomes "
        "never share a row. Synthetic (sim) results come from paper trading on a sim venue: they test the machinery "
        "and show no skill. Net is P&amp;L after fees; gross = net + fees.</p>",
        "<h3>Real data vs synthetic (sim)</h3>", _table(_PNL_HEADERS, [_pnl_row(r) for r in section.summary], 3),
        "<h3>By source and surface</h3>", _table(_PNL_HEADERS, [_pnl_row(r) for r in section.surfaces], 3),
        "<h3>By source, surface and sub-strategy</h3>", _table(_PNL_HEADERS, [_pnl_row(r) for r in section.rows], 3),
        f"<div class=charts>{chart}</div>",
    ])


def _curve_label(key: str) -> str:
    """An equity curve's legend: "synthetic (sim) / kalshi_st" rather than "sim/kalshi_st"."""
    source, _, surface = key.partition("/")
    return f"{source_label(source)} / {surface}"


def _calibration(report: AuditReport) -> str:
    section = report.calibration
    if section is None:
        return ""
    headers = ("name", "status", "n", "Brier", "log loss", "ECE", "from")

    def stats_rows(kind: str) -> list[list[str]]:
        items = section.surfaces if kind == "surface" else section.models
        return [[s.key, s.status, str(s.n), num(s.brier), num(s.log_loss), num(s.ece), s.sources] for s in items]

    charts = [svg.reliability_diagram(f"Reliability: {s.key} (n={s.n})", s.table) for s in section.surfaces]
    charts += [svg.reliability_diagram(f"Reliability: model {s.key} (n={s.n})", s.table) for s in section.models]
    flagged = (f'<p class=flag>Miscalibrated (cannot start live without --allow-uncalibrated): '
               f'{escape(", ".join(section.flagged))}</p>') if section.flagged else ""
    return "".join([
        f"<h2>Calibration</h2><p class=muted>ECE tolerance {section.tolerance:.3f}; judged at n &ge; "
        f"{section.min_samples}. A pair is (probability the chosen side wins, whether it won).</p>", flagged,
        "<h3>Per surface</h3><p class=muted>Every source in the window, named under &ldquo;from&rdquo;; "
        "<code>--source real</code> judges real data alone.</p>", _table(headers, stats_rows("surface"), 2, True),
        "<h3>Per model</h3>", _table(headers, stats_rows("model"), 2, True),
        "<h3>Skill against the market</h3>", f"<p class=muted>{escape(SKILL_NOTE.strip('()'))}</p>",
        _table(SKILL_HEADERS, [skill_cells(r) for r in section.skill], 3),
        f"<div class=charts>{''.join(charts)}</div>",
    ])


def _eta(report: AuditReport) -> str:
    section = report.eta
    if section is None:
        return ""
    headers = ("surface", "n", "no ETA", "median actual/ETA", "late", "p10", "p25", "p75", "p90")
    rows = [[s.surface, str(s.n), str(s.unusable), num(s.median_ratio, 2), pct(s.late_rate),
             *(num(s.quantiles[k], 2) for k in ("p10", "p25", "p75", "p90"))] for s in section.surfaces]
    charts = [svg.scatter(f"ETA vs actual: {s.surface}", s.points, "ETA at execute (hours)", "actual (hours)")
              for s in section.surfaces]
    return "".join([
        "<h2>ETA</h2><p class=muted>Actual resolved_at &minus; opened_at (venue time) against eta_hours at "
        "execute; points above the dashed line resolved late.</p>",
        _table(headers, rows), f"<div class=charts>{''.join(charts)}</div>",
    ])


def _gates(report: AuditReport) -> str:
    section = report.gates
    if section is None:
        return ""
    parts = ["<h2>Gates</h2><p class=muted>Per gate: decisions evaluated, passed, denied; stopped = the first gate "
             "to deny; the funnel shows candidates alive after each gate.</p>"]
    headers = ("gate", "evaluated", "passed", "denied", "stopped", "alive", "top reasons")
    for s in section.surfaces:
        rows = [[g.gate, str(g.evaluated), str(g.passed), str(g.denied), str(g.stopped), str(g.survivors),
                 ", ".join(f"{r} {n}" for r, n in g.top_reasons)] for g in s.gates]
        parts.append(f"<h3>{escape(s.surface)}: {s.decisions:,} decisions, {s.accepted:,} accepted</h3>")
        parts.append(_table(headers, rows, text_last=True))
        parts.append(f"<div class=charts>{svg.funnel(f'Gate funnel: {s.surface}', s.decisions, s.gates)}</div>")
    return "".join(parts)


def _subscribers(report: AuditReport) -> str:
    section = report.subscribers
    if section is None:
        return ""
    headers = ("cohort", "subscribers", "acks", "executed", "resolved", "resolved P&L", "win rate",
               "median slippage (bps)", "adverse fills")
    rows = []
    for c in section.cohorts:
        if c.suppressed:
            rows.append([c.cohort, f"suppressed (< {section.min_cohort})", *["-"] * 7])
        else:
            rows.append([c.cohort, num(c.subscribers, 0), num(c.acks, 0), num(c.executions, 0), num(c.resolutions, 0),
                         money(c.resolved_pnl_cents), pct(c.win_rate), num(c.slippage_median_bps, 1),
                         pct(c.adverse_rate)])
    return "".join([
        f"<h2>Subscribers</h2><p class=muted>Aggregates only; a figure from fewer than {section.min_cohort} "
        f"subscribers is suppressed. Duplicate callbacks ignored: {section.duplicates}; invalid bodies: "
        f"{section.invalid_bodies}.</p>", _table(headers, rows),
    ])


def render_html(report: AuditReport) -> str:
    """The whole report as one HTML document with inline CSS and SVG."""
    until = report.until or "end of log"
    notes = "".join(f"<p class=note>{escape(n)}</p>" for n in report.notes)
    skipped = (f"{report.corrupt_lines} corrupt lines and {report.invalid_records} invalid records skipped; "
               f"{report.signals_missing} referenced signals not found; {report.bytes_scanned:,} bytes read in "
               f"{report.elapsed_seconds:.2f} s.")
    body = "".join([_pnl(report), _calibration(report), _eta(report), _gates(report), _subscribers(report)])
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>tbot report {escape(report.since[:10])}</title><style>{_CSS}</style></head><body>"
        f"<h1>tbot report</h1><p>Bus time {escape(report.since)} to {escape(until)} &middot; surfaces "
        f"{escape(', '.join(report.surfaces))} &middot; source {escape(report.source or 'all')} &middot; generated "
        f"{escape(report.generated_at)}</p>{notes}{body}<p class=muted>{escape(skipped)}</p></body></html>\n"
    )


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tbot report``."""
    add_window_arguments(parser)
    parser.add_argument("--out", required=True, help="the HTML file to write, e.g. report.html")


def run(args: argparse.Namespace) -> int:
    """Build every section and write the HTML file; prints its path."""
    try:
        options = options_from_args(args)
        out = Path(args.out)
        if not out.parent.is_dir():
            raise BadOption(f"--out: directory {out.parent} does not exist")
    except (BadDate, BadOption) as exc:
        return bad_input("tbot report", exc)
    report = build_report(options, SECTIONS)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a report
    print(f"wrote {out} ({out.stat().st_size:,} bytes)", file=sys.stdout)
    return 0
