"""Per-surface P&L of a replayed paper fleet, from the trade log beside the sim venue's own cash (the reference).

    .venv/bin/python bench/replay_pnl.py [--days 30] [--out DIR]      (or: ./tbot bench replay_pnl --days 30)

The fleet (surfaces/replay.py, seed 7, default settings) steps kalshi_st 20 sim minutes a tick, FX and stocks an hour,
kalshi_lt 3 hours, for ``--days`` of kalshi_st venue time. For each surface it prints resolved trades, wins, the
trade log's realized P&L and fees, open positions, and the venue's cash movement: with P&L from fills the two agree
to the cent (stocks: plus the cash the open positions moved at entry, see ``tbot audit pnl``'s reconciliation).
This is the measurement behind the before/after table of the one-truth work; run it on an older checkout
(``PYTHONPATH=<checkout>``) for the "before".
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from surfaces import replay

STEPS = {"kalshi_st": timedelta(minutes=20), "kalshi_lt": timedelta(hours=3), "fx": timedelta(hours=1),
         "stocks": timedelta(hours=1)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/replay_pnl.py")
    parser.add_argument("--days", type=int, default=30, help="kalshi_st venue days to replay")
    parser.add_argument("--out", type=Path, default=None, help="keep the logs here (default: a temporary folder)")
    args = parser.parse_args()
    replay.STEPS.update(STEPS)
    log_dir = (args.out or Path(tempfile.mkdtemp(prefix="tbot-replay-"))) / "logs"
    started = time.monotonic()
    fleet = replay.FleetReplay(log_dir)
    starts = {name: fleet.now(name) for name in fleet.members}
    fleet.run(int(timedelta(days=args.days) / STEPS["kalshi_st"]))
    rows = {}
    for name, member in fleet.members.items():
        latest: dict[str, dict[str, object]] = {}
        path = log_dir / name / "trades.jsonl"
        for line in path.open() if path.exists() else []:
            record = json.loads(line)
            latest[str(record["id"])] = record
        resolved = [r for r in latest.values() if r["status"] == "resolved"]
        balance = member.venue.balance()
        rows[name] = {
            "venue_days": round((fleet.now(name) - starts[name]) / timedelta(days=1), 1),
            "resolved": len(resolved),
            "wins": sum(1 for r in resolved if int(str(r.get("pnl") or 0)) > 0),
            "trade_log_pnl_cents": sum(int(str(r.get("pnl") or 0)) for r in resolved),
            "fees_cents": sum(int(str(r.get("fees") or 0)) for r in resolved),
            "open": sum(1 for r in latest.values() if r["status"] in ("intent", "placed", "filled")),
            "venue_cash_moved_cents": balance.cash_cents - member.settings.bankroll_cents,
        }
    fleet.close()
    print(json.dumps(rows, indent=1))
    print(f"elapsed {time.monotonic() - started:.1f} s; logs in {log_dir}")


if __name__ == "__main__":
    main()
