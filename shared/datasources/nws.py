"""NOAA NWS api.weather.gov: station observations and the Daily Climate Report (the weather markets' settlement).

The API needs no key but requires a User-Agent that identifies the application (ideally with contact details).
Over-limit errors come from the CDN and are retried by status code with backoff (typically clear within 5 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from shared.datasources.cli_report import CliParseError, CliReport, parse_cli
from shared.datasources.stations import station as lookup_station
from shared.http import MalformedResponseError, RetryPolicy, VenueHttp

BASE_URL = "https://api.weather.gov"
DEFAULT_USER_AGENT = "(tbot weather research, ops@tbot.invalid)"
SOURCE = "nws"


@dataclass(frozen=True, slots=True)
class Observation:
    """One station observation, temperature in °F (None when the station reported no value)."""

    at: datetime
    temperature_f: float | None
    quality: str = ""


def c_to_f(celsius: float) -> float:
    """Degrees Celsius to Fahrenheit."""
    return celsius * 9 / 5 + 32


def _temperature_f(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "unitCode" not in value:
        raise MalformedResponseError(SOURCE, f"{where}: temperature is not a quantity object")
    number = value.get("value")
    if number is None:
        return None
    if not isinstance(number, int | float | Decimal):
        raise MalformedResponseError(SOURCE, f"{where}: temperature value {number!r} is not a number")
    unit = value["unitCode"]
    if unit == "wmoUnit:degC":
        return c_to_f(float(number))
    if unit == "wmoUnit:degF":
        return float(number)
    raise MalformedResponseError(SOURCE, f"{where}: unexpected temperature unit {unit!r}")


class NwsClient:
    """Station observations and final CLI daily highs; implements ``ClimateReport``."""

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        base_url: str = BASE_URL,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        max_products: int = 12,
        sleep: Any = None,
    ) -> None:
        if not user_agent.strip():
            raise ValueError("api.weather.gov requires a User-Agent identifying the application")
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self._http = VenueHttp(
            SOURCE,
            base_url,
            headers={"User-Agent": user_agent, "Accept": "application/geo+json"},
            timeout_s=15.0,
            retry=retry or RetryPolicy(attempts=4, base_delay_s=2.5, max_delay_s=10.0),
            transport=transport,
            **extra,
        )
        self._max_products = max_products
        self._texts: dict[str, str] = {}  # product id -> text; products never change once issued

    def close(self) -> None:
        """Release connections."""
        self._http.close()

    def observations(self, station: str, start: datetime, end: datetime) -> list[Observation]:
        """Observations at ``station`` in [start, end], oldest first."""
        params = {"start": start.isoformat(), "end": end.isoformat()}
        body = self._http.request("GET", f"/stations/{quote(station, safe='')}/observations", params=params)
        features = body.get("features") if isinstance(body, dict) else None
        if not isinstance(features, list):
            raise MalformedResponseError(SOURCE, "observations: no features list")
        out: list[Observation] = []
        for index, feature in enumerate(features):
            props = feature.get("properties") if isinstance(feature, dict) else None
            if not isinstance(props, dict) or not isinstance(props.get("timestamp"), str):
                raise MalformedResponseError(SOURCE, f"observations[{index}]: no properties.timestamp")
            temperature = props.get("temperature")
            quality = temperature.get("qualityControl", "") if isinstance(temperature, dict) else ""
            out.append(
                Observation(
                    at=datetime.fromisoformat(props["timestamp"]),
                    temperature_f=_temperature_f(temperature, f"observations[{index}]"),
                    quality=str(quality or ""),
                )
            )
        return sorted(out, key=lambda o: o.at)

    def observed_high(self, station: str, day: date) -> float | None:
        """The highest observed temperature (°F) in ``day``'s local-standard-time climate day; None if no data.

        An early indication only: settlement uses the CLI report (:meth:`daily_high`), which can differ.
        """
        start, end = lookup_station(station).climate_day(day)
        values = [
            o.temperature_f
            for o in self.observations(station, start, end)
            if o.temperature_f is not None and start <= o.at < end and o.quality not in ("X", "Q")
        ]
        return max(values) if values else None

    def cli_reports(self, station: str) -> list[CliReport]:
        """The recent CLI reports for ``station`` (the NWS keeps a few days), newest first; unparseable ones skipped."""
        location = lookup_station(station).cli_location
        body = self._http.request("GET", f"/products/types/CLI/locations/{quote(location, safe='')}")
        graph = body.get("@graph") if isinstance(body, dict) else None
        if not isinstance(graph, list):
            raise MalformedResponseError(SOURCE, "CLI product list: no @graph")
        products = sorted(
            (p for p in graph if isinstance(p, dict) and isinstance(p.get("id"), str)),
            key=lambda p: str(p.get("issuanceTime", "")),
            reverse=True,
        )[: self._max_products]
        reports: list[CliReport] = []
        for product in products:
            text = self._product_text(product["id"])
            issued = product.get("issuanceTime")
            try:
                reports.append(parse_cli(text, datetime.fromisoformat(issued) if isinstance(issued, str) else None))
            except CliParseError:
                continue  # e.g. a correction notice without the table; the next product carries the data
        return reports

    def _product_text(self, product_id: str) -> str:
        if product_id not in self._texts:
            body = self._http.request("GET", f"/products/{quote(product_id, safe='')}")
            text = body.get("productText") if isinstance(body, dict) else None
            if not isinstance(text, str):
                raise MalformedResponseError(SOURCE, f"product {product_id}: no productText")
            self._texts[product_id] = text
        return self._texts[product_id]

    def daily_high(self, station: str, day: date) -> int | None:
        """The final CLI maximum for ``day`` (whole °F); None until the next-morning report is out."""
        finals = [r for r in self.cli_reports(station) if r.day == day and r.final]
        if not finals:
            return None
        # A corrected report supersedes the earlier one: newest issuance wins (reports are newest first).
        return finals[0].max_f
