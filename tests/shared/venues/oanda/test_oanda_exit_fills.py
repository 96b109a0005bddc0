"""OANDA fills carry what the resolver books an exit from: the trade they opened or closed, OANDA's realized P&L
and its half-spread cost (recorded v20 ORDER_FILL transactions)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import respx

from shared.venues.oanda.execution import OandaVenue


def test_an_entry_and_its_close_name_the_same_trade(venue: OandaVenue, mock: respx.MockRouter,
                                                    payload: Callable[[str], Any]) -> None:
    mock.get("/transactions").mock(return_value=httpx.Response(200, json=payload("transaction_pages")))
    mock.get("/transactions/idrange").mock(return_value=httpx.Response(200, json=payload("transactions_page")))
    entry, exit_fill = venue.fills(datetime(2026, 3, 1, tzinfo=UTC))
    assert (entry.intent, entry.position_id, entry.realized_pnl_cents) == ("open", "6357", None)
    assert (exit_fill.intent, exit_fill.position_id, exit_fill.realized_pnl_cents) == ("close", "6357", 750)
    assert entry.spread_cost_cents == exit_fill.spread_cost_cents == 65  # halfSpreadCost 0.65 USD each way
