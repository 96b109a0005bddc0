"""A backtest's settings: the surface's own settings model, ``--set KEY=VALUE`` overrides validated exactly as an
env file is (shared/config.py), and the few keys a backtest fixes itself.

A backtest trades on the sim venue in paper mode, writes under its own directory, and never touches the network:
venue credentials, LLM keys and notification targets are forced off whatever the process environment holds (an
exported ANTHROPIC_API_KEY must not turn a backtest into paid API calls).
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.config import ConfigError, SurfaceSettings, load_settings
from surfaces.runner import SURFACE_PACKAGES

# Keys a backtest sets itself, with why they cannot be --set.
FIXED_KEYS: dict[str, str] = {
    "VENUE": "a backtest always trades on the sim venue",
    "TRADING_MODE": "a backtest is always paper",
    "LOG_DIR": "use --out",
    "SIGNAL_KEY_PATH": "a backtest signs with its own key under its directory",
    "SIM_SEED": "use --seed",
}
# Where a backtest departs from the live loop (listed in the manifest and the summary). None today: even the
# rapid-exit quarantine runs, since it counts exits in venue time (shared/risk/chain.py).
DEVIATIONS: tuple[str, ...] = ()
OFF_KEYS: tuple[str, ...] = (
    "kalshi_api_key_id", "kalshi_private_key_path", "oanda_api_token", "oanda_account_id", "ibkr_account_id",
    "anthropic_api_key", "openai_api_key", "gemini_api_key", "deepseek_api_key", "discord_webhook_url",
    "telegram_bot_token", "telegram_chat_id",
)


def parse_assignments(option: str, items: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings -> {KEY: VALUE}; raises ConfigError naming the option for a malformed or repeated one."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or not key:
            raise ConfigError(None, option, f"{item!r} is not KEY=VALUE")
        if key in out:
            raise ConfigError(None, key, f"given twice in {option}")
        out[key] = value.strip()
    return out


def settings_class(surface: str) -> type[SurfaceSettings]:
    module = importlib.import_module(SURFACE_PACKAGES[surface][0])
    cls: type[SurfaceSettings] = module.SETTINGS
    return cls


def validate_overrides(surface: str, overrides: dict[str, str]) -> None:
    """Raise ConfigError (naming the key) for a fixed key, a key the surface does not have, or an invalid value.

    The overrides go through the very loader an env file does, so ``--set`` accepts and refuses what the surface's
    env file would.
    """
    for key in overrides:
        if key in FIXED_KEYS:
            raise ConfigError(None, key, f"cannot be set in a backtest ({FIXED_KEYS[key]})")
        if key.lower() in OFF_KEYS:
            raise ConfigError(None, key, "cannot be set in a backtest (a backtest never calls the network)")
    with tempfile.TemporaryDirectory(prefix="tbot-backtest-") as tmp:
        path = Path(tmp) / "overrides.env"
        # Quoted values: a '#' inside a value stays part of it, as in an env file.
        path.write_text("".join(f'{k}="{v}"\n' for k, v in overrides.items()), encoding="utf-8")
        try:
            load_settings(settings_class(surface), path)
        except ConfigError as exc:
            raise ConfigError(None, exc.key, exc.message) from None


def backtest_settings(surface: str, overrides: dict[str, str], out_dir: Path, seed: int) -> SurfaceSettings:
    """The surface's settings for a backtest writing under ``out_dir`` (call validate_overrides first)."""
    values: dict[str, Any] = {k.lower(): v for k, v in overrides.items() if v != ""}
    values.update({
        "venue": "sim", "trading_mode": "paper", "log_dir": out_dir, "sim_seed": seed, "tick_seconds": 0.01,
        "signal_key_path": out_dir / "keys" / "operator_ed25519.pem",
    })
    values.update(dict.fromkeys(OFF_KEYS))
    return settings_class(surface)(**values)


def effective_settings(settings: SurfaceSettings) -> dict[str, Any]:
    """Every setting the run used, JSON-ready (secrets are all off in a backtest), for the manifest."""
    dumped = settings.model_dump(mode="json")
    return {key.upper(): value for key, value in sorted(dumped.items())}
