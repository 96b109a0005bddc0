"""Kalshi request signing: RSA-PSS (SHA-256, MGF1-SHA-256, salt = digest length) over ``ts_ms + METHOD + path``.

The path is the full path from the host (it includes ``/trade-api/v2``) with the query string stripped; the body
and the host are not signed. PSS is randomized, so two signatures of one message differ.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.venues.base import AuthError

VENUE = "kalshi"
WS_PATH = "/trade-api/ws/v2"


def signing_message(timestamp_ms: int, method: str, path: str) -> bytes:
    """The exact bytes Kalshi verifies: ``"1703123456789GET/trade-api/v2/portfolio/orders"``."""
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """Load the RSA private key Kalshi issued (PEM); AuthError if missing or not an RSA key."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise AuthError(VENUE, f"cannot load private key {path}: {type(exc).__name__}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthError(VENUE, f"private key {path} is not an RSA key")
    return key


class KalshiSigner:
    """Produces the three ``KALSHI-ACCESS-*`` headers for one request."""

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey, *, now_ms: Callable[[], int] | None = None) -> None:
        self._key_id = key_id
        self._key = private_key
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)

    def sign(self, message: bytes) -> str:
        """Base64 RSA-PSS signature of ``message``."""
        signature = self._key.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        return base64.b64encode(signature).decode("ascii")

    def headers(self, method: str, path: str) -> dict[str, str]:
        """Headers for ``method path`` signed now (``path`` includes /trade-api/v2; any query is ignored)."""
        timestamp = self._now_ms()
        return {
            "KALSHI-ACCESS-KEY": self._key_id,
            "KALSHI-ACCESS-TIMESTAMP": str(timestamp),
            "KALSHI-ACCESS-SIGNATURE": self.sign(signing_message(timestamp, method, path)),
        }

    def websocket_headers(self) -> dict[str, str]:
        """Headers for the WebSocket handshake (signed over ``GET /trade-api/ws/v2``)."""
        return self.headers("GET", WS_PATH)
