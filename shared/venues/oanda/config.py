"""Frozen OANDA adapter settings: practice/live hosts, token, account and the traded pairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr

from shared.config import SurfaceSettings

BASE_URLS: dict[str, str] = {
    "practice": "https://api-fxpractice.oanda.com/v3",
    "live": "https://api-fxtrade.oanda.com/v3",
}

MAJORS: tuple[str, ...] = ("EUR_USD", "GBP_USD", "USD_JPY", "USD_CHF", "AUD_USD", "USD_CAD", "NZD_USD", "EUR_GBP")


@dataclass(frozen=True, slots=True)
class OandaConfig:
    """Everything the OANDA adapter needs; build it with :meth:`from_settings`."""

    base_url: str
    token: SecretStr = field(repr=False)
    account_id: str
    env: Literal["practice", "live"] = "practice"
    pairs: tuple[str, ...] = MAJORS
    timeout_s: float = 10.0
    # OANDA allows 100 req/s per persistent connection; stay well under it.
    requests_per_second: float = 50.0
    resend_attempts: int = 2  # after a timeout: look up @clientID, then resend at most this many times

    @classmethod
    def from_settings(cls, settings: SurfaceSettings, *, pairs: tuple[str, ...] = MAJORS) -> OandaConfig:
        """Read env, base URL (``OANDA_BASE_URL`` overrides practice/live), token and account."""
        if settings.oanda_api_token is None or not settings.oanda_account_id:
            raise ValueError("OANDA_API_TOKEN and OANDA_ACCOUNT_ID are required for the OANDA venue")
        base = settings.oanda_base_url or BASE_URLS[settings.oanda_env]
        base = base.rstrip("/")
        if not base.endswith("/v3"):
            base += "/v3"  # every v20 path starts with /v3 (the spec's basePath)
        return cls(
            base_url=base,
            token=settings.oanda_api_token,
            account_id=settings.oanda_account_id,
            env=settings.oanda_env,
            pairs=pairs,
        )
