"""Live IBKR Client Portal Web API adapter via the ibeam gateway (spec 2.29.0): ``IbkrVenue.from_settings``."""

from shared.venues.ibkr.execution import IbkrVenue

__all__ = ["IbkrVenue"]
