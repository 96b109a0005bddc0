"""OANDA authentication: a personal access token sent as ``Authorization: Bearer`` (never in a URL or a log)."""

from __future__ import annotations

from pydantic import SecretStr


def auth_headers(token: SecretStr) -> dict[str, str]:
    """Static headers for every v20 request; times come back as RFC 3339."""
    return {
        "Authorization": f"Bearer {token.get_secret_value()}",
        "Accept-Datetime-Format": "RFC3339",
        "Accept": "application/json",
    }
