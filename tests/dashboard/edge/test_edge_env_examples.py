"""envs/edge.env.example and envs/relay.env.example are written by hand: each lists every key of its process's
settings and sets the defaults; a bad value stops the process naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from dashboard.edge.config import EdgeSettings, RelaySettings
from shared.config import ConfigError, env_example_keys, load_settings

ENVS = Path(__file__).resolve().parents[3] / "envs"


@pytest.mark.parametrize(("name", "cls"), [("edge.env.example", EdgeSettings), ("relay.env.example", RelaySettings)])
def test_the_example_lists_every_key_and_sets_the_defaults(
    name: str, cls: type[BaseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ENVS / name
    assert env_example_keys(path) == {field.upper() for field in cls.model_fields}
    for key in cls.model_fields:
        monkeypatch.delenv(key.upper(), raising=False)
    assert load_settings(cls, path).model_dump() == cls().model_dump()


@pytest.mark.parametrize(("line", "key"), [
    ("NATS_URLS=http://example.com", "NATS_URLS"),
    ("STREAM_REPLICAS=7", "STREAM_REPLICAS"),
    ("FEED_DEFAULT_WAIT_SECONDS=50\nFEED_MAX_WAIT_SECONDS=10", "FEED_DEFAULT_WAIT_SECONDS"),
    ("TRUSTED_PROXIES=*", "TRUSTED_PROXIES"),
])
def test_a_bad_value_names_its_key(line: str, key: str, tmp_path: Path) -> None:
    path = tmp_path / "x.env"
    path.write_text(line + "\n")
    cls = RelaySettings if key == "STREAM_REPLICAS" else EdgeSettings
    with pytest.raises(ConfigError) as caught:
        load_settings(cls, path)
    assert caught.value.key == key


def test_host_and_port_come_from_the_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "my-laptop.local")  # zsh exports HOST as the machine's name
    monkeypatch.setenv("PORT", "1")
    path = tmp_path / "edge.env"
    path.write_text("NATS_URLS=nats://127.0.0.1:4222\n")
    settings = load_settings(EdgeSettings, path)
    assert (settings.host, settings.port) == ("127.0.0.1", 8181)
