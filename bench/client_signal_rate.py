"""How many signals a day the paper fleet publishes per surface, and what one unit of each costs a subscriber.

The subscriber client's default size rule and caps (client/config.py) are chosen from these figures: the rule must
take a typical signal of every surface, and the per-day cap must last a day. The fleet (four surface loops and the
resolver, sim venues, seed 7, the same ``build`` the PM2 processes run) runs on stepped clocks; each surface's
signals are bucketed by the *sim* day they were published in, which is a real day for an operator trading at real
speed (real-data paper or live). A sim fleet at ``SIM_SPEED=600`` packs a sim day into 2.4 wall minutes, so no cap
meant for a real day lasts a wall day against it.

    .venv/bin/python bench/client_signal_rate.py [--ticks 864]

Not imported by the client: it needs ``surfaces/``, which the client never imports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def measure(ticks: int) -> dict[str, dict[str, object]]:
    from client.config import ClientConfig
    from client.pricing import UnsupportedInstrument, cost_cents
    from client.sizing import size
    from shared.records import Signal, parse_record
    from surfaces.replay import STEPS, FleetReplay

    lt_machinery = {"llm_offline_slope": 3.0, "llm_offline_confidence": 0.6}
    with tempfile.TemporaryDirectory() as folder:
        log_dir = Path(folder) / "logs"
        fleet = FleetReplay(log_dir, overrides={"kalshi_lt": lt_machinery})
        seen: dict[str, int] = defaultdict(int)
        per_day: dict[str, Counter[int]] = defaultdict(Counter)
        rows: dict[str, list[dict[str, object]]] = defaultdict(list)
        for tick in range(ticks):
            fleet.tick()
            for surface, member in fleet.members.items():
                path = log_dir / surface / "signals.jsonl"
                if not path.exists():
                    continue
                lines = path.read_text().splitlines()
                day = int((tick + 1) * member.step.total_seconds() // 86_400)
                for line in lines[seen[surface]:]:
                    data = json.loads(line)
                    per_day[surface][day] += 1
                    rows[surface].append(data | {"_day": day})
                seen[surface] = len(lines)
        fleet.close()
    out: dict[str, dict[str, object]] = {}
    for surface, step in STEPS.items():
        days_covered = max(1, int(ticks * step.total_seconds() // 86_400))
        counts = [per_day[surface].get(d, 0) for d in range(days_covered)]
        unit_costs = []
        fractions = []
        unpriced = Counter[str]()
        # The client's default rule and caps on a $1,000 account (cash not binding): traded or why not, and the
        # stake each sim day would commit.
        rule = ClientConfig().sizing
        verdicts: Counter[str] = Counter()
        staked_by_day: Counter[int] = Counter()
        for data in rows[surface]:
            signal = parse_record(Signal, {k: v for k, v in data.items() if k != "_day"})
            try:
                decision = size(rule, signal, equity_cents=100_000, staked_today_cents=staked_by_day[data["_day"]],
                                cash_cents=10_000_000, usd_quote_rate=Decimal("150") if "JPY" in signal.instrument
                                and not signal.instrument.startswith("USD") else None)
                verdicts["traded" if decision.quantity else decision.skip] += 1
                staked_by_day[data["_day"]] += decision.stake_cents if decision.quantity else 0
            except UnsupportedInstrument:
                verdicts["unsupported"] += 1
            price = Decimal(str(data["limit_price"]))
            one = 100 if surface.startswith("kalshi") else 1
            fractions.append(float(data.get("size_fraction", 0)))
            try:
                unit_costs.append(cost_cents(surface, str(data["instrument"]), price, one) / 100)
            except UnsupportedInstrument:  # a cross: priced only with the USD_<quote> rate beside it
                unpriced[str(data["instrument"])] += 1
        out[surface] = {
            "sim_days": days_covered,
            "signals": len(rows[surface]),
            "per_day_mean": round(statistics.fmean(counts), 1) if counts else 0,
            "per_day_max": max(counts) if counts else 0,
            "one_unit_usd_median": round(statistics.median(unit_costs), 2) if unit_costs else None,
            "one_unit_usd_p90": round(_pct(unit_costs, 0.9), 2) if unit_costs else None,
            "one_unit_usd_max": round(max(unit_costs), 2) if unit_costs else None,
            "size_fraction_median": round(statistics.median(fractions), 4) if fractions else None,
            "size_fraction_p10": round(_pct(fractions, 0.1), 4) if fractions else None,
            "crosses": dict(unpriced),
            "default_rule": dict(verdicts),
            "default_stake_usd_per_day_max": round(max(staked_by_day.values(), default=0) / 100, 2),
            "default_stake_usd_per_day_mean": round(sum(staked_by_day.values()) / 100 / days_covered, 2),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=864, help="kalshi_st ticks (288 = one sim day)")
    args = parser.parse_args()
    for surface, row in measure(args.ticks).items():
        print(surface, json.dumps(row, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
