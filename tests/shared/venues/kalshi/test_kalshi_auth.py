"""Kalshi signing: the exact message, the headers, and signatures that verify with the public key."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
import respx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.venues.base import AuthError
from shared.venues.kalshi.auth import KalshiSigner, load_private_key, signing_message
from shared.venues.kalshi.execution import KalshiVenue

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def _verify(key: rsa.RSAPrivateKey, signature_b64: str, message: bytes) -> None:
    key.public_key().verify(base64.b64decode(signature_b64), message, PSS, hashes.SHA256())


def test_signing_message_strips_query_and_keeps_prefix() -> None:
    assert signing_message(1703123456789, "get", "/trade-api/v2/portfolio/orders?limit=5") == (
        b"1703123456789GET/trade-api/v2/portfolio/orders"
    )
    assert signing_message(1703123456789, "GET", "/trade-api/ws/v2") == b"1703123456789GET/trade-api/ws/v2"


def test_headers_verify_with_public_key_and_are_randomized(rsa_key: rsa.RSAPrivateKey) -> None:
    signer = KalshiSigner("key-id", rsa_key, now_ms=lambda: 1703123456789)
    first = signer.headers("POST", "/trade-api/v2/portfolio/orders")
    second = signer.headers("POST", "/trade-api/v2/portfolio/orders")
    assert first["KALSHI-ACCESS-KEY"] == "key-id"
    assert first["KALSHI-ACCESS-TIMESTAMP"] == "1703123456789"
    message = b"1703123456789POST/trade-api/v2/portfolio/orders"
    _verify(rsa_key, first["KALSHI-ACCESS-SIGNATURE"], message)
    _verify(rsa_key, second["KALSHI-ACCESS-SIGNATURE"], message)
    assert len(base64.b64decode(first["KALSHI-ACCESS-SIGNATURE"])) == 256
    assert first["KALSHI-ACCESS-SIGNATURE"] != second["KALSHI-ACCESS-SIGNATURE"]  # PSS is randomized
    with pytest.raises(InvalidSignature):
        _verify(rsa_key, first["KALSHI-ACCESS-SIGNATURE"], b"1703123456789GET/trade-api/v2/portfolio/orders")


def test_websocket_headers_sign_ws_path(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = KalshiSigner("k", rsa_key, now_ms=lambda: 1).websocket_headers()
    _verify(rsa_key, headers["KALSHI-ACCESS-SIGNATURE"], b"1GET/trade-api/ws/v2")


def test_wire_requests_are_signed_over_full_path_without_query(
    venue: KalshiVenue, mock: respx.MockRouter, rsa_key: rsa.RSAPrivateKey, payload: object
) -> None:
    route = mock.get("/portfolio/fills").mock(return_value=httpx.Response(200, json={"fills": [], "cursor": ""}))
    venue.fills()
    request = route.calls.last.request
    assert "limit=200" in str(request.url)
    timestamp = request.headers["KALSHI-ACCESS-TIMESTAMP"]
    assert len(timestamp) == 13
    _verify(
        rsa_key, request.headers["KALSHI-ACCESS-SIGNATURE"], f"{timestamp}GET/trade-api/v2/portfolio/fills".encode()
    )


def test_bad_key_file_is_an_auth_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text("not a key")
    with pytest.raises(AuthError, match="cannot load private key"):
        load_private_key(path)
    with pytest.raises(AuthError):
        load_private_key(tmp_path / "missing.key")
