"""The USD rate a surface and the resolver read from a venue: the mid, else the last hourly close, else None."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.venues.base import Candle, NotFoundError, Quote
from shared.venues.rates import usd_rate

NOW = datetime(2025, 3, 3, 12, tzinfo=UTC)


class FakeVenue:
    name = "fake"

    def __init__(self, bid: str | None, ask: str | None, close: str | None, quote_fails: bool = False) -> None:
        self.bid, self.ask, self.close, self.quote_fails = bid, ask, close, quote_fails

    def quote(self, symbol: str) -> Quote:
        if self.quote_fails:
            raise NotFoundError(self.name, "no quote")
        return Quote(symbol, NOW, Decimal(self.bid) if self.bid else None, Decimal(self.ask) if self.ask else None)

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        if self.close is None:
            return []
        price = Decimal(self.close)
        return [Candle(symbol, NOW, granularity_s, price, price, price, price)]


def rate(venue: Any) -> Decimal | None:
    return usd_rate(venue, "USD_JPY")


def test_the_mid_when_quoted() -> None:
    assert rate(FakeVenue("150.00", "150.02", "149.00")) == Decimal("150.01")


def test_the_last_close_over_the_weekend() -> None:
    assert rate(FakeVenue(None, None, "149.50")) == Decimal("149.50")
    assert rate(FakeVenue("1", "1", "149.50", quote_fails=True)) == Decimal("149.50")


def test_none_when_the_venue_has_neither() -> None:
    assert rate(FakeVenue(None, None, None)) is None
