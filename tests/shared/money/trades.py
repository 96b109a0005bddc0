"""One trade-state maker for the ledger and risk tests: a kalshi_st weather trade whose ids derive from ``sig``."""

from __future__ import annotations

from typing import Any

from shared.ids import derive_id
from shared.records import Trade


def trade(sig: str, status: str, **kw: Any) -> Trade:
    """A state of the trade for signal ``sig`` (1,000 centi-contracts, 400c), with ``kw`` overriding any field."""
    base: dict[str, Any] = {
        "id": derive_id("trade", sig),
        "signal_id": sig,
        "client_order_id": derive_id("coid", sig),
        "status": status,
        "surface": "kalshi_st",
        "venue": "sim",
        "instrument": f"MKT-{sig}",
        "side": "yes",
        "category": "weather",
        "underlying": f"EVT-{sig}",
        "count": 1_000,
        "cost_cents": 400,
    }
    base.update(kw)
    return Trade(**base)
