"""The USD rate of an FX pair as a venue quotes it now: what converts a cross's P&L or a quote currency to USD.

The arithmetic is ``shared.money.fx``; this module only decides which rate to read from a venue, so the surface that
sizes a position and the resolver that values its exit read the same one.
"""

from __future__ import annotations

from decimal import Decimal

from shared.venues.base import Venue, VenueError


def usd_rate(venue: Venue, pair: str) -> Decimal | None:
    """The pair's mid now, else its last hourly close (FX is quoteless over the weekend); None if neither."""
    try:
        mid = venue.quote(pair).mid
    except VenueError:
        mid = None
    if mid is not None and mid > 0:
        return mid
    try:
        candles = venue.candles(pair, 3600, 1)
    except VenueError:
        return None
    return candles[-1].close if candles and candles[-1].close > 0 else None
