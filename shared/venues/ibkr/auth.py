"""The IBKR gateway session: ibeam logs in; tbot checks the brokerage session and keeps it alive with /tickle.

There is no credential in tbot's requests: the gateway (run by ibeam on localhost) holds the session. What tbot must
do is confirm that the brokerage session is authenticated and not competing before trading, and POST /tickle about
once a minute so that the gateway does not time the session out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from shared.http import VenueHttp
from shared.venues.base import AuthError
from shared.venues.ibkr import schemas as w


class GatewaySession:
    """Brokerage-session checks and keep-alive for one gateway."""

    def __init__(
        self, http: VenueHttp, *, tickle_interval_s: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._http = http
        self._interval = tickle_interval_s
        self._monotonic = monotonic
        self._last_ok: float | None = None

    def status(self) -> w.WireAuthStatus:
        """POST /iserver/auth/status."""
        body = self._http.request("POST", "/iserver/auth/status", bucket="gw")
        return w.parse(w.WireAuthStatus, body, "POST /iserver/auth/status")

    def tickle(self) -> None:
        """POST /tickle: keeps the gateway session from timing out."""
        self._http.request("POST", "/tickle", bucket="gw")

    def ensure(self) -> None:
        """Tickle when due and confirm the brokerage session; AuthError if it is not usable."""
        now = self._monotonic()
        if self._last_ok is not None and now - self._last_ok < self._interval:
            return
        self.tickle()
        status = self.status()
        if status.competing:
            raise AuthError("ibkr", "brokerage session is competing with another login (one session per username)")
        if not (status.authenticated and status.connected):
            detail = status.fail or status.message or "not authenticated"
            raise AuthError("ibkr", f"gateway brokerage session unavailable: {detail}; is ibeam running?")
        self._last_ok = now

    def invalidate(self) -> None:
        """Force a fresh check on the next call (after a 401 from the gateway)."""
        self._last_ok = None
