"""The same sim window traded with ORDER_STYLE=take and with rest_then_take (kalshi_st, FleetReplay, one seed).

    .venv/bin/python -m bench.maker_vs_taker [--ticks 288] [--seed 7] [--styles take,rest_then_take]

Per style: plans sent (accepted decisions), plans with any fill and the fill rate, contracts requested and filled,
how many fills came from resting vs taking, entry fees paid, realized (resolved) net P&L, and adverse selection:
the side's mid 15 and 60 minutes after each fill less its mid at the fill, contract-weighted, in cents a contract
(negative: the market moved against the position right after it was bought), and what the fills paid over the
side's mid at the fill (a taker pays the half spread, a maker earns it). Sim figures: a test rig, not a track record.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.clock import SteppedClock
from shared.execution import REST_MARK
from shared.timeutil import from_iso
from shared.venues.base import Venue
from shared.venues.sim import build_sim_venue
from surfaces.replay import FleetReplay

SURFACE = "kalshi_st"
HORIZON = timedelta(minutes=15)


@dataclass
class Figures:
    style: str
    plans: int = 0
    plans_filled: int = 0
    requested: int = 0
    filled: int = 0
    from_rest: int = 0
    from_take: int = 0
    fees_cents: int = 0
    resolved: int = 0
    net_pnl_cents: int = 0
    adverse_cents_x_contracts: Decimal = Decimal(0)
    adverse_60_cents_x_contracts: Decimal = Decimal(0)
    vs_mid_cents_x_contracts: Decimal = Decimal(0)
    seconds: float = 0.0

    def row(self) -> dict[str, Any]:
        contracts = Decimal(self.filled) / 100
        return {
            "style": self.style, "plans": self.plans, "plans_filled": self.plans_filled,
            "fill_rate": round(self.plans_filled / self.plans, 3) if self.plans else None,
            "contracts_requested": self.requested / 100, "contracts_filled": float(contracts),
            "contracts_rested": self.from_rest / 100, "contracts_taken": self.from_take / 100,
            "entry_fees_usd": self.fees_cents / 100,
            "fees_per_contract_cents": round(float(self.fees_cents / contracts), 3) if contracts else None,
            "resolved": self.resolved, "net_pnl_usd": self.net_pnl_cents / 100,
            "adverse_selection_cents_per_contract": (
                round(float(self.adverse_cents_x_contracts / contracts), 3) if contracts else None),
            "adverse_selection_60m_cents_per_contract": (
                round(float(self.adverse_60_cents_x_contracts / contracts), 3) if contracts else None),
            "paid_over_mid_cents_per_contract": (
                round(float(self.vs_mid_cents_x_contracts / contracts), 3) if contracts else None),
            "seconds": round(self.seconds, 1),
        }


def side_mid(venue: Venue, clock: SteppedClock, symbol: str, side: str, at: datetime) -> Decimal | None:
    clock.set(at)
    quote = venue.quote(symbol)
    mid = quote.mid
    if mid is None:
        return None
    return mid if side == "yes" else 1 - mid


def run(style: str, ticks: int, seed: int, root: Path) -> Figures:
    log_dir = root / style
    started = time.perf_counter()
    fleet = FleetReplay(log_dir, seed=seed, surfaces=(SURFACE,), overrides={SURFACE: {"order_style": style}})
    fleet.run(ticks)
    fleet.close()
    figures = Figures(style, seconds=time.perf_counter() - started)
    latest: dict[str, dict[str, Any]] = {}
    first: dict[str, dict[str, Any]] = {}
    for line in (log_dir / SURFACE / "trades.jsonl").open():
        data = json.loads(line)
        first.setdefault(data["id"], data)
        latest[data["id"]] = data
    probe_clock = SteppedClock(fleet.now(SURFACE))
    probe = build_sim_venue(SURFACE, probe_clock, root / "probe", seed, 1_000_000)
    plans: dict[str, bool] = {}
    for trade_id, data in latest.items():
        signal = data["signal_id"].removesuffix("#take")
        taken = data["signal_id"].endswith("#take")
        if not taken:
            plans.setdefault(signal, False)
            figures.requested += int(first[trade_id].get("count") or 0)
        if data["status"] not in ("filled", "resolved"):
            continue
        count = int(data.get("count") or 0)
        plans[signal] = True
        figures.filled += count
        if taken or first[trade_id].get("reason") != REST_MARK:
            figures.from_take += count
        else:
            figures.from_rest += count
        if data["status"] == "resolved":
            figures.resolved += 1
            figures.net_pnl_cents += int(data.get("pnl") or 0)
        opened = data.get("opened_at")
        fill_price = data.get("fill_price")
        if opened and fill_price:
            at = from_iso(opened)
            figures.fees_cents += _entry_fees(data)
            before = side_mid(probe, probe_clock, data["instrument"], data["side"], at)
            after = side_mid(probe, probe_clock, data["instrument"], data["side"], at + HORIZON)
            later = side_mid(probe, probe_clock, data["instrument"], data["side"], at + HORIZON * 4)
            if before is not None:
                figures.vs_mid_cents_x_contracts += (Decimal(fill_price) - before) * Decimal(count)
            if before is not None and after is not None:
                figures.adverse_cents_x_contracts += (after - before) * 100 * Decimal(count) / 100
            if before is not None and later is not None:
                figures.adverse_60_cents_x_contracts += (later - before) * Decimal(count)
    figures.plans = len(plans)
    figures.plans_filled = sum(plans.values())
    return figures


def _entry_fees(data: dict[str, Any]) -> int:
    """Entry fees: a filled trade's fees; a resolved binary held to settlement pays no exit fee (its fees are the
    entry's), one sold before is counted whole (an upper bound on the entry's)."""
    return int(data.get("fees") or 0)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.maker_vs_taker", description=__doc__)
    parser.add_argument("--ticks", type=int, default=288)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--styles", default="take,rest_then_take")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for style in args.styles.split(","):
            print(json.dumps(run(style, args.ticks, args.seed, Path(tmp)).row()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
