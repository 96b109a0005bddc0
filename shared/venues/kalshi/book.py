"""A local Kalshi order book kept from the WebSocket's ``orderbook_snapshot`` and ``orderbook_delta`` messages.

Kalshi books hold bids only: YES bids and NO bids, each a price level in dollars with a size in contracts. A YES
ask at ``p`` is a NO bid at ``1 − p``. Levels are kept exactly: prices as ``Decimal``, sizes as integer
centi-contracts (the adapter's units), so a book rebuilt from snapshot + deltas is equal, level for level, to the
venue's.

The book knows nothing about sequence numbers or sockets (``ws.py`` checks those); it refuses a delta that would take
a level below zero, because that can only mean a missed message, and a book that missed one must not be served.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from shared.venues.base import BookLevel, OrderBook, Quote

BookSide = Literal["yes", "no"]
ONE = Decimal(1)


class BookInconsistent(ValueError):
    """A delta does not fit the book (a level would go negative): the book has missed a message."""


class LocalBook:
    """One market's YES and NO bid levels: ``{price: centi-contracts}`` per side, no empty level kept."""

    __slots__ = ("no", "symbol", "yes")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.yes: dict[Decimal, int] = {}
        self.no: dict[Decimal, int] = {}

    def replace(self, yes: Iterable[tuple[Decimal, int]], no: Iterable[tuple[Decimal, int]]) -> None:
        """Load a snapshot: every level of both sides, replacing what was there."""
        self.yes = {price: size for price, size in yes if size > 0}
        self.no = {price: size for price, size in no if size > 0}

    def apply(self, side: BookSide, price: Decimal, delta: int) -> None:
        """Add ``delta`` centi-contracts at ``price`` on ``side`` (negative: removed); a level at zero is dropped."""
        levels = self.yes if side == "yes" else self.no
        size = levels.get(price, 0) + delta
        if size < 0:
            raise BookInconsistent(f"{self.symbol}: {side} {price} would hold {size} centi-contracts")
        if size == 0:
            levels.pop(price, None)
        else:
            levels[price] = size

    def levels(self) -> tuple[tuple[tuple[Decimal, int], ...], tuple[tuple[Decimal, int], ...]]:
        """Both sides as ``((price, size), ...)``, best (highest) bid first: the form tests compare."""
        return _best_first(self.yes), _best_first(self.no)

    def orderbook(self, at: datetime, depth: int) -> OrderBook:
        """Our ``OrderBook``: YES bids, and YES asks derived from NO bids (``1 − price``), best first."""
        yes, no = self.levels()
        return OrderBook(
            symbol=self.symbol,
            at=at,
            bids=tuple(BookLevel(price, size) for price, size in yes[:depth]),
            asks=tuple(BookLevel(ONE - price, size) for price, size in no[:depth]),
        )

    def quote(self, at: datetime, last: Decimal | None) -> Quote:
        """Top of book as a ``Quote`` (an empty side has no price and no size, as on REST)."""
        best_yes = max(self.yes) if self.yes else None
        best_no = max(self.no) if self.no else None
        return Quote(
            symbol=self.symbol,
            at=at,
            bid=best_yes,
            ask=ONE - best_no if best_no is not None else None,
            bid_size=self.yes[best_yes] if best_yes is not None else None,
            ask_size=self.no[best_no] if best_no is not None else None,
            last=last,
        )


def _best_first(levels: dict[Decimal, int]) -> tuple[tuple[Decimal, int], ...]:
    return tuple(sorted(levels.items(), key=lambda level: level[0], reverse=True))


__all__ = ["BookInconsistent", "BookSide", "LocalBook"]
