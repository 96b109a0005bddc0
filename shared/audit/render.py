"""Plain-text rendering of a report: aligned tables, money as dollars from integer cents."""

from __future__ import annotations

from collections.abc import Sequence

from shared.audit.calibration import CalibrationSection, CalibrationStats
from shared.audit.eta import EtaSection
from shared.audit.gates import GatesSection
from shared.audit.pnl import SIM_SOURCE, PnlRow, PnlSection
from shared.audit.provenance import result_label
from shared.audit.report import AuditReport
from shared.audit.skill import SkillStats, points
from shared.audit.subscribers import SubscribersSection


def money(cents: int | None) -> str:
    """Integer cents as dollars, exactly (no float): -12345 -> -$123.45."""
    if cents is None:
        return "-"
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


def num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1, text_last: bool = False) -> str:
    """Columns sized to their widest cell; the first ``left`` columns (and a text last one) left-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        last = len(cells) - 1
        parts = [c.ljust(widths[i]) if i < left or (text_last and i == last) else c.rjust(widths[i])
                 for i, c in enumerate(cells)]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


_PNL_HEADERS = ("source", "surface", "sub_strategy", "trades", "win rate", "gross", "fees", "net", "max dd",
                "days", "sharpe/d", "sharpe/y")


def source_label(source: str) -> str:
    """A P&L row's source in words: sim rows are synthetic, and say so wherever they appear."""
    if source == SIM_SOURCE:
        return result_label("sim")
    return "real data" if source == "real" else source


def _pnl_cells(row: PnlRow) -> list[str]:
    return [source_label(row.source), row.surface, row.sub_strategy, str(row.trades), pct(row.win_rate),
            money(row.gross_cents), money(row.fees_cents), money(row.net_cents), money(row.max_drawdown_cents),
            str(row.days), num(row.sharpe_daily, 2), num(row.sharpe_annualized, 2)]


def render_pnl(section: PnlSection) -> str:
    parts = ["== P&L (resolved trades by resolution source; real data and synthetic (sim) never mixed) ==",
             "real data vs synthetic (sim):", table(_PNL_HEADERS, [_pnl_cells(r) for r in section.summary], 3)]
    if section.surfaces:
        parts += ["by source and surface:", table(_PNL_HEADERS, [_pnl_cells(r) for r in section.surfaces], 3),
                  "by source, surface and sub-strategy:", table(_PNL_HEADERS, [_pnl_cells(r) for r in section.rows], 3)]
    parts.append("(synthetic (sim) = paper on a sim venue: it tests the machinery and shows no skill; "
                 "net = pnl after fees; gross = net + fees; sharpe/d = mean/sd of daily net P&L, "
                 "sharpe/y = sharpe/d x sqrt(365); days = calendar days from first to last resolution)")
    return "\n".join(parts)


def _calibration_rows(stats: Sequence[CalibrationStats]) -> list[list[str]]:
    return [[s.key, s.status, str(s.n), num(s.brier), num(s.log_loss), num(s.ece), s.sources] for s in stats]


def _reliability(stats: CalibrationStats) -> str:
    rows = [[f"{b.lower:.1f}-{b.upper:.1f}", str(b.count), num(b.mean_predicted), num(b.realized_frequency)]
            for b in stats.table]
    return f"reliability: {stats.key}\n" + table(("bucket", "n", "predicted", "realized"), rows)


SKILL_HEADERS = ("source", "surface", "sub_strategy", "n", "won", "p_market", "p_model", "brier", "brier mkt",
                 "skill", "skill 95% CI", "realized edge", "edge 95% CI", "claimed edge")
SKILL_NOTE = ("(market = the signal's p_market at decision time as a forecast that the side bought wins: the price "
              "of that side for a binary, sl/(sl+tp) for a bracket; skill = 1 - brier/brier mkt, > 0 = better than "
              "the market, its CI from the paired squared-error difference; edge in cents per $1 of payoff "
              "(binary: outcome - price - fee per contract), realized = pnl, claimed = p_model - p_market - fees; "
              "CI = mean +- 1.96 s/sqrt(n); synthetic (sim) rows show no skill by construction)")


def _interval(low: float | None, high: float | None, fmt: str = "signed") -> str:
    if low is None or high is None:
        return "-"
    if fmt == "points":
        return f"{points(low)} to {points(high)}"
    return f"{low:+.3f} to {high:+.3f}"


def skill_cells(row: SkillStats) -> list[str]:
    """One skill row as text cells, its source in words (shared with the HTML report)."""
    return [row.label, row.surface, row.sub_strategy, str(row.n), pct(row.win_rate), pct(row.mean_p_market),
            pct(row.mean_p_model), num(row.brier_model, 4), num(row.brier_market, 4),
            "-" if row.skill is None else f"{row.skill:+.3f}", _interval(row.skill_low, row.skill_high),
            points(row.realized_edge), _interval(row.realized_edge_low, row.realized_edge_high, "points"),
            points(row.claimed_edge)]


def render_calibration(section: CalibrationSection) -> str:
    headers = ("name", "status", "n", "brier", "log loss", "ECE", "from")
    parts = [f"== Calibration (ECE tolerance {section.tolerance:.3f}, judged at n >= {section.min_samples}) ==",
             "per surface (signal p_model; every source in the window, named under 'from': --source real for real "
             "data alone):", table(headers, _calibration_rows(section.surfaces), 2, text_last=True),
             "per model (ensemble answers):", table(headers, _calibration_rows(section.models), 2, text_last=True),
             "skill against the market, per source, surface and sub-strategy:",
             table(SKILL_HEADERS, [skill_cells(r) for r in section.skill], 3), SKILL_NOTE]
    parts += [_reliability(s) for s in section.surfaces if s.n]
    if section.flagged:
        parts.append("FLAGGED (miscalibrated; cannot start live without --allow-uncalibrated): "
                     + ", ".join(section.flagged))
    parts.append("live start: needs real-data evidence (see shared/audit/guard.py): realized edge lower bound > 0, "
                 "skill > 0 and ECE within tolerance over the minimum sample; synthetic (sim) results never count")
    parts.append(f"resolved trades without a signal: {section.trades_without_signal}; without model answers: "
                 f"{section.trades_without_answers}; invalid model answers: {section.invalid_answers}")
    return "\n".join(parts)


def render_eta(section: EtaSection) -> str:
    rows = [[s.surface, str(s.n), str(s.unusable), num(s.median_ratio, 2), pct(s.late_rate),
             *(num(s.quantiles[k], 2) for k in ("p10", "p25", "p50", "p75", "p90"))] for s in section.surfaces]
    headers = ("surface", "n", "no eta", "median", "late", "p10", "p25", "p50", "p75", "p90")
    parts = ["== ETA (actual resolved_at - opened_at vs eta_hours at execute; ratio = actual / eta) ==",
             table(headers, rows)]
    for s in section.surfaces:
        parts.append(f"{s.surface} ratio distribution: " + ", ".join(f"{label} {n}" for label, n in s.histogram))
    return "\n".join(parts)


def render_gates(section: GatesSection) -> str:
    parts = ["== Gates (per gate: evaluated / passed / denied; stopped = first gate to deny; funnel = alive after) =="]
    for s in section.surfaces:
        parts.append(f"{s.surface}: {s.decisions} decisions, {s.accepted} accepted")
        rows = [[g.gate, str(g.evaluated), str(g.passed), str(g.denied), str(g.stopped), str(g.survivors),
                 ", ".join(f"{r} {n}" for r, n in g.top_reasons)] for g in s.gates]
        headers = ("gate", "evaluated", "passed", "denied", "stopped", "alive", "top reasons")
        parts.append(table(headers, rows, text_last=True))
    return "\n".join(parts)


def render_subscribers(section: SubscribersSection) -> str:
    rows = []
    for c in section.cohorts:
        if c.suppressed:
            rows.append([c.cohort, *["-"] * 8, f"suppressed (< {section.min_cohort} subscribers)"])
            continue
        rows.append([c.cohort, num(c.subscribers, 0), num(c.acks, 0), num(c.executions, 0), num(c.resolutions, 0),
                     money(c.resolved_pnl_cents), pct(c.win_rate), num(c.slippage_median_bps, 1), pct(c.adverse_rate),
                     ""])
    headers = ("cohort", "subs", "acks", "executed", "resolved", "resolved P&L", "win rate", "slip med bps",
               "adverse", "")
    return "\n".join([
        f"== Subscribers (aggregates only; figures from fewer than {section.min_cohort} subscribers suppressed) ==",
        table(headers, rows, text_last=True),
        f"duplicate callbacks ignored: {section.duplicates}; callbacks with invalid bodies: {section.invalid_bodies}",
    ])


def render(report: AuditReport) -> str:
    """The whole report as text."""
    until = f"{report.until})" if report.until else "end of log]"
    source = report.source or "all"
    head = [f"tbot audit: bus time [{report.since}, {until}; surfaces {', '.join(report.surfaces)}; "
            f"source {source}"]
    head += [f"note: {n}" for n in report.notes]
    parts = ["\n".join(head)]
    if report.pnl is not None:
        parts.append(render_pnl(report.pnl))
    if report.calibration is not None:
        parts.append(render_calibration(report.calibration))
    if report.eta is not None:
        parts.append(render_eta(report.eta))
    if report.gates is not None:
        parts.append(render_gates(report.gates))
    if report.subscribers is not None:
        parts.append(render_subscribers(report.subscribers))
    footer = [f"read {report.bytes_scanned:,} bytes in {report.elapsed_seconds:.2f}s; "
              f"skipped {report.corrupt_lines} corrupt lines and {report.invalid_records} invalid records; "
              f"{report.signals_missing} referenced signals not found"]
    footer += [f"  {f.path}: {f.corrupt_lines} corrupt, {f.invalid_records} invalid"
               for f in report.files if f.corrupt_lines or f.invalid_records]
    parts.append("\n".join(footer))
    return "\n\n".join(parts) + "\n"
