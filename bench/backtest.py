"""Backtest benchmark: venue days per wall-second per surface, beside a run that only reads the same data.

For kalshi_st, fx and stocks, each in a fresh process (cold data caches, imports excluded from the timings):
- backtest: ``run_backtest`` over the window (build the surface and its sim venue, every tick of the backtest clock
  with the loop and the resolver, the final resolver pass), the same run ``tbot backtest`` makes, without the
  summary; the summary (the audit over the backtest's logs) is timed apart;
- reference, read-only: load the surface's data through the sim's loaders (shared/venues/sim/data.py) and, at every
  instant of the same backtest clock, read through the same sim venue what the strategies read (the listed
  instruments; each one's quote and candles; for Kalshi each open market's book and quote and the BTC candles), with
  no strategy, sizing, gates, orders or writes.
Targets (issue 15): kalshi_st >= 30 venue days/s, fx and stocks >= 200, and at most 3x the read-only reference.
``--profile`` adds each surface's top functions by own time (cProfile) to show where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WINDOWS = {  # (first day, days): whole weeks for FX and stocks so weekends count as they do in any backtest
    "kalshi_st": (date(2025, 12, 6), 1),
    "fx": (date(2025, 8, 4), 28),
    "stocks": (date(2025, 4, 21), 28),
}
QUICK_DAYS = {"kalshi_st": 1, "fx": 7, "stocks": 7}
TARGETS = {"kalshi_st": 30.0, "fx": 200.0, "stocks": 200.0}
MAX_RATIO = 3.0


def _window(surface: str, days: int) -> tuple[date, date]:
    first = WINDOWS[surface][0]
    return first, first + timedelta(days=days - 1)


def worker_backtest(surface: str, first: date, last: date, profile: bool) -> dict[str, object]:
    from surfaces.backtest.runner import BacktestSpec, run_backtest
    from surfaces.backtest.summary import summarize
    from surfaces.backtest.window import BacktestWindow

    with tempfile.TemporaryDirectory(prefix="tbot-bench-backtest-") as tmp:
        spec = BacktestSpec(surface, BacktestWindow(first, last))
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        run = run_backtest(spec, Path(tmp) / "run")
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        summary = summarize(run)
        summary_s = time.perf_counter() - started
    out: dict[str, object] = {"seconds": elapsed, "ticks": run.ticks, "summary_seconds": summary_s,
                              "trades": summary["trades"], "decisions": (summary["gates"] or {}).get("decisions", 0)}
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
        out["profile"] = text.getvalue()
    return out


def worker_reference(surface: str, first: date, last: date) -> dict[str, object]:
    from shared.clock import SteppedClock
    from shared.venues.base import VenueError
    from shared.venues.sim import build_sim_venue
    from surfaces.backtest.clock import schedule_for
    from surfaces.backtest.window import BacktestWindow

    window = BacktestWindow(first, last)
    with tempfile.TemporaryDirectory(prefix="tbot-bench-reference-") as tmp:
        started = time.perf_counter()
        clock = SteppedClock(window.start)
        venue = build_sim_venue(surface, clock, Path(tmp), 7, 1_000_000)  # loads the data through data.py
        schedule = schedule_for(surface, venue, window.start, window.end)
        reads = 0
        for moment in schedule:
            clock.set(moment)
            for instrument in venue.instruments():
                try:
                    if surface == "kalshi_st":
                        venue.orderbook(instrument.symbol, 5)
                    else:
                        venue.candles(instrument.symbol, 3600, 50)
                    venue.quote(instrument.symbol)
                except VenueError:
                    pass
                reads += 1
            if surface == "kalshi_st":
                venue.candles("BTCUSDT", 60, 21)
        elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "ticks": len(schedule), "reads": reads}


def _spawn(kind: str, surface: str, first: date, last: date, profile: bool) -> dict[str, object]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, surface, first.isoformat(),
            last.isoformat()] + (["--profile"] if profile else [])
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} {surface} failed: {done.stderr.strip().splitlines()[-1:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; exit 0 (a missed target is reported, not an error)."""
    parser = argparse.ArgumentParser(prog="tbot bench backtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a week of FX and stocks instead of four")
    parser.add_argument("--surface", action="append", choices=sorted(WINDOWS), help="only this surface (repeatable)")
    parser.add_argument("--profile", action="store_true", help="print each backtest's top functions (cProfile)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, surface, first, last = args.worker
        first_day, last_day = date.fromisoformat(first), date.fromisoformat(last)
        result = (worker_backtest(surface, first_day, last_day, args.profile) if kind == "backtest"
                  else worker_reference(surface, first_day, last_day))
        print(json.dumps(result))
        return 0

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"tbot bench backtest: python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {load}")
    print("venue days per wall-second (higher is better); ratio = backtest time / read-only reference time")
    for surface in args.surface or list(WINDOWS):
        days = QUICK_DAYS[surface] if args.quick else WINDOWS[surface][1]
        first, last = _window(surface, days)
        run = _spawn("backtest", surface, first, last, args.profile)
        ref = _spawn("reference", surface, first, last, False)
        seconds, ref_seconds = float(str(run["seconds"])), float(str(ref["seconds"]))
        rate, ref_rate = days / seconds, days / ref_seconds
        ratio = seconds / ref_seconds
        met = rate >= TARGETS[surface] and ratio <= MAX_RATIO
        print(f"{surface:<10} {first}..{last} ({days} d, {run['ticks']} ticks): backtest {rate:8.2f} venue-d/s "
              f"({seconds:.2f} s; {run['trades']} trades, {run['decisions']} decisions; summary "
              f"{float(str(run['summary_seconds'])):.2f} s) | read-only {ref_rate:8.2f} venue-d/s ({ref_seconds:.2f} s)"
              f" | {ratio:5.2f}x | target >= {TARGETS[surface]:g}/s and <= {MAX_RATIO:g}x: "
              f"{'met' if met else 'MISSED'}")
        if args.profile and "profile" in run:
            print(str(run["profile"]))
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
