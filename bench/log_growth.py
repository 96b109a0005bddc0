"""Log growth: what the paper fleet writes under logs/ per real day, repeated denials folded off and on.

The fleet (the four surface loops and the resolver, on sim venues, seed 7) runs in one process on stepped clocks at
real-time pace: each tick moves every surface's venue clock by TICK_SECONDS x SIM_SPEED of sim time (2 s x 600 =
20 sim minutes, what a PM2 loop sees between two ticks) and the wall clock by TICK_SECONDS. Bytes appended per
tick, per stream, are scaled to a real day (86,400 / TICK_SECONDS ticks). The PM2 logs (logs/pm2/*.log: every
log line at the default LOG_LEVEL=INFO with the runner's format and PM2's timestamp) are counted from the log
records the processes emit, plus the resolver's per-resolution line.

The reference, in the same run: the same fleet as before issue 16, DECISION_REPEAT_SUMMARY_SECONDS=0 (every
decision its own line) and HEARTBEAT_SECONDS=0 (a heartbeat every tick); then with the defaults (repeated denials
folded into counts, summarised at least every 300 s; a heartbeat at most every 10 s). Target: at most 100 MB a day
for the whole fleet.

    tbot bench log_growth [--ticks 900] [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MB_PER_DAY = 100.0
PM2_PREFIX = len("2026-12-05 20:25:42.123 +00:00: ")  # log_date_format "YYYY-MM-DD HH:mm:ss.SSS Z" + ": "
RUNNER_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ByteCounter(logging.Handler):
    """Counts the bytes the PM2 error log would get: the runner's stderr format plus PM2's timestamp."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter(RUNNER_FORMAT))
        self.bytes = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.bytes += PM2_PREFIX + len(self.format(record).encode()) + 1


def stream_of(path: Path, log_dir: Path) -> str:
    """``kalshi_st/decisions.jsonl`` -> ``decisions``; ``sim/fx/orders.jsonl`` -> ``sim orders``."""
    rel = path.relative_to(log_dir)
    if rel.parts[0] == "sim":
        return f"sim {path.stem}"
    if rel.parts[0] == "keys":
        return "keys"
    return path.stem


def sizes(log_dir: Path) -> Counter[str]:
    out: Counter[str] = Counter()
    for path in log_dir.rglob("*"):
        if path.is_file():
            out[stream_of(path, log_dir)] += path.stat().st_size
    return out


def gzipped(log_dir: Path) -> Counter[str]:
    """Each stream's bytes once gzip'd (level 6): what compressed archives of these logs would hold."""
    out: Counter[str] = Counter()
    for path in log_dir.rglob("*.jsonl"):
        out[stream_of(path, log_dir)] += len(gzip.compress(path.read_bytes(), 6))
    return out


def run(ticks: int, settings: dict[str, float], tick_seconds: float, sim_speed: float,
        ) -> tuple[Counter[str], float, Counter[str]]:
    """Bytes appended per stream over ``ticks`` real-time ticks (after start-up), the wall seconds taken, and the
    streams' gzip'd size at the end."""
    from surfaces.replay import FleetReplay

    surfaces = ("kalshi_st", "kalshi_lt", "fx", "stocks")
    overrides = {name: dict(settings) for name in surfaces}
    counter = ByteCounter()
    root = logging.getLogger()
    root.addHandler(counter)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            log_dir = Path(tmp) / "logs"
            fleet = FleetReplay(log_dir, seed=7, surfaces=surfaces, overrides=overrides)
            assert fleet.wall is not None and fleet.resolver is not None
            step = timedelta(seconds=tick_seconds * sim_speed)
            for member in fleet.members.values():
                member.step = step
            start = sizes(log_dir)
            counter.bytes = 0
            started = time.perf_counter()
            for _ in range(ticks):
                fleet.wall.advance(timedelta(seconds=tick_seconds))
                for member in fleet.members.values():
                    member.clock.advance(member.step)
                    member.loop.tick()
                for trade in fleet.resolver.tick():
                    # surfaces/resolver/main.py logs one INFO line per resolution
                    line = (f"resolved {trade.surface} {trade.instrument} {trade.side} pnl={trade.pnl} "
                            f"source={trade.resolution_source}")
                    counter.bytes += PM2_PREFIX + len("2026-12-05 20:25:42,123 INFO surfaces.resolver.main: ")
                    counter.bytes += len(line) + 1
            fleet.close()  # shutdown writes the pending repeat counts: counted too
            elapsed = time.perf_counter() - started
            grown = sizes(log_dir)
            grown.subtract(start)
            grown["pm2 logs"] = counter.bytes
            return +grown, elapsed, gzipped(log_dir)
    finally:
        root.removeHandler(counter)
        root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    from shared.config import SurfaceSettings

    parser = argparse.ArgumentParser(prog="tbot bench log_growth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=900, help="real-time ticks to run (900 = 30 wall minutes)")
    parser.add_argument("--quick", action="store_true", help="300 ticks")
    args = parser.parse_args(argv)
    ticks = 300 if args.quick else args.ticks
    tick_seconds = float(SurfaceSettings.model_fields["tick_seconds"].default)
    sim_speed = float(SurfaceSettings.model_fields["sim_speed"].default)
    per_day = 86_400 / tick_seconds / ticks / 1e6  # bytes over the run -> MB per real day
    print(f"log growth: paper fleet on sim venues, seed 7, {ticks} ticks at TICK_SECONDS={tick_seconds:g}, "
          f"SIM_SPEED={sim_speed:g} ({tick_seconds * sim_speed / 60:g} sim minutes a tick, "
          f"{ticks * tick_seconds / 60:g} wall minutes, {ticks * tick_seconds * sim_speed / 86_400:.1f} sim days)")
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    from surfaces.loop_settings import LoopSettings

    defaults = {key: float(LoopSettings.model_fields[key].default)
                for key in ("decision_repeat_summary_seconds", "heartbeat_seconds")}
    before, t_before, _ = run(ticks, dict.fromkeys(defaults, 0.0), tick_seconds, sim_speed)
    after, t_after, packed = run(ticks, defaults, tick_seconds, sim_speed)
    # gzip'd: each whole log at the end (its few start-up lines included, so slightly over), scaled like the rest.
    streams = sorted(set(before) | set(after), key=lambda s: -before[s])
    print(f"\n{'stream (all surfaces)':<24} {'before (every line)':>24} {'now (defaults)':>16} {'ratio':>7}"
          f" {'now, gzip -6':>16}")
    for stream in streams:
        b, a = before[stream] * per_day, after[stream] * per_day
        ratio = f"{b / a:.1f}x" if a else "-"
        z = f"{packed[stream] * per_day:>9.1f} MB/day" if stream in packed else f"{'-':>16}"
        print(f"{stream:<24} {b:>18.1f} MB/day {a:>9.1f} MB/day {ratio:>7} {z}")
    total_b, total_a = sum(before.values()) * per_day, sum(after.values()) * per_day
    total_z = (sum(packed.values()) + after["pm2 logs"]) * per_day
    print(f"{'total':<24} {total_b:>18.1f} MB/day {total_a:>9.1f} MB/day {total_b / total_a:>6.1f}x"
          f" {total_z:>9.1f} MB/day")
    verdict = "met" if total_a <= TARGET_MB_PER_DAY else "MISSED"
    print(f"\ntarget: <= {TARGET_MB_PER_DAY:g} MB/day written: {verdict} ({total_a:.1f} MB/day); "
          f"once archived with gzip -6 the same logs hold {total_z:.1f} MB/day on disk (pm2 logs uncompressed; "
          "no rotation yet, see the README)")
    print(f"replay time: {t_before:.1f} s (before) / {t_after:.1f} s (defaults) for {ticks} ticks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
