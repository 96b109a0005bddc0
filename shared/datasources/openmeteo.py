"""Open-Meteo GFS ensemble forecasts of a station's daily high: 31 members (control + member01..member30).

Daily highs are taken over the station's climate day in local *standard* time (how the NWS CLI defines the day),
from hourly ``temperature_2m`` requested in °F and in GMT so that the windowing is ours, not the API's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from shared.datasources.stations import station as lookup_station
from shared.http import MalformedResponseError, RetryPolicy, VenueHttp

BASE_URL = "https://ensemble-api.open-meteo.com/v1"
SOURCE = "open-meteo"
MEMBERS = 30  # perturbed members of the GFS ensemble; plus the control run = 31


def member_keys(variable: str = "temperature_2m", members: int = MEMBERS) -> list[str]:
    """``temperature_2m``, ``temperature_2m_member01`` ... ``temperature_2m_member30``."""
    return [variable] + [f"{variable}_member{n:02d}" for n in range(1, members + 1)]


class OpenMeteoEnsemble:
    """GFS ensemble daily-high forecasts; implements ``HighTempForecast``."""

    def __init__(
        self,
        *,
        model: str = "gfs025",
        base_url: str = BASE_URL,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Any = None,
    ) -> None:
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.model = model
        self._http = VenueHttp(
            SOURCE,
            base_url,
            headers={"Accept": "application/json", "User-Agent": "tbot/0.1"},
            timeout_s=20.0,
            retry=retry,
            transport=transport,
            **extra,
        )

    def close(self) -> None:
        """Release connections."""
        self._http.close()

    def hourly(self, station: str, day: date) -> dict[str, Any]:
        """The raw hourly block covering ``day``'s climate day (GMT times, °F)."""
        site = lookup_station(station)
        start, end = site.climate_day(day)
        params = {
            "latitude": site.latitude,
            "longitude": site.longitude,
            "hourly": "temperature_2m",
            "models": self.model,
            "temperature_unit": "fahrenheit",
            "timezone": "GMT",
            "start_date": start.date().isoformat(),
            "end_date": (end - timedelta(seconds=1)).date().isoformat(),
        }
        body = self._http.request("GET", "/ensemble", params=params)
        hourly = body.get("hourly") if isinstance(body, dict) else None
        if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
            raise MalformedResponseError(SOURCE, "ensemble: no hourly.time")
        return hourly

    def daily_high_members(self, station: str, day: date) -> list[float]:
        """One daily high (°F) per ensemble member, control first; members with no data that day are left out."""
        start, end = lookup_station(station).climate_day(day)
        hourly = self.hourly(station, day)
        try:
            times = [datetime.fromisoformat(t).replace(tzinfo=UTC) for t in hourly["time"]]
        except (TypeError, ValueError):
            raise MalformedResponseError(SOURCE, "ensemble: hourly.time holds a non-ISO value") from None
        in_day = [i for i, t in enumerate(times) if start <= t < end]
        if not in_day:
            raise MalformedResponseError(SOURCE, f"ensemble: no hours inside the climate day {day}")
        highs: list[float] = []
        for key in member_keys():
            series = hourly.get(key)
            if series is None:
                continue
            if not isinstance(series, list) or len(series) != len(times):
                raise MalformedResponseError(SOURCE, f"ensemble: {key} does not line up with hourly.time")
            values = [series[i] for i in in_day if series[i] is not None]
            if any(not isinstance(v, int | float | Decimal) for v in values):
                raise MalformedResponseError(SOURCE, f"ensemble: {key} holds a non-number")
            if values:
                highs.append(float(max(values)))
        if not highs:
            raise MalformedResponseError(SOURCE, f"ensemble: no member has data for {station} on {day}")
        return highs
