"""A sim session replayed twice with one seed gives identical records; another seed gives other prices."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.clock import SteppedClock
from shared.venues.base import OrderRequest
from shared.venues.sim import build_sim_venue


def _session(log_dir: Path, seed: int) -> tuple[list[Any], list[dict[str, Any]]]:
    """Ten minutes of sim time on every surface: quote everything, trade the first few instruments."""
    observed: list[Any] = []
    starts = {"kalshi_st": datetime(2025, 12, 5, 15, 0, tzinfo=UTC), "kalshi_lt": datetime(2025, 7, 30, 15, tzinfo=UTC),
              "fx": datetime(2025, 7, 28, 9, 0, tzinfo=UTC), "stocks": datetime(2025, 4, 1, 14, 0, tzinfo=UTC)}
    for surface, start in starts.items():
        clock = SteppedClock(start)
        venue = build_sim_venue(surface, clock, log_dir, seed, 1_000_000)
        for step in range(5):
            for instrument in venue.instruments()[:12]:
                observed.append(venue.quote(instrument.symbol))
                observed.append(venue.orderbook(instrument.symbol, 5))
            for k, instrument in enumerate(venue.instruments()[:3]):
                side = ("yes" if k % 2 else "no") if instrument.kind == "binary" else ("long" if k % 2 else "short")
                limit = Decimal("0.99") if instrument.kind == "binary" else None
                observed.append(venue.place_order(OrderRequest(f"{surface}-{step}-{k}", instrument.symbol, side,
                                                               "open", 100, limit)))
            clock.advance(timedelta(minutes=2))
        observed.extend([venue.positions(), venue.fills(), venue.settlements(), venue.balance()])
    records = []
    for surface in starts:
        for line in (log_dir / "sim" / surface / "orders.jsonl").read_text().splitlines():
            record = json.loads(line)
            record.pop("ts")  # the bus's wall-clock append time
            records.append(record)
    return observed, records


def test_same_seed_same_records(tmp_path: Path) -> None:
    first_observed, first_records = _session(tmp_path / "a", 11)
    second_observed, second_records = _session(tmp_path / "b", 11)
    assert first_records and sum(r["status"] == "filled" for r in first_records) >= 20
    assert first_records == second_records
    assert first_observed == second_observed


def test_other_seed_other_prices(tmp_path: Path) -> None:
    observed_a, _ = _session(tmp_path / "a", 11)
    observed_b, _ = _session(tmp_path / "b", 12)
    assert observed_a != observed_b
