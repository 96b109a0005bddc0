"""A binary market whose book follows a script: the rig for the queue model and the resting-order lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from shared.clock import SteppedClock
from shared.money.fees import KalshiFeeType
from shared.venues.base import BookLevel, Candle
from shared.venues.sim.binary import BinarySimVenue, MarketSpec

START = datetime(2025, 7, 30, 12, 0, tzinfo=UTC)
SYMBOL = "KXTEST-25JUL30-T50"
Book = tuple[list[BookLevel], list[BookLevel]]


def level(cents: int, size: int) -> BookLevel:
    return BookLevel(Decimal(cents) / 100, size)


def flat(bid: int = 40, ask: int = 45, bid_size: int = 50_000, ask_size: int = 50_000) -> Book:
    """A YES book: bids at ``bid`` and one cent below, asks at ``ask`` and one cent above."""
    return ([level(bid, bid_size), level(bid - 1, bid_size)], [level(ask, ask_size), level(ask + 1, ask_size)])


class ScriptedSource:
    """One market open for a day from START; its book at a moment is ``script(now)``."""

    def __init__(self, script: Callable[[datetime], Book], fee_type: KalshiFeeType = "quadratic") -> None:
        self.script = script
        self.spec_ = MarketSpec(
            symbol=SYMBOL, title="test", category="weather", underlying="KXTEST-25JUL30", open_time=START,
            close_time=START + timedelta(hours=12), settle_time=START + timedelta(hours=13), result="yes",
            fee_type=fee_type,
        )

    def markets(self, now: datetime) -> list[MarketSpec]:
        return [self.spec_]

    def spec(self, symbol: str) -> MarketSpec | None:
        return self.spec_ if symbol == SYMBOL else None

    def book(self, spec: MarketSpec, now: datetime) -> Book:
        return self.script(now)

    def candles(self, symbol: str, granularity_s: int, count: int, now: datetime) -> list[Candle] | None:
        return None


def scripted_venue(log_dir: Path, script: Callable[[datetime], Book], *, fee_type: KalshiFeeType = "quadratic",
                   seed: int = 7, clock: SteppedClock | None = None) -> tuple[BinarySimVenue, SteppedClock]:
    clock = clock or SteppedClock(START)
    venue = BinarySimVenue("kalshi_st", clock, log_dir / "sim" / "kalshi_st", seed, 1_000_000,
                           [ScriptedSource(script, fee_type)])
    return venue, clock
