"""The subscriber's configuration: one commented TOML file, validated into a frozen model at start.

Why TOML and not an env file: a subscriber edits this by hand, and TOML carries comments, lists and sections.
Secrets (the feed token, broker keys) may live in separate 0600 env files instead of the TOML, so the TOML
can be shared or backed up without leaking anything. An env file that group or others can read is refused.
"""

from __future__ import annotations

import os
import stat
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from shared.config import ConfigError, parse_env_file
from shared.records import SURFACES

SizeRule = Literal["fixed", "bankroll_fraction", "operator_multiple"]
BrokerKind = Literal["paper", "kalshi", "oanda", "ibkr"]

TOKEN_ENV_KEY = "TBOT_FEED_TOKEN"
DEFAULT_CONFIG_NAME = "tbot-client.toml"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeedSection(_Section):
    url: str = "http://127.0.0.1:8000"
    token: SecretStr | None = None
    secrets_file: Path | None = Path("tbot-client.env")
    surfaces: tuple[str, ...] = SURFACES
    sub_strategies: tuple[str, ...] = ()
    poll_wait_seconds: int = Field(default=25, ge=0, le=55)
    batch_limit: int = Field(default=100, ge=1, le=1000)
    resolve_every_seconds: float = Field(default=30.0, gt=0)
    public_key_file: Path = Path("operator_ed25519.pub.pem")
    trade_dry_run_signals: bool | None = Field(
        default=None, description="Act on the operator's paper (dry_run) signals; default: only with the paper broker"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("surfaces")
    @classmethod
    def _surfaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in SURFACES]
        if unknown:
            raise ValueError(f"unknown surface {unknown[0]!r} (choose from {', '.join(SURFACES)})")
        return value


class SizingSection(_Section):
    """Defaults measured on the paper fleet (bench/client_signal_rate.py): see the README's client section.

    ``operator_multiple`` 0.25: the operator sizes each surface against its own bankroll; one account following
    all four surfaces takes a quarter of each. ``min_one_unit`` buys one share when the stake is below a share's
    price (a typical stock signal is $185 a share). The caps hold the busiest measured day.
    """

    rule: SizeRule = "operator_multiple"
    fixed_cents: int = Field(default=1_000, gt=0)
    bankroll_fraction: Decimal = Field(default=Decimal("0.01"), gt=0, le=1)
    operator_multiple: Decimal = Field(default=Decimal("0.25"), gt=0, le=100)
    min_one_unit: bool = True
    max_cents_per_signal: int = Field(default=30_000, gt=0)
    max_cents_per_day: int = Field(default=200_000, gt=0)
    max_slippage_binary: Decimal = Field(default=Decimal("0.02"), ge=0, le=Decimal("0.5"))
    max_slippage_fraction: Decimal = Field(default=Decimal("0.002"), ge=0, le=Decimal("0.1"))


class BrokerSection(_Section):
    kind: BrokerKind = "paper"
    secrets_file: Path | None = None
    starting_bankroll_cents: int = Field(default=100_000, gt=0)
    paper_quotes: Literal["sim", "signal"] = "sim"
    paper_sim_log_dir: Path | None = None
    paper_quote_band_binary: Decimal = Field(default=Decimal("0.15"), ge=0, le=1)
    paper_quote_band_fraction: Decimal = Field(default=Decimal("0.05"), ge=0, le=1)
    paper_slippage_binary: Decimal = Field(default=Decimal("0.01"), ge=0, le=Decimal("0.5"))
    paper_slippage_fraction: Decimal = Field(default=Decimal("0.0002"), ge=0, le=Decimal("0.1"))
    stock_commission_per_share: Decimal = Field(default=Decimal("0.005"), ge=0)
    stock_min_commission_cents: int = Field(default=100, ge=0)
    stock_max_commission_pct: Decimal = Field(default=Decimal("0.01"), ge=0, le=1)
    fx_commission_per_million_cents: int = Field(default=0, ge=0)


class ControlSection(_Section):
    """The subscriber's own brakes, whatever the operator does."""

    max_open_positions: int = Field(default=50, ge=0, description="0: no limit")
    equity_stop_fraction: Decimal = Field(
        default=Decimal("0.5"), ge=0, lt=1,
        description="Flatten everything and pause when equity falls below this fraction of net deposits; 0: off",
    )


NotifyEvent = Literal["fills", "skips", "errors", "feed_loss", "commission"]


class NotifySection(_Section):
    """Where to tell the subscriber what happens (client/notify.py); secrets only in the 0600 ``secrets_file``."""

    secrets_file: Path | None = None
    events: tuple[NotifyEvent, ...] = ("fills", "skips", "errors", "feed_loss", "commission")
    desktop: bool = False
    feed_loss_seconds: float = Field(default=300.0, gt=0)


class StateSection(_Section):
    dir: Path = Path("tbot-client-state")


class ReplaySection(_Section):
    bankroll_cents: int = Field(default=100_000, gt=0)
    chart_file: Path = Path("replay-equity.png")


class ClientConfig(_Section):
    """The whole validated configuration; paths are resolved against the config file's folder."""

    feed: FeedSection = FeedSection()
    sizing: SizingSection = SizingSection()
    broker: BrokerSection = BrokerSection()
    control: ControlSection = ControlSection()
    notify: NotifySection = NotifySection()
    state: StateSection = StateSection()
    replay: ReplaySection = ReplaySection()
    commission_rate: Decimal = Field(default=Decimal("0.15"), ge=0, le=1)
    source: Path | None = Field(default=None, exclude=True)

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source is not None else Path.cwd()

    def resolve(self, path: Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        return path if path.is_absolute() else self.base_dir / path

    @property
    def state_dir(self) -> Path:
        return self.resolve(self.state.dir)

    @property
    def public_key_path(self) -> Path:
        return self.resolve(self.feed.public_key_file)

    @property
    def trades_dry_run(self) -> bool:
        if self.feed.trade_dry_run_signals is not None:
            return self.feed.trade_dry_run_signals
        return self.broker.kind == "paper"

    def feed_token(self) -> str:
        """The bearer token: from the TOML, or ``TBOT_FEED_TOKEN`` in the feed's 0600 secrets file."""
        if self.feed.token is not None and self.feed.token.get_secret_value():
            return self.feed.token.get_secret_value()
        if self.feed.secrets_file is None:
            raise ConfigError(self.source, "feed.token", "no token: set feed.token or feed.secrets_file")
        path = self.resolve(self.feed.secrets_file)
        values = read_secret_env(path)
        token = values.get(TOKEN_ENV_KEY, "")
        if not token:
            raise ConfigError(path, TOKEN_ENV_KEY, "missing: put the subscriber token here (chmod 600)")
        return token

    def broker_secrets(self) -> dict[str, str]:
        """The live broker's keys from its own 0600 env file (never sent anywhere but to that broker)."""
        if self.broker.secrets_file is None:
            raise ConfigError(self.source, "broker.secrets_file", f"required for broker.kind = {self.broker.kind!r}")
        return read_secret_env(self.resolve(self.broker.secrets_file))


def read_secret_env(path: Path) -> dict[str, str]:
    """Parse a secrets env file, refusing one that group or others can read (secrets must be 0600)."""
    if not path.exists():
        raise ConfigError(path, "(file)", "secrets file not found")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(path, "(permissions)", f"readable by group or others; run: chmod 600 {path}")
    return parse_env_file(path)


def load_config(path: Path) -> ClientConfig:
    """Read and validate the TOML config; :class:`ConfigError` names the offending key and the file."""
    if not path.exists():
        raise ConfigError(path, "(file)", "config not found; create one with: tbot-client init")
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", str(exc)) from None
    try:
        config = ClientConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error.get("loc", ())) or "(config)"
        raise ConfigError(path, key, str(error.get("msg", "invalid value"))) from None
    return config.model_copy(update={"source": path.resolve()})


def render_config(
    *,
    url: str,
    token_in_file: bool,
    token: str | None = None,
    surfaces: tuple[str, ...] = SURFACES,
    rule: SizeRule = "operator_multiple",
    broker: BrokerKind = "paper",
) -> str:
    """The commented TOML ``init`` writes (by hand: tomllib reads TOML but the stdlib cannot write it)."""
    token_line = (
        f'# token = "..."            # or keep it in secrets_file as {TOKEN_ENV_KEY}=... (chmod 600)'
        if token_in_file
        else f"token = {_toml_str(token or '')}"
    )
    surfaces_list = ", ".join(_toml_str(name) for name in surfaces)
    secrets_line = (
        'secrets_file = "broker.env"   # your own keys, chmod 600; sent only to your broker'
        if broker != "paper"
        else '# secrets_file = "broker.env" # live brokers only: your keys, chmod 600'
    )
    return f"""# tbot-client configuration. Money is in integer cents; prices are dollars as strings.
# Paths are relative to this file's folder.

[feed]
# The operator's dashboard.
url = {_toml_str(url)}
{token_line}
secrets_file = "tbot-client.env"
# Surfaces to follow: kalshi_st, kalshi_lt, fx, stocks.
surfaces = [{surfaces_list}]
# Only these sub-strategies (empty: all).
sub_strategies = []
# Long-poll hold in seconds (max 55).
poll_wait_seconds = 25
batch_limit = 100
# How often to ask the operator's history for outcomes of open positions.
resolve_every_seconds = 30
# The operator's Ed25519 public key, pinned by init; every signal is verified against it.
public_key_file = "operator_ed25519.pub.pem"
# Act on the operator's paper (dry_run) signals? Default: yes with the paper broker, no with a live one.
# trade_dry_run_signals = false

[sizing]
# fixed: fixed_cents per signal | bankroll_fraction: that fraction of your equity |
# operator_multiple: operator_multiple x the signal's size_fraction x your equity (the operator sizes each
# surface against its own bankroll: following all four from one account, 0.25 takes a quarter of each).
rule = {_toml_str(rule)}
fixed_cents = 1000
bankroll_fraction = "0.01"
operator_multiple = "0.25"
# A stake too small for one unit (a share dearer than the stake) buys one unit if the caps and cash allow.
min_one_unit = true
# Hard caps, whatever the rule says. The paper fleet publishes about 22 signals on a typical day (65 on its
# busiest, about $1,550 staked at a $1,000 account with these defaults); cash limits you first.
max_cents_per_signal = 30000
max_cents_per_day = 200000
# Worst price accepted beyond the signal's limit: dollars for Kalshi, a fraction of price for FX / stocks.
max_slippage_binary = "0.02"
max_slippage_fraction = "0.002"

[broker]
# paper (default, no keys, no network) | kalshi | oanda | ibkr
kind = {_toml_str(broker)}
{secrets_line}
# Paper broker: starting cash (recorded as a deposit at the first run, unless you used `deposit` first);
# quotes from a running fleet's sim venue ("sim") or always the signal's price plus slippage ("signal").
starting_bankroll_cents = 100000
paper_quotes = "sim"
# Quotes come from a running paper fleet's sim (its replay clock lives in its logs/ folder): set this to that
# folder to fill at the sim's quotes; without it every fill is the signal's price plus slippage.
# paper_sim_log_dir = "/path/to/tbot/logs"
# A sim quote further than this from the signal's price is from another replay moment: not used.
paper_quote_band_binary = "0.15"
paper_quote_band_fraction = "0.05"
# Without a usable quote the fill is the signal's price moved against you by this slippage.
paper_slippage_binary = "0.01"
paper_slippage_fraction = "0.0002"
# Stock commission (IBKR fixed-rate style): per share, a minimum per order, at most a percent of the value.
stock_commission_per_share = "0.005"
stock_min_commission_cents = 100
stock_max_commission_pct = "0.01"
fx_commission_per_million_cents = 0

[control]
# At most this many open positions (0: no limit). The paper fleet's busiest measured day published 65 signals.
max_open_positions = 50
# Flatten everything and pause when equity falls below this fraction of your net deposits (0: off).
# Resume with: tbot-client resume
equity_stop_fraction = "0.5"

[notify]
# Fills, skips (with the reason), errors, feed loss and commission, sent without ever holding up trading.
# Put the channels' secrets in a 0600 env file and name it here: TBOT_NOTIFY_DISCORD_WEBHOOK_URL,
# TBOT_NOTIFY_TELEGRAM_BOT_TOKEN + TBOT_NOTIFY_TELEGRAM_CHAT_ID, TBOT_NOTIFY_SMTP_URL (smtp://user:pass@host:587)
# + TBOT_NOTIFY_EMAIL_TO.
# secrets_file = "notify.env"
events = ["fills", "skips", "errors", "feed_loss", "commission"]
# Desktop notifications (notify-send on Linux, osascript on macOS).
desktop = false
# Tell me when the feed has been unreachable this long (seconds).
feed_loss_seconds = 300

[state]
# Your client's own records: cursor, orders, outbox, ledger. Back this folder up.
dir = "tbot-client-state"

[replay]
bankroll_cents = 100000
chart_file = "replay-equity.png"
"""


def _toml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_private(path: Path, text: str) -> None:
    """Create a file only its owner can read (0600), refusing to overwrite an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
