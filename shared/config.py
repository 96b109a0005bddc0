"""Per-process configuration: one frozen pydantic-settings model per process, loaded from its env file.

An env file is parsed strictly (``KEY=VALUE``, ``#`` comments, blank lines). A malformed line, an unknown key
or an invalid value stops the process with exit code 2 and one line naming the key and the file. The process
environment may supply *declared* keys that the file leaves unset; it never overrides the file (PM2 hands every app
the environment of the shell that started it, and an exported TRADING_MODE or PORT there must not change a process).
Secrets are ``SecretStr``: they never print, and a secrets file readable by group or others gets a warning.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EXIT_CONFIG = 2
_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_LEADING_NAME = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\b")


class ConfigError(Exception):
    """A configuration problem, naming the key and the file it came from."""

    def __init__(self, path: Path | None, key: str, message: str) -> None:
        self.path = path
        self.key = key
        self.message = message
        where = f"{path}: " if path else ""
        super().__init__(f"config error: {where}{key}: {message}")


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


CsvList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split_csv)]
"""A comma-separated list in an env file (``A,B,C``)."""


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse an env file strictly; values may be wrapped in single or double quotes, and ``#`` starts a comment.

    Errors name the line and, when there is one, the key, but never echo a value: the line may hold a secret.
    """
    if not path.exists():
        raise ConfigError(path, "(file)", "env file not found; copy it from the matching .env.example")
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            lead = _LEADING_NAME.match(line)
            where = f"{lead.group(1).upper()} (line {number})" if lead else f"line {number}"
            raise ConfigError(path, where, "malformed line (expected KEY=VALUE)")
        key, value = match.group(1).upper(), match.group(2).strip()
        if value[:1] in ("'", '"'):
            close = value.find(value[0], 1)
            rest = value[close + 1 :].strip() if close > 0 else "x"
            if close < 0 or (rest and not rest.startswith("#")):
                raise ConfigError(path, key, f"unbalanced quotes or text after the closing quote (line {number})")
            value = value[1:close]
        elif value.startswith("#"):
            value = ""
        elif " #" in value or "\t#" in value:
            value = re.split(r"\s#", value, maxsplit=1)[0].rstrip()
        if key in values:
            raise ConfigError(path, key, f"set twice (line {number})")
        values[key] = value
    return values


class ProcessSettings(BaseSettings):
    """Keys every tbot process understands."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=False, env_prefix="")

    trading_mode: Literal["paper", "live"] = "paper"
    log_dir: Path = Path("logs")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    discord_webhook_url: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    notify_timeout_seconds: float = Field(default=3.0, gt=0, le=30)


PAPER_ON_LIVE_VENUES: tuple[str, ...] = ("kalshi",)
"""Live venues whose data paper mode can trade on (``shared.venues.paper.PaperVenue``): fills kept local."""

PAPER_ON_LIVE_VENUE = (
    "paper on a live venue's data exists only for VENUE=kalshi yet (OANDA and IBKR pricing are not wired); "
    "set VENUE=sim, or TRADING_MODE=live with credentials"
)


def paper_venue_refusal(trading_mode: str, venue: str) -> str | None:
    """Why this mode may not use this venue, or None.

    Paper never sends an order. On a venue in :data:`PAPER_ON_LIVE_VENUES` paper reads the venue's market data and
    fills locally (the factory builds a ``PaperVenue`` whose adapter cannot reach an order endpoint); on the other
    live venues paper is refused. Anything but ``live`` counts as paper here, so an unexpected mode fails closed.
    """
    if trading_mode != "live" and venue != "sim" and venue not in PAPER_ON_LIVE_VENUES:
        return PAPER_ON_LIVE_VENUE
    return None


class SurfaceSettings(ProcessSettings):
    """Keys shared by the four surface loops: venue, cadence, bankroll and every risk threshold."""

    venue: Literal["sim", "kalshi", "oanda", "ibkr"] = "sim"
    tick_seconds: float = Field(default=2.0, gt=0)
    sim_seed: int = 7
    sim_speed: float = Field(default=600.0, gt=0, description="Simulated seconds per real second")
    signal_key_path: Path = Path("logs/keys/operator_ed25519.pem")
    market_record: Literal["auto", "on", "off"] = "auto"
    market_record_depth: int = Field(default=5, ge=1, le=100)

    # Bankroll and sizing
    bankroll_cents: int = Field(default=1_000_000, gt=0)
    kelly_fraction: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    risk_per_trade_pct: Decimal = Field(default=Decimal("0.01"), gt=0, le=Decimal("0.1"))
    max_position_pct: Decimal = Field(default=Decimal("0.05"), gt=0, le=1)
    max_position_cents: int = Field(default=50_000, gt=0)

    # Risk chain thresholds (one gate each; see shared/risk)
    per_market_cap_cents: int = Field(default=50_000, gt=0)
    max_open_positions: int = Field(default=20, gt=0)
    daily_loss_limit_cents: int = Field(default=50_000, gt=0)
    weekly_loss_limit_cents: int = Field(default=150_000, gt=0)
    max_drawdown_pct: Decimal = Field(default=Decimal("0.20"), gt=0, le=1)
    category_concentration_pct: Decimal = Field(default=Decimal("0.40"), gt=0, le=1)
    underlying_concentration_pct: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    allowed_sides: CsvList = ("yes", "no", "long", "short")
    suspended_categories: CsvList = ()
    suspended_sub_strategies: CsvList = ()
    strategy_sides: CsvList = Field(
        default=(), description="Per-sub-strategy sides, 'strategy:side' entries; a listed strategy gets only these"
    )
    reentry_cooldown_seconds: int = Field(default=900, ge=0)
    slippage_tolerance: Decimal = Field(
        default=Decimal("0.02"), ge=0, description="Max adverse move from the signal price, as a fraction"
    )
    min_edge: Decimal = Field(default=Decimal("0.03"), ge=0)
    min_confidence: float = Field(default=0.55, ge=0, le=1)
    max_model_spread: float = Field(default=0.15, ge=0, le=1)
    api_cost_cap_cents: int = Field(default=500, ge=0, description="Daily LLM spend cap for this surface")
    day_boundary_tz: str = "UTC"
    rapid_exit_count: int = Field(default=5, gt=0)
    rapid_exit_window_seconds: int = Field(default=60, gt=0)

    # Venue credentials and endpoints (live mode only; paper on the sim venue needs none)
    kalshi_env: Literal["demo", "prod"] = "demo"
    kalshi_base_url: str | None = None
    kalshi_api_key_id: SecretStr | None = None
    kalshi_private_key_path: Path | None = None
    kalshi_ws: Literal["on", "off"] = "off"
    kalshi_ws_url: str | None = None
    kalshi_ws_stale_seconds: float = Field(default=5.0, gt=0)
    oanda_env: Literal["practice", "live"] = "practice"
    oanda_base_url: str | None = None
    oanda_api_token: SecretStr | None = None
    oanda_account_id: str | None = None
    ibkr_gateway_url: str = "https://localhost:5000"
    ibkr_account_id: str | None = None
    ibkr_verify_tls: bool = False

    # LLM providers (optional; without keys the deterministic offline model stands in)
    anthropic_api_key: SecretStr | None = None
    openai_api_key: SecretStr | None = None
    gemini_api_key: SecretStr | None = None
    deepseek_api_key: SecretStr | None = None

    @model_validator(mode="after")
    def _mode_fits_venue(self) -> SurfaceSettings:
        refusal = paper_venue_refusal(self.trading_mode, self.venue)
        if refusal is not None:
            raise ValueError(f"VENUE: {refusal}")
        if self.trading_mode != "live" and self.venue == "kalshi":
            # Kalshi's order book is an authenticated read (spec 3.15 security on /markets/{t}/orderbook): paper
            # fills walk that book, so the key signs GETs; it never reaches an order endpoint.
            for name in ("kalshi_api_key_id", "kalshi_private_key_path"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name.upper()}: required for paper on VENUE=kalshi (the order book is an "
                                     "authenticated read; paper only reads, never sends an order)")
            return self
        if self.trading_mode != "live":
            return self
        if self.venue == "sim":
            raise ValueError("VENUE: live trading needs a live venue (kalshi, oanda or ibkr), not sim")
        required = {
            "kalshi": ("kalshi_api_key_id", "kalshi_private_key_path"),
            "oanda": ("oanda_api_token", "oanda_account_id"),
            "ibkr": ("ibkr_account_id",),
        }[self.venue]
        for name in required:
            if getattr(self, name) is None:
                raise ValueError(f"{name.upper()}: required when TRADING_MODE=live and VENUE={self.venue}")
        return self


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], path: Path | str) -> S:
    """Load and validate a process's settings from its env file; raises :class:`ConfigError`.

    An empty value (``KEY=``) means "not set": the default applies, and a required key is reported missing.
    The file is authoritative: the process environment may supply a declared key the file leaves unset (or
    empty), never override one the file sets.
    """
    path = Path(path)
    values = parse_env_file(path)
    fields = cls.model_fields
    for key in values:
        if key.lower() not in fields:
            raise ConfigError(path, key, "unknown key (not a setting of this process)")
    from_file = {key.lower() for key, value in values.items() if value != ""}
    from_env = {name.lower() for name in os.environ} - from_file
    # Init values outrank the environment in pydantic-settings: what the file sets always wins.
    kwargs: dict[str, Any] = {key.lower(): value for key, value in values.items() if value != ""}
    try:
        settings = cls(**kwargs)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error.get("loc", ()) if part != "__root__"]
        message = str(error.get("msg", "invalid value"))
        key = loc[0].upper() if loc else "(settings)"
        if not loc and ": " in message and message.split(": ", 1)[0].split()[-1].isupper():
            # A cross-field check names its key itself ("Value error, VENUE: ...").
            named = message.split(": ", 1)
            key, message = named[0].split()[-1], named[1]
        if key.lower() in from_env:
            message += " (set in the process environment)"
        raise ConfigError(path, key, message) from None
    _warn_if_secrets_exposed(path, settings, values)
    return settings


def _warn_if_secrets_exposed(path: Path, settings: BaseSettings, values: dict[str, str]) -> None:
    secret_keys = [
        key for key in values if isinstance(getattr(settings, key.lower(), None), SecretStr) and values[key]
    ]
    mode = path.stat().st_mode
    if secret_keys and mode & (stat.S_IRGRP | stat.S_IROTH):
        print(
            f"warning: {path} holds secrets ({', '.join(secret_keys)}) and is readable by group or others; "
            f"run: chmod 600 {path}",
            file=sys.stderr,
        )


def load_or_exit(cls: type[S], path: Path | str) -> S:
    """Load settings, or print one line naming the key and the file and exit with code 2."""
    try:
        return load_settings(cls, path)
    except ConfigError as exc:
        _exit_config(str(exc))


def _exit_config(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise SystemExit(EXIT_CONFIG)


def repo_root() -> Path:
    """The checkout this code runs from (commands resolve relative paths against the working directory)."""
    return Path(__file__).resolve().parent.parent


def env_example_keys(path: Path) -> set[str]:
    """Keys documented in an ``.env.example`` (commented-out keys included), for the completeness test."""
    keys = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        match = _LINE.match(raw.lstrip("# ").strip())
        if match:
            keys.add(match.group(1).upper())
    return keys

