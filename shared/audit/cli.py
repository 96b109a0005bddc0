"""``tbot audit REPORT --since YYYY-MM-DD [--until YYYY-MM-DD] [--surface S] [--source real|sim|NAME] [--json]``.

Exit codes: 0 report written; 2 bad input (a malformed date shows the expected format; an unknown surface or
source names the choices; a missing log directory says so).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from shared.audit.calibration import DEFAULT_MIN_SAMPLES, DEFAULT_TOLERANCE
from shared.audit.reconcile import reconcile_log_dir, render_reconciliation
from shared.audit.render import render
from shared.audit.report import SECTIONS, SOURCE_NAMES, BadOption, ReportOptions, build_report
from shared.audit.subscribers import DEFAULT_MIN_COHORT
from shared.audit.window import DATE_FORMAT, BadDate, Window, parse_day
from shared.records import SURFACES
from shared.venues.sim.replay import EpochError

EXIT_BAD_INPUT = 2


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``tbot audit`` and ``tbot report`` share."""
    parser.add_argument("--since", required=True, metavar=DATE_FORMAT, help="first day (UTC) of the report")
    parser.add_argument("--until", metavar=DATE_FORMAT, help="last day (UTC) included; default: to the end")
    parser.add_argument("--surface", action="append", metavar="S",
                        help=f"only this surface (repeatable): {', '.join(SURFACES)}")
    parser.add_argument("--source", metavar="real|sim|NAME",
                        help=f"only trades resolved by this source: {', '.join(SOURCE_NAMES)}")
    parser.add_argument("--log-dir", default="logs", help="the fleet's log directory (default: logs)")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help=f"calibration: largest acceptable ECE (default {DEFAULT_TOLERANCE})")
    parser.add_argument("--min-samples", type=int, default=DEFAULT_MIN_SAMPLES,
                        help=f"calibration: judge only at this many resolved trades (default {DEFAULT_MIN_SAMPLES})")
    parser.add_argument("--min-cohort", type=int, default=DEFAULT_MIN_COHORT,
                        help=f"subscribers: suppress cohorts under this size (default {DEFAULT_MIN_COHORT})")


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tbot audit``."""
    parser.add_argument("report", choices=[*SECTIONS, "all"], metavar="REPORT",
                        help=f"one of {', '.join(SECTIONS)} or all")
    add_window_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--env-dir", default="envs",
                        help="pnl: where the surfaces' env files are (VENUE, SIM_SEED for the reconciliation)")


def options_from_args(args: argparse.Namespace) -> ReportOptions:
    """Validated report options; raises BadDate / BadOption with a message naming the option."""
    since = parse_day("--since", args.since)
    until = parse_day("--until", args.until) if args.until else None
    log_dir = Path(args.log_dir)
    if not log_dir.is_dir():
        raise BadOption(f"--log-dir: {log_dir} is not a directory")
    surfaces = tuple(args.surface) if args.surface else SURFACES
    return ReportOptions(log_dir=log_dir, window=Window.from_days(since, until), surfaces=surfaces,
                         source=args.source, tolerance=args.tolerance, min_samples=args.min_samples,
                         min_cohort=args.min_cohort)


def bad_input(command: str, error: Exception) -> int:
    print(f"{command}: error: {error}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run(args: argparse.Namespace) -> int:
    """Build the chosen report and print it (text, or JSON with --json)."""
    try:
        options = options_from_args(args)
    except (BadDate, BadOption) as exc:
        return bad_input("tbot audit", exc)
    sections = SECTIONS if args.report == "all" else (args.report,)
    report = build_report(options, sections)
    if report.pnl is not None:
        try:
            lines = reconcile_log_dir(options.log_dir, options.surfaces, Path(getattr(args, "env_dir", "envs")))
        except (ValueError, EpochError) as exc:  # a SIM_SEED that is not an integer, an unreadable sim epoch
            return bad_input("tbot audit", exc)
        report.pnl = dataclasses.replace(report.pnl, reconciliation=lines)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        sys.stdout.write(render(report))
        if report.pnl is not None:
            sys.stdout.write(render_reconciliation(report.pnl.reconciliation))
    return 0
