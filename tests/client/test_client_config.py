"""Config: init's commented TOML round-trips; bad keys name themselves; secrets files must be 0600."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from client.config import TOKEN_ENV_KEY, load_config, render_config
from shared.config import ConfigError


def test_rendered_config_loads_with_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tbot-client.toml"
    path.write_text(render_config(url="http://127.0.0.1:8080", token_in_file=True, surfaces=("fx", "stocks"),
                                  rule="operator_multiple"))
    config = load_config(path)
    assert config.feed.surfaces == ("fx", "stocks")
    assert config.sizing.rule == "operator_multiple"
    assert config.broker.kind == "paper" and config.trades_dry_run
    assert config.state_dir == tmp_path / "tbot-client-state"
    assert "# " in path.read_text()  # commented for the subscriber


@pytest.mark.parametrize(
    "text,key",
    [
        ("[feed]\nurll = 'http://x'\n", "feed.urll"),
        ("[sizing]\nrule = 'martingale'\n", "sizing.rule"),
        ("[sizing]\nmax_cents_per_day = -1\n", "sizing.max_cents_per_day"),
        ("[feed]\nsurfaces = ['crypto']\n", "feed.surfaces"),
        ("[feed]\nurl = 'ftp://x'\n", "feed.url"),
        ("[feed\n", "(syntax)"),
    ],
)
def test_a_bad_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.key == key
    assert str(path) in str(raised.value)


def test_token_from_a_0600_file_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[feed]\nsecrets_file = 'feed.env'\n")
    secrets = tmp_path / "feed.env"
    secrets.write_text(f"{TOKEN_ENV_KEY}=s3cret-token\n")
    os.chmod(secrets, 0o644)
    config = load_config(path)
    with pytest.raises(ConfigError) as raised:
        config.feed_token()
    assert "chmod 600" in str(raised.value) and "s3cret" not in str(raised.value)
    os.chmod(secrets, 0o600)
    assert config.feed_token() == "s3cret-token"


def test_a_live_broker_needs_its_own_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[broker]\nkind = 'kalshi'\n")
    config = load_config(path)
    assert not config.trades_dry_run  # operator paper signals are not traded with real money by default
    with pytest.raises(ConfigError) as raised:
        config.broker_secrets()
    assert raised.value.key == "broker.secrets_file"
