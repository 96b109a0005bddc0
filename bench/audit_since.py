"""Benchmark: a one-day ``tbot audit all --since D --until D`` against the same report over the whole log.

Builds a fleet log directory of at least ``--size-gb`` (default 1 GB) under a temp dir: 30 days of decisions,
signals, trade states and subscriber callbacks on every surface, written as pre-stamped bus lines in big
chunks (the records are real ``shared.records`` models, serialized once as templates). Then times the report
(build + text rendering, in process) for one day in the middle and for the whole log, ``--runs`` times each,
alternating, and prints the medians and their ratio. Both runs read a warm page cache (the log was just written),
so the ratio measures work done, not disk speed.

    .venv/bin/python bench/audit_since.py [--size-gb 1.0] [--runs 3] [--quick] [--dir PATH] [--keep]
    tbot bench audit_since --quick
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.audit.render import render
from shared.audit.report import SECTIONS, ReportOptions, build_report
from shared.audit.window import Window
from shared.paths import feed_path, stream_path
from shared.records import SURFACES, Callback, Decision, GateOutcome, Signal, Trade

DAYS = 30
FIRST_DAY = datetime(2026, 10, 1, tzinfo=UTC)
GATES = ("stop_file", "dedup", "per_market_cap", "direction", "category", "risk", "slippage", "min_edge",
         "min_confidence", "api_cost")
DECISIONS_PER_SIGNAL = 10
SUBSCRIBERS_PER_SIGNAL = 5
CHUNK = 8 << 20


def _template(record: Any, fields: dict[str, str | float]) -> str:
    """The record's bus line with ``{name}`` placeholders where the sentinel values were (strings stay quoted)."""
    data = record.to_json_dict()
    text = json.dumps(data, separators=(",", ":")).replace("{", "{{").replace("}", "}}")
    for name, sentinel in fields.items():
        placeholder = '"{' + name + '}"' if isinstance(sentinel, str) else "{" + name + "}"
        assert json.dumps(sentinel) in text, (name, sentinel)
        text = text.replace(json.dumps(sentinel), placeholder)
    return '{{"ts":"{ts}",' + text[2:] + "\n"


def _templates() -> dict[str, str]:
    now = FIRST_DAY
    answers = [{"model": m, "p": 0.61, "confidence": 0.7, "abstained": False, "reason": "baseline"}
               for m in ("claude", "gpt", "gemini")]
    accepted = Decision(decided_at=now, surface="fx", sub_strategy="SUB", instrument="INSTR", side="long",
                        candidate_id="CID", accepted=True, gates=tuple(GateOutcome(gate=g, passed=True) for g in GATES),
                        p_model=0.61, p_market=0.5, edge=0.05, confidence=0.7, context={"model_answers": answers})
    stop = 7
    rejected = Decision(decided_at=now, surface="fx", sub_strategy="SUB", instrument="INSTR", side="long",
                        candidate_id="CID", accepted=False, stopped_by=GATES[stop], reason_code="edge_below_min",
                        gates=tuple(GateOutcome(gate=g, passed=i != stop, reason_code=None if i != stop else
                                                "edge_below_min") for i, g in enumerate(GATES)),
                        p_model=0.52, p_market=0.5, edge=0.01, confidence=0.6)
    signal = Signal(id="SID", published_at=now, expires_at=now, surface="fx", sub_strategy="SUB", venue="sim",
                    instrument="INSTR", side="long", limit_price=Decimal("1.10000"), size_fraction=Decimal("0.01"),
                    p_model=0.61, p_market=0.5, edge=0.05, confidence=0.7, eta_hours=4.0, models=("claude",),
                    signature="A" * 88)
    trade = Trade(id="TID", signal_id="SID", client_order_id="COID", status="filled", surface="fx",
                  sub_strategy="SUB", venue="sim", instrument="INSTR", side="long", units=1000,
                  fill_price=Decimal("1.10000"), fees=12, opened_at=now, eta_hours=4.0)
    resolved = Trade(id="TID", signal_id="SID", client_order_id="COID", status="resolved", surface="fx",
                     sub_strategy="SUB", venue="sim", instrument="INSTR", side="long", units=1000,
                     fill_price=Decimal("1.10000"), fees=24, opened_at=now, resolved_at=now, pnl=1234,
                     resolution_source="nws_observation", eta_hours=4.0)
    callback = Callback(subscriber_id="SUBSCRIBER", signal_id="SID", callback="executed",
                        body={"fill_price": "1.10010", "quantity": 1000, "fees_cents": 3}, received_at=now)
    common = {"surface": "fx", "sub": "SUB", "instr": "INSTR"}
    return {
        "accepted": _template(accepted, {**common, "cid": "CID"}),
        "rejected": _template(rejected, {**common, "cid": "CID"}),
        "signal": _template(signal, {**common, "sid": "SID", "p": 0.61}),
        "trade": _template(trade, {**common, "tid": "TID", "sid": "SID", "coid": "COID", "status": "filled"}),
        "resolved": _template(resolved, {**common, "tid": "TID", "sid": "SID", "coid": "COID", "pnl": 1234,
                                         "source": "nws_observation"}),
        "callback": _template(callback, {"sub": "SUBSCRIBER", "sid": "SID", "kind": "executed"}),
    }


def _fix_times(templates: dict[str, str]) -> dict[str, str]:
    # The models serialize times in the fixed-width form; the sentinel above was the isoformat, so swap it.
    iso = FIRST_DAY.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {k: v.replace(f'"{iso}"', '"{at_z}"') for k, v in templates.items()}


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Writer:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.buffer: list[str] = []
        self.size = 0
        self.total = 0

    def write(self, line: str) -> None:
        self.buffer.append(line)
        self.size += len(line)
        if self.size >= CHUNK:
            self.flush()

    def flush(self) -> None:
        self.handle.write("".join(self.buffer))
        self.total += self.size
        self.buffer, self.size = [], 0

    def close(self) -> None:
        self.flush()
        self.handle.close()


def signals_per_day(templates: dict[str, str], size_bytes: int) -> int:
    """How many signals per surface per day reach the target size."""
    unit = (len(templates["accepted"]) + (DECISIONS_PER_SIGNAL - 1) * len(templates["rejected"])
            + len(templates["signal"]) + 4 * len(templates["trade"])
            + 3 * SUBSCRIBERS_PER_SIGNAL * len(templates["callback"]) + 200)
    return max(1, -(-size_bytes // (unit * DAYS * len(SURFACES))))


def build_logs(log_dir: Path, size_gb: float) -> tuple[int, int]:
    """Write the fleet log; returns (total bytes, signals per surface per day)."""
    templates = _fix_times(_templates())
    per_day = signals_per_day(templates, int(size_gb * (1 << 30)))
    callbacks = _Writer(feed_path(log_dir, "callbacks"))
    total = 0
    for surface in SURFACES:
        side = "yes" if surface.startswith("kalshi") else "long"
        decisions = _Writer(stream_path(log_dir, surface, "decisions"))
        signals = _Writer(stream_path(log_dir, surface, "signals"))
        trades = _Writer(stream_path(log_dir, surface, "trades"))
        carried: list[tuple[str, str]] = []  # trade lines of resolutions that fall on a later day
        feed_carried: list[tuple[str, str]] = []
        spacing = 86_400 / per_day
        for day in range(DAYS):
            start = FIRST_DAY + timedelta(days=day)
            day_end = _z(start + timedelta(days=1))
            day_trades = [x for x in carried if x[0] < day_end]
            carried = [x for x in carried if x[0] >= day_end]
            day_feed = [x for x in feed_carried if x[0] < day_end]
            feed_carried = [x for x in feed_carried if x[0] >= day_end]
            for n in range(per_day):
                t0 = start + timedelta(seconds=n * spacing)
                index = day * per_day + n
                sid = f"{surface.upper()}{index:010d}"  # unique across surfaces, like the fleet's ULIDs
                sub = ("alpha", "beta", "gamma")[index % 3]
                common = {"surface": surface, "sub": sub, "instr": f"I{index % 50}"}
                for k in range(DECISIONS_PER_SIGNAL - 1):
                    moment = t0 + timedelta(milliseconds=10 * k)
                    decisions.write(templates["rejected"].format(ts=_z(moment), at_z=_z(moment), cid=f"R{sid}{k}",
                                                                 **common).replace('"long"', f'"{side}"'))
                moment = t0 + timedelta(milliseconds=100)
                decisions.write(templates["accepted"].format(ts=_z(moment), at_z=_z(moment), cid=sid, **common)
                                .replace('"long"', f'"{side}"'))
                p = 0.5 + (index % 40) / 100
                signals.write(templates["signal"].format(ts=_z(t0 + timedelta(seconds=1)), at_z=_z(t0), sid=sid,
                                                         p=p, **common).replace('"long"', f'"{side}"'))
                tid = f"T{sid}"
                for k, status in enumerate(("intent", "placed", "filled")):
                    day_trades.append((_z(t0 + timedelta(seconds=2 + k)), templates["trade"].format(
                        ts=_z(t0 + timedelta(seconds=2 + k)), at_z=_z(t0), tid=tid, sid=sid, coid=f"C{sid}",
                        status=status, **common)))
                resolved_at = t0 + timedelta(hours=1 + index % 6)
                won = (index * 7919) % 100 < p * 100
                source = "sim" if index % 4 else ("kalshi_resolution" if surface.startswith("kalshi")
                                                  else "oanda_candles")
                line = templates["resolved"].format(ts=_z(resolved_at), at_z=_z(t0), tid=tid, sid=sid,
                                                    coid=f"C{sid}", pnl=1500 if won else -1000, source=source,
                                                    **common).replace('"resolved_at":"' + _z(t0),
                                                                      '"resolved_at":"' + _z(resolved_at))
                (day_trades if _z(resolved_at) < day_end else carried).append((_z(resolved_at), line))
                for s in range(SUBSCRIBERS_PER_SIGNAL):
                    for k, kind in enumerate(("ack", "executed", "resolved")):
                        at = t0 + timedelta(seconds=5 + k) if kind != "resolved" else resolved_at + timedelta(
                            seconds=30 + s)
                        text = templates["callback"].format(ts=_z(at), at_z=_z(at), sub=f"sub{s}", sid=sid,
                                                            kind=kind)
                        if kind == "resolved":
                            text = text.replace('{"fill_price":"1.10010","quantity":1000,"fees_cents":3}',
                                                '{"pnl_cents":' + ("150" if won else "-100") + "}")
                        (day_feed if _z(at) < day_end else feed_carried).append((_z(at), text))
            day_trades.sort(key=lambda x: x[0])
            for _, line in day_trades:
                trades.write(line)
            for _, line in sorted(day_feed, key=lambda x: x[0]):
                callbacks.write(line)
        for _, line in sorted(carried):
            trades.write(line)
        for _, line in sorted(feed_carried):
            callbacks.write(line)
        for writer in (decisions, signals, trades):
            writer.close()
            total += writer.total
    callbacks.close()
    _sort_feed(feed_path(log_dir, "callbacks"))
    total += feed_path(log_dir, "callbacks").stat().st_size
    return total, per_day


def _sort_feed(path: Path) -> None:
    """The feed got every surface's callbacks surface after surface; the bus keeps one file in ts order."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.sort(key=lambda line: line[7:34])
    path.write_text("".join(lines), encoding="utf-8")


def time_report(log_dir: Path, window: Window) -> tuple[float, int, str]:
    started = time.perf_counter()
    report = build_report(ReportOptions(log_dir=log_dir, window=window), SECTIONS)
    text = render(report)
    elapsed = time.perf_counter() - started
    if report.corrupt_lines or report.invalid_records or report.notes or report.signals_missing:
        # The generator must write only valid, consistent records (each trade resolved once, every signal there).
        raise SystemExit(f"bench log is broken: {report.corrupt_lines} corrupt, {report.invalid_records} invalid, "
                         f"{report.signals_missing} signals missing, notes: {report.notes}")
    return elapsed, report.bytes_scanned, text


def main(argv: list[str] | None = None) -> int:
    """Build the log, time both reports, print the medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0, help="target log size (default 1.0)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each report (median quoted)")
    parser.add_argument("--quick", action="store_true", help="a 50 MB log and one run: a smoke test")
    parser.add_argument("--dir", type=Path, help="build the log here (default: a temp dir, removed after)")
    parser.add_argument("--keep", action="store_true", help="keep the log directory")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows when piped
    size_gb, runs = (min(args.size_gb, 0.05), 1) if args.quick else (args.size_gb, args.runs)
    root = args.dir or Path(tempfile.mkdtemp(prefix="tbot-audit-bench-"))
    log_dir = root / "logs"
    try:
        started = time.perf_counter()
        total, per_day = build_logs(log_dir, size_gb)
        print(f"built {total / (1 << 30):.3f} GiB ({total:,} bytes) in {time.perf_counter() - started:.1f}s: "
              f"{DAYS} days x {len(SURFACES)} surfaces x {per_day} signals/day "
              f"({DECISIONS_PER_SIGNAL} decisions, 4 trade states, {3 * SUBSCRIBERS_PER_SIGNAL} callbacks each)")
        middle = (FIRST_DAY + timedelta(days=DAYS // 2)).date()
        one_day = Window.from_days(middle, middle)
        whole = Window.everything()
        day_times: list[float] = []
        whole_times: list[float] = []
        day_bytes = whole_bytes = 0
        for _ in range(runs):
            seconds, day_bytes, day_text = time_report(log_dir, one_day)
            day_times.append(seconds)
            seconds, whole_bytes, _ = time_report(log_dir, whole)
            whole_times.append(seconds)
        day_median, whole_median = statistics.median(day_times), statistics.median(whole_times)
        print(f"one-day report (--since {middle} --until {middle}): median {day_median:.3f}s over {runs} runs, "
              f"read {day_bytes / (1 << 20):.1f} MiB")
        print(f"whole-log report (reference):                median {whole_median:.3f}s over {runs} runs, "
              f"read {whole_bytes / (1 << 20):.1f} MiB ({whole_bytes / (1 << 20) / whole_median:.0f} MiB/s)")
        print(f"ratio one-day / whole: {day_median / whole_median:.4f} of the time "
              f"({whole_median / day_median:.1f}x faster), {day_bytes / max(1, whole_bytes):.4f} of the bytes")
        first = next(line for line in day_text.splitlines() if line.startswith("real data "))
        print(f"one-day report sample row: {first}")
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
