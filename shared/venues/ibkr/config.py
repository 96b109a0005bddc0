"""Frozen IBKR adapter settings: the local gateway (ibeam) URL, account, TLS verification and pacing."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import SurfaceSettings

DEFAULT_SYMBOLS: tuple[str, ...] = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "SPY", "QQQ")


@dataclass(frozen=True, slots=True)
class IbkrConfig:
    """Everything the IBKR adapter needs; build it with :meth:`from_settings`."""

    base_url: str  # gateway URL + /v1/api
    account_id: str
    verify_tls: bool = False  # the gateway ships a self-signed certificate
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    timeout_s: float = 15.0
    requests_per_second: float = 10.0  # the CP Gateway's documented pacing limit
    snapshot_polls: int = 4  # the first snapshot call is a pre-flight that may return no fields
    snapshot_poll_interval_s: float = 0.5
    max_order_replies: int = 5  # order-reply questions confirmed before giving up
    tickle_interval_s: float = 60.0
    resend_attempts: int = 1

    @classmethod
    def from_settings(cls, settings: SurfaceSettings, *, symbols: tuple[str, ...] = DEFAULT_SYMBOLS) -> IbkrConfig:
        """Read ``IBKR_GATEWAY_URL``, ``IBKR_ACCOUNT_ID`` and ``IBKR_VERIFY_TLS`` from surface settings."""
        if not settings.ibkr_account_id:
            raise ValueError("IBKR_ACCOUNT_ID is required for the IBKR venue")
        base = settings.ibkr_gateway_url.rstrip("/")
        if not base.endswith("/v1/api"):
            base += "/v1/api"
        return cls(
            base_url=base, account_id=settings.ibkr_account_id, verify_tls=settings.ibkr_verify_tls, symbols=symbols
        )
