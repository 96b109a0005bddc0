"""Live Kalshi Trade API v2 adapter (spec 3.15.0): ``KalshiVenue.from_settings(settings)``."""

from shared.venues.kalshi.execution import KalshiVenue

__all__ = ["KalshiVenue"]
