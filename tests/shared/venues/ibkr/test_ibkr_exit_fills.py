"""IBKR executions name the position they belong to, so the resolver can book a bracket child's fill as the exit:
the entry by its own cOID, a stop/target child by its parent's (recorded executions, children derived from them)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import respx

from shared.venues.base import direction
from shared.venues.ibkr.execution import IbkrVenue

COID = "01JTESTCOID0000000000000000"


def test_bracket_children_close_their_parents_position(venue: IbkrVenue, mock: respx.MockRouter,
                                                       payload: Callable[[str], Any], session_ok: None) -> None:
    recorded = payload("trades")
    take_profit = copy.deepcopy(recorded[0])  # the long's target child sells it
    take_profit.update(execution_id="0000e0d5.65e1b4f2.01.03", side="S", order_ref=f"{COID}-tp", size=6.0,
                       price="191.00", trade_time_r=recorded[0]["trade_time_r"] + 3_600_000, order_id=1234567891)
    short_stop = copy.deepcopy(recorded[0])  # another bracket's stop buys back a short
    short_stop.update(execution_id="0000e0d5.65e1b4f2.01.04", side="B", order_ref="01JOTHERSHORT000000000000-sl",
                      size=5.0, price="415.00", symbol="MSFT", trade_time_r=recorded[0]["trade_time_r"] + 7_200_000,
                      order_id=1234567892)
    mock.get("/iserver/account/trades").mock(return_value=httpx.Response(200, json=[*recorded, take_profit,
                                                                                    short_stop]))
    entry, _second_part, target, stop = venue.fills(datetime(2026, 3, 2, tzinfo=UTC))
    assert (entry.intent, entry.position_id) == ("open", COID)
    assert (target.side, target.intent, target.position_id, target.price) == ("long", "close", COID, Decimal("191.00"))
    assert (stop.side, stop.intent, stop.position_id) == ("short", "close", "01JOTHERSHORT000000000000")
    assert direction(target.side, target.intent) == "sell" and direction(stop.side, stop.intent) == "buy"
