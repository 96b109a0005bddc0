"""The one order vocabulary: ``side`` says what is held, ``intent`` whether an order opens or closes it."""

from __future__ import annotations

from typing import get_args

from shared.venues.base import OrderIntent, OrderSide, direction


def test_direction_comes_from_side_and_intent_alone() -> None:
    sides, intents = get_args(OrderSide), get_args(OrderIntent)
    table = {(side, intent): direction(side, intent) for side in sides for intent in intents}
    assert table == {
        ("yes", "open"): "buy", ("yes", "close"): "sell",
        ("no", "open"): "buy", ("no", "close"): "sell",  # a NO contract is bought to open and sold to close
        ("long", "open"): "buy", ("long", "close"): "sell",
        ("short", "open"): "sell", ("short", "close"): "buy",
    }
