"""Fixtures for the subscriber client's tests: an operator key, signed signals, a config on disk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.config import ClientConfig, load_config
from shared.ids import new_id
from shared.records import Signal
from shared.signing import public_key_pem, sign_signal
from shared.timeutil import utcnow

SignalFactory = Callable[..., Signal]
ConfigFactory = Callable[..., ClientConfig]


@pytest.fixture
def operator_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def make_signal(operator_key: Ed25519PrivateKey) -> SignalFactory:
    """A signed signal published now (or at ``published_at``); any field can be overridden."""

    def factory(**overrides: Any) -> Signal:
        published = overrides.pop("published_at", None) or utcnow()
        fields: dict[str, Any] = {
            "id": new_id(published),
            "published_at": published,
            "expires_at": published + timedelta(seconds=600),
            "surface": "kalshi_st",
            "sub_strategy": "weather",
            "venue": "sim",
            "instrument": "KXHIGHNY-25DEC27-B31.5",
            "side": "yes",
            "limit_price": Decimal("0.40"),
            "size_fraction": Decimal("0.02"),
            "p_model": 0.55,
            "p_market": 0.40,
            "edge": 0.1,
            "confidence": 0.7,
            "dry_run": True,
        }
        fields.update(overrides)
        return sign_signal(Signal(**fields), operator_key)

    return factory


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def make_config(tmp_path: Path, operator_key: Ed25519PrivateKey) -> ConfigFactory:
    """Write a TOML config (and the pinned key) under tmp_path/client; sections are dicts of overrides."""

    def factory(url: str = "http://127.0.0.1:9", **sections: dict[str, Any]) -> ClientConfig:
        folder = tmp_path / "client"
        folder.mkdir(exist_ok=True)
        (folder / "operator.pem").write_text(public_key_pem(operator_key))
        base: dict[str, dict[str, Any]] = {
            "feed": {"url": url, "token": "sub-token-123", "poll_wait_seconds": 1, "resolve_every_seconds": 0.2,
                     "public_key_file": "operator.pem"},
            "sizing": {"rule": "fixed", "fixed_cents": 1000, "max_cents_per_signal": 5000,
                       "max_cents_per_day": 20000},
            "broker": {"kind": "paper", "starting_bankroll_cents": 100000, "paper_quotes": "signal"},
            # No open-position limit unless a test sets one (the chaos run holds dozens open at once).
            "control": {"max_open_positions": 0},
            "state": {"dir": "state"},
        }
        for name, values in sections.items():
            base.setdefault(name, {}).update(values)
        lines = []
        for name, values in base.items():
            lines.append(f"[{name}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        path = folder / "tbot-client.toml"
        path.write_text("\n".join(lines) + "\n")
        return load_config(path)

    return factory


@pytest.fixture
def fixed_now() -> datetime:
    return datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
