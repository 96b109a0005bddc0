"""Fleet benchmark: tick latency (market update → signal on the bus) and the idle footprint of the six processes.

Part 1, in one process on a stepped sim clock (the LLM ensemble is the offline model: model calls excluded):
- per market update: the time from reading a market's quote to its signal being appended to the bus (strategy,
  fees, sizing, the 10-gate chain, the fsync'd order intent, the sim fill, the signed signal), p50/p99;
- per tick: a whole kalshi_st scan, p50/p99;
- beside each, the reference: the same markets' quotes and books read with no strategy, gates or writes (the
  floor any loop pays), and the ratio.
Part 2: the six processes (four surfaces, the resolver, the dashboard) started as PM2 starts them, each with its
own env file, on a scratch log dir: RSS and CPU over a measurement window after warm-up, side by side with six
bare Python interpreters as the reference.
Targets (issue 5): tick p99 ≤ 20 ms; all six together ≤ 600 MB RSS and ≤ 5% of one core while idle.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# --------------------------------------------------------------------------------------------- tick latency
def tick_latency(ticks: int) -> None:
    from surfaces.publish import SignalPublisher
    from surfaces.replay import FleetReplay

    update_to_signal: list[float] = []
    original_publish = SignalPublisher.publish
    marks: dict[str, float] = {}

    def publish(self: SignalPublisher, signal_record: object) -> None:
        original_publish(self, signal_record)  # type: ignore[arg-type]
        started = marks.get(signal_record.instrument)  # type: ignore[attr-defined]
        if started is not None:
            update_to_signal.append((time.perf_counter() - started) * 1000)

    SignalPublisher.publish = publish  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        replay = FleetReplay(Path(tmp) / "logs", surfaces=("kalshi_st",))
        member = replay.members["kalshi_st"]
        loop = member.loop
        venue = member.venue
        read_quote = venue.quote

        def quote(symbol: str) -> object:
            # A market's update reaches the loop when the loop reads its quote.
            marks.setdefault(symbol, time.perf_counter())
            return read_quote(symbol)

        venue.quote = quote  # type: ignore[method-assign]
        tick_ms: list[float] = []
        floor_ms: list[float] = []
        for _ in range(ticks):
            marks.clear()
            member.clock.advance(member.step)
            started = time.perf_counter()
            loop.tick()
            tick_ms.append((time.perf_counter() - started) * 1000)
            replay.resolver.tick()  # type: ignore[union-attr]
            # Reference: read the same markets' data and nothing else.
            started = time.perf_counter()
            for instrument in venue.instruments():
                read_quote(instrument.symbol)
                if instrument.category == "crypto":
                    venue.orderbook(instrument.symbol, depth=5)
            floor_ms.append((time.perf_counter() - started) * 1000)
        replay.close()
    SignalPublisher.publish = original_publish  # type: ignore[method-assign]
    med_tick, med_floor = statistics.median(tick_ms), statistics.median(floor_ms)
    print(f"tick latency (kalshi_st, {ticks} ticks, {len(update_to_signal)} signals):")
    print(f"  market update -> signal on the bus   p50 {pct(update_to_signal, .5):7.2f} ms   "
          f"p99 {pct(update_to_signal, .99):7.2f} ms   (target p99 <= 20 ms)")
    print(f"  whole scan (all markets)             p50 {med_tick:7.2f} ms   p99 {pct(tick_ms, .99):7.2f} ms")
    print(f"  reference: reading the same markets  p50 {med_floor:7.2f} ms   p99 {pct(floor_ms, .99):7.2f} ms")
    print(f"  ratio scan / reference (medians)     {med_tick / med_floor:7.2f}x")


# --------------------------------------------------------------------------------------------- footprint
def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _measure(pids: list[int], seconds: float) -> tuple[float, float, list[tuple[float, float]]]:
    """Median total RSS (MB), total CPU (% of one core) and per-process (RSS MB, CPU %) over ``seconds``."""
    hz = os.sysconf("SC_CLK_TCK")
    before = [_cpu_ticks(p) for p in pids]
    started = time.monotonic()
    samples: list[list[int]] = []
    while time.monotonic() - started < seconds:
        samples.append([_rss_kb(p) for p in pids])
        time.sleep(1.0)
    elapsed = time.monotonic() - started
    cpu = [100 * (_cpu_ticks(p) - b) / hz / elapsed for p, b in zip(pids, before, strict=True)]
    rss = [statistics.median(s[i] for s in samples) / 1024 for i in range(len(pids))]
    return sum(rss), sum(cpu), list(zip(rss, cpu, strict=True))


def footprint(warmup: float, window: float, halted: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        logs = tmp / "logs"
        common = f"LOG_DIR={logs}\n"
        surface = common + f"SIGNAL_KEY_PATH={logs / 'keys' / 'op.pem'}\n"
        envs = {name: tmp / f"{name}.env" for name in ("st", "lt", "fx", "stk", "resolver", "dashboard")}
        for name in ("st", "lt", "fx", "stk"):
            envs[name].write_text(surface)
        envs["resolver"].write_text(common + "SURFACE_ENVS=" + ",".join(
            f"{s}={envs[e]}" for s, e in (("kalshi_st", "st"), ("kalshi_lt", "lt"), ("fx", "fx"),
                                           ("stocks", "stk"))) + "\n")
        envs["dashboard"].write_text(common + f"SIGNAL_KEY_PATH={logs / 'keys' / 'op.pem'}\nPORT=18931\n"
                                     f"ENV_DIR={tmp}\n")
        os.chmod(envs["dashboard"], 0o600)
        if halted:
            logs.mkdir(parents=True, exist_ok=True)
            (logs / "STOP").write_text("bench: idle\n")
        apps = [["surfaces.kalshi_st", "st"], ["surfaces.kalshi_lt", "lt"], ["surfaces.fx", "fx"],
                ["surfaces.stocks", "stk"], ["surfaces.resolver", "resolver"], ["dashboard", "dashboard"]]
        procs = [subprocess.Popen([sys.executable, "-m", module, "--env", str(envs[env])], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for module, env in apps]
        bare = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]) for _ in apps]
        try:
            time.sleep(warmup)
            dead = [apps[i][0] for i, p in enumerate(procs) if p.poll() is not None]
            if dead:
                print(f"  processes that exited during warm-up: {dead}")
            rss, cpu, each = _measure([p.pid for p in procs], window)
            ref_rss, ref_cpu, _ = _measure([p.pid for p in bare], min(window, 5))
        finally:
            for p in procs + bare:
                p.send_signal(signal.SIGTERM)
            for p in procs + bare:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
    state = "halted by logs/STOP (scanning, not trading)" if halted else "running (sim markets active)"
    print(f"six processes, {state}, {window:.0f} s window after {warmup:.0f} s warm-up:")
    print(f"  tbot fleet     RSS {rss:7.1f} MB   CPU {cpu:5.2f}% of one core   (target <= 600 MB, <= 5%)")
    print(f"  6 bare pythons RSS {ref_rss:7.1f} MB   CPU {ref_cpu:5.2f}%")
    print(f"  ratio RSS fleet / bare {rss / ref_rss:6.2f}x")
    print("  per process: " + ", ".join(f"{apps[i][0].split('.')[-1]} {r:.0f} MB {c:.2f}%"
                                         for i, (r, c) in enumerate(each)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=60)
    parser.add_argument("--warmup", type=float, default=25.0)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="fewer ticks and a shorter window (smoke run)")
    parser.add_argument("--skip-footprint", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.ticks, args.warmup, args.window = 12, 15.0, 5.0
    tick_latency(args.ticks)
    if not args.skip_footprint:
        footprint(args.warmup, args.window, halted=True)
        footprint(args.warmup, args.window, halted=False)



if __name__ == "__main__":
    main()
