"""Weather stations behind Kalshi's daily-high markets: coordinates, CLI product location and standard-time offset.

The NWS climate day is local *standard* time all year, so day windows use a fixed UTC offset, not the IANA zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone


@dataclass(frozen=True, slots=True)
class Station:
    """One settlement station."""

    icao: str  # KNYC
    cli_location: str  # NYC: the CLI product location code (CLINYC)
    latitude: float
    longitude: float
    standard_offset_hours: int  # UTC offset of local standard time (-5 for New York)

    @property
    def standard_tz(self) -> timezone:
        """Local standard time as a fixed-offset zone."""
        return timezone(timedelta(hours=self.standard_offset_hours))

    def climate_day(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants [start, end) of ``day`` in local standard time."""
        start = datetime(day.year, day.month, day.day, tzinfo=self.standard_tz).astimezone(UTC)
        return start, start + timedelta(days=1)


STATIONS: dict[str, Station] = {
    s.icao: s
    for s in (
        Station("KNYC", "NYC", 40.7794, -73.9692, -5),  # Central Park
        Station("KMDW", "MDW", 41.7842, -87.7553, -6),  # Chicago Midway
        Station("KLAX", "LAX", 33.9382, -118.3866, -8),
        Station("KMIA", "MIA", 25.7881, -80.3169, -5),
        Station("KAUS", "AUS", 30.1831, -97.6799, -6),
        Station("KPHL", "PHL", 39.8733, -75.2268, -5),
        Station("KDEN", "DEN", 39.8466, -104.6562, -7),
        Station("KHOU", "HOU", 29.6375, -95.2824, -6),  # Houston Hobby
    )
}


def station(icao: str) -> Station:
    """Look up a station by ICAO id; KeyError names the known ones."""
    try:
        return STATIONS[icao.upper()]
    except KeyError:
        raise KeyError(f"unknown station {icao!r}; known: {', '.join(sorted(STATIONS))}") from None
