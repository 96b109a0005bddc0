"""Frozen Kalshi adapter settings: environment base URLs, credentials, order endpoint and rate-limit tier."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shared.config import SurfaceSettings

BASE_URLS: dict[str, str] = {
    # The hosts of spec 3.15.0's era; Kalshi's newer external-api.* hosts serve the same API.
    "prod": "https://api.elections.kalshi.com/trade-api/v2",
    "demo": "https://demo-api.kalshi.co/trade-api/v2",
}

# Requests per second per bucket by access tier (default cost 10 tokens of a 200/100 tokens/s Basic bucket).
TIERS: dict[str, tuple[float, float]] = {
    "basic": (20.0, 10.0),
    "advanced": (30.0, 30.0),
    "premier": (100.0, 100.0),
    "paragon": (200.0, 200.0),
    "prime": (400.0, 400.0),
}

OrderApi = Literal["v1", "v2"]


@dataclass(frozen=True, slots=True)
class KalshiConfig:
    """Everything the Kalshi adapter needs; build it with :meth:`from_settings`."""

    base_url: str
    api_key_id: str
    private_key_path: Path
    env: Literal["demo", "prod"] = "demo"
    order_api: OrderApi = "v1"  # "v2" = POST /portfolio/events/orders (accounts that have it)
    tier: str = "basic"
    timeout_s: float = 10.0
    series: tuple[str, ...] = ()  # restrict instruments() to these series (None = every market)
    order_lookback_days: int = 7  # how far back order_by_client_id searches
    ws: bool = False  # KALSHI_WS=on: order books and quotes from the WebSocket while it is live (ws.py)
    ws_url: str = ""  # KALSHI_WS_URL, else the base URL's host + /trade-api/ws/v2
    ws_stale_s: float = 5.0  # KALSHI_WS_STALE_SECONDS: a live book needs the socket to have answered this recently

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"unknown Kalshi tier {self.tier!r}; one of {sorted(TIERS)}")

    @property
    def read_rate(self) -> float:
        """Read-bucket requests per second."""
        return TIERS[self.tier][0]

    @property
    def write_rate(self) -> float:
        """Write-bucket requests per second (order place, amend, cancel)."""
        return TIERS[self.tier][1]

    @classmethod
    def from_settings(
        cls, settings: SurfaceSettings, *, order_api: OrderApi = "v1", series: tuple[str, ...] = ()
    ) -> KalshiConfig:
        """Read env, base URL (``KALSHI_BASE_URL`` overrides demo/prod) and credentials from surface settings."""
        if settings.kalshi_api_key_id is None or settings.kalshi_private_key_path is None:
            raise ValueError("KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH are required for the Kalshi venue")
        base_url = (settings.kalshi_base_url or BASE_URLS[settings.kalshi_env]).rstrip("/")
        return cls(
            base_url=base_url,
            api_key_id=settings.kalshi_api_key_id.get_secret_value(),
            private_key_path=settings.kalshi_private_key_path,
            env=settings.kalshi_env,
            order_api=order_api,
            series=series,
            ws=settings.kalshi_ws == "on",
            ws_url=settings.kalshi_ws_url or ws_url_for(base_url),
            ws_stale_s=settings.kalshi_ws_stale_seconds,
        )


def ws_url_for(base_url: str) -> str:
    """The WebSocket URL beside a REST base URL: same host, ``/trade-api/ws/v2`` (Kalshi serves both from the demo
    and prod hosts; a loopback ``http://`` test server gets ``ws://``)."""
    scheme, _, rest = base_url.rstrip("/").partition("://")
    host = rest.split("/", 1)[0]
    return f"{'wss' if scheme == 'https' else 'ws'}://{host}/trade-api/ws/v2"
