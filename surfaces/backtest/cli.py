"""``tbot backtest SURFACE --from YYYY-MM-DD --to YYYY-MM-DD [--set KEY=VALUE ...] [--data DIR] [--seed N] [--json]
[--html FILE] [--out DIR] [--grid KEY=v1,v2 ... --train 30d --test 7d]``.

Exit codes: 0 done; 2 bad input (a malformed date, ``--to`` before ``--from``, a window outside the data, an unknown
``--set`` key or an invalid value: each named); 1 an operational fault (one line, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from shared.audit.html import render_html
from shared.audit.progress import Progress
from shared.audit.report import SECTIONS, ReportOptions, build_report
from shared.audit.window import DATE_FORMAT, BadDate, Window, parse_day
from shared.config import EXIT_CONFIG, ConfigError
from shared.venues.base import VenueError
from shared.venues.sim.data import SimDataError
from surfaces.backtest import summary as summaries
from surfaces.backtest import walkforward
from surfaces.backtest.runner import BacktestSpec, new_out_dir, run_backtest, use_data_dir
from surfaces.backtest.settings import parse_assignments, validate_overrides
from surfaces.backtest.window import BACKTEST_SURFACES, BacktestWindow, WindowError, check_window

PROG = "tbot backtest"
DEFAULT_BASE = Path("logs/backtests")


class StepProgress(Progress):
    """The audit's progress bar, counting ticks of the backtest clock and showing the venue day reached."""

    def __init__(self, total: int, label: str) -> None:
        super().__init__(total, label=label, min_bytes=0)
        self.at = ""

    def tick(self, done: int, total: int, moment: datetime) -> None:
        self.at = moment.strftime("%Y-%m-%d %H:%M")
        self.total = total
        self.advance(done - self.done)

    def _draw(self) -> None:
        fraction = min(1.0, self.done / self.total) if self.total else 1.0
        filled = int(fraction * 30)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'-' * (30 - filled)}] {fraction * 100:5.1f}% "
                          f"venue time {self.at}")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """Clear the whole bar line (it is wider than the audit's)."""
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def build_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``tbot backtest``."""
    parser.add_argument("surface", choices=BACKTEST_SURFACES, metavar="SURFACE",
                        help=f"the surface to backtest: {', '.join(BACKTEST_SURFACES)}")
    parser.add_argument("--from", dest="first", required=True, metavar=DATE_FORMAT, help="first venue day (UTC)")
    parser.add_argument("--to", dest="last", required=True, metavar=DATE_FORMAT, help="last venue day included")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="a surface setting, as in its env file (repeatable)")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="data folder shaped like data/ (default: the vendored real data)")
    parser.add_argument("--seed", type=int, default=7, help="sim seed (noise, spreads, signal ids); default 7")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write tbot report's HTML for the backtest")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="directory for the logs (new or empty); default logs/backtests/<id>")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=v1,v2",
                        help="walk-forward: values to try on each training window (repeatable)")
    parser.add_argument("--train", metavar="Nd", help="walk-forward training window, e.g. 30d")
    parser.add_argument("--test", metavar="Nd", help="walk-forward test window, e.g. 7d")
    parser.add_argument("--workers", type=int, default=walkforward.MAX_WORKERS,
                        help=f"walk-forward processes (at most {walkforward.MAX_WORKERS})")


def _bad(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_CONFIG


def run(args: argparse.Namespace) -> int:
    """Validate everything, run the backtest (or the walk-forward) and print its summary."""
    try:
        window = BacktestWindow(parse_day("--from", args.first), parse_day("--to", args.last))
        if args.data is not None and not args.data.is_dir():
            raise WindowError(f"--data: {args.data} is not a directory")
        use_data_dir(args.data)
        check_window(args.surface, window)
        overrides = parse_assignments("--set", args.sets)
        validate_overrides(args.surface, overrides)
        grid = walkforward.parse_grid(args.grid)
        walking = bool(grid or args.train or args.test)
        if walking and not (grid and args.train and args.test):
            raise WindowError("walk-forward needs --grid, --train and --test together")
        if walking and args.html is not None:
            raise WindowError("--html: one backtest at a time; run tbot report --log-dir on a fold's test directory")
        if args.html is not None and not args.html.parent.is_dir():
            raise WindowError(f"--html: directory {args.html.parent} does not exist")
        out = args.out or new_out_dir(DEFAULT_BASE)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise WindowError(f"--out: {out} is not an empty directory")
        spec = BacktestSpec(args.surface, window, overrides, args.seed, args.data)
        if walking:
            train = walkforward.parse_span("--train", args.train)
            test = walkforward.parse_span("--test", args.test)
            walkforward.make_folds(window, train, test)
            for point in walkforward.grid_points(grid):
                validate_overrides(args.surface, overrides | point)
    except (BadDate, WindowError, walkforward.WalkForwardError) as exc:
        return _bad(str(exc))
    except ConfigError as exc:
        where = exc.key if exc.key.startswith("--") else f"--set {exc.key}"
        return _bad(f"{where}: {exc.message}")
    try:
        if walking:
            return _walk(spec, grid, train, test, out, args)
        return _single(spec, out, args)
    except (OSError, SimDataError, VenueError, RuntimeError) as exc:
        print(f"{PROG}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # The logs written so far stay, and the manifest still says completed: false.
        print(f"{PROG}: interrupted; the partial logs are in {out}", file=sys.stderr)
        return 130


def _single(spec: BacktestSpec, out: Path, args: argparse.Namespace) -> int:
    progress = StepProgress(0, f"backtest {spec.surface}")
    try:
        run = run_backtest(spec, out, on_tick=progress.tick)
    finally:
        progress.finish()
    summary = summaries.summarize(run)
    if args.html is not None:
        report = build_report(ReportOptions(log_dir=out, window=Window.everything(), surfaces=(spec.surface,)),
                              SECTIONS)
        tmp = args.html.with_name(args.html.name + ".tmp")
        tmp.write_text(render_html(report), encoding="utf-8")
        tmp.replace(args.html)
        summary["html"] = str(args.html)
    print(json.dumps(summary, indent=2, default=str) if args.json else summaries.render(summary), end="\n"
          if args.json else "")
    return 0


def _walk(spec: BacktestSpec, grid: dict[str, list[str]], train: int, test: int, out: Path,
          args: argparse.Namespace) -> int:
    progress = StepProgress(0, f"walk-forward {spec.surface} (runs)")

    def done(finished: int, total: int) -> None:
        progress.total = total
        progress.at = f"{finished}/{total} runs"
        progress.advance(finished - progress.done)

    try:
        report = walkforward.walk_forward(spec, grid, train, test, out, workers=args.workers, on_done=done)
    finally:
        progress.finish()
    print(json.dumps(report, indent=2, default=str) if args.json else walkforward.render(report), end="\n"
          if args.json else "")
    return 0
