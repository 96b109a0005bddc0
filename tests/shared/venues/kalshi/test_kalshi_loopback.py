"""End to end over a real loopback socket: KALSHI_BASE_URL points at a local server that verifies each signature."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.clock import SteppedClock
from shared.config import SurfaceSettings
from shared.venues.base import AuthError
from shared.venues.kalshi.execution import KalshiVenue

BALANCE = {"balance": 5000, "portfolio_value": 0, "updated_ts": 1766844000}


@pytest.fixture
def server(rsa_key: rsa.RSAPrivateKey) -> Iterator[tuple[str, list[str]]]:
    public = rsa_key.public_key()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            message = (self.headers["KALSHI-ACCESS-TIMESTAMP"] + "GET" + self.path.split("?")[0]).encode()
            try:
                public.verify(
                    base64.b64decode(self.headers["KALSHI-ACCESS-SIGNATURE"]),
                    message,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                    hashes.SHA256(),
                )
                status, body = 200, BALANCE
            except InvalidSignature:
                status, body = 401, {"code": "authentication_error", "message": "bad signature"}
            seen.append(f"{status} {self.path}")
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/trade-api/v2", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_signed_request_over_loopback(server: tuple[str, list[str]], key_path: Path, tmp_path: Path) -> None:
    base_url, seen = server
    settings = SurfaceSettings(
        trading_mode="live", venue="kalshi", kalshi_base_url=base_url, kalshi_api_key_id="key-1",
        kalshi_private_key_path=key_path,
    )
    venue = KalshiVenue.from_settings(settings, SteppedClock(datetime(2025, 12, 27, tzinfo=UTC)))
    assert venue.balance().cash_cents == 5000
    assert seen == ["200 /trade-api/v2/portfolio/balance"]

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = tmp_path / "wrong.key"
    wrong.write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    impostor = KalshiVenue.from_settings(settings.model_copy(update={"kalshi_private_key_path": wrong}))
    with pytest.raises(AuthError, match="bad signature"):
        impostor.balance()
