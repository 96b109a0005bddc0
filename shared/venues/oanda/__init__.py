"""Live OANDA v20 REST adapter (spec 3.0.25): ``OandaVenue.from_settings(settings)``."""

from shared.venues.oanda.execution import OandaVenue

__all__ = ["OandaVenue"]
