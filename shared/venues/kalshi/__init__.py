"""Live Kalshi Trade API v2 adapter (spec 3.15.0): ``KalshiVenue.from_settings(settings)``; ticker grammar in
``tickers``.

The adapter is imported on first use, so code that only reads tickers (the sims, the strategies) does not load the
HTTP and signing stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.venues.kalshi.execution import KalshiVenue

__all__ = ["KalshiVenue"]


def __getattr__(name: str) -> Any:
    if name == "KalshiVenue":
        from shared.venues.kalshi.execution import KalshiVenue

        return KalshiVenue
    raise AttributeError(name)
