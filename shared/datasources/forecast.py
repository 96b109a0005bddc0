"""The two weather interfaces the Kalshi weather strategy depends on.

Live implementations live next to this file (``openmeteo.py``, ``nws.py``); the sim venue implements the same
protocols from recorded history. Temperatures are physical quantities, not money, so ``float`` is fine here.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable


@runtime_checkable
class HighTempForecast(Protocol):
    """An ensemble forecast of a station's daily maximum temperature."""

    def daily_high_members(self, station: str, day: date) -> list[float]:
        """The forecast daily high at ``station`` (ICAO id, e.g. ``KNYC``) on local ``day`` in °F, one value per
        ensemble member (31 for the GFS ensemble: control + 30 perturbed members)."""
        ...


@runtime_checkable
class ClimateReport(Protocol):
    """The official settlement source: the NWS Daily Climate Report (CLI product)."""

    def daily_high(self, station: str, day: date) -> int | None:
        """The final CLI maximum temperature at ``station`` for ``day``, whole °F; None while not yet final
        (only the next-morning report counts, never the same-day preliminary one)."""
        ...
