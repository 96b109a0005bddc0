"""Per-process config: bad keys stop the process with exit 2 naming the key and file; secrets never print."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.config import (
    EXIT_CONFIG,
    ConfigError,
    ProcessSettings,
    SurfaceSettings,
    load_settings,
    parse_env_file,
    repo_root,
)

SECRET = "sk-test-DO-NOT-PRINT-0123456789"

# Loads a settings class in a fresh interpreter, the way a process starts; class "Needy" has a required key.
_LOADER = """
import sys
from pydantic import SecretStr
from shared.config import ProcessSettings, SurfaceSettings, load_or_exit

class Needy(ProcessSettings):
    dashboard_api_token: SecretStr

classes = {"surface": SurfaceSettings, "needy": Needy}
settings = load_or_exit(classes[sys.argv[1]], sys.argv[2])
print("loaded", repr(settings))
print("str", str(settings))
print("json", settings.model_dump_json())
"""


def _clean_env() -> dict[str, str]:
    # Only what an interpreter needs: a declared key inherited from the test runner would change the outcome.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/")}


def _load(tmp_path: Path, text: str, cls: str = "surface", mode: int = 0o600) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "x.env"
    env_file.write_text(text)
    env_file.chmod(mode)
    return subprocess.run(
        [sys.executable, "-c", _LOADER, cls, str(env_file)],
        cwd=repo_root(),
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == EXIT_CONFIG, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("TRADING_MODE=paper\nFOO_BAR=1\n", "FOO_BAR"),  # unknown key
        ("TICK_SECONDS=fast\n", "TICK_SECONDS"),  # malformed value
        ("TICK_SECONDS=-1\n", "TICK_SECONDS"),  # out of range
        ("KELLY_FRACTION=1.5\n", "KELLY_FRACTION"),
        ("TRADING_MODE=yolo\n", "TRADING_MODE"),
        ("VENUE=binance\n", "VENUE"),
        ("TRADING_MODE=paper\nTRADING_MODE=live\n", "TRADING_MODE"),  # set twice
        ("TRADING_MODE=paper\nthis is not an assignment\n", "line 2"),  # malformed line
        ('LOG_LEVEL="INFO\n', "LOG_LEVEL"),  # unbalanced quote
    ],
)
def test_a_bad_key_exits_2_naming_the_key_and_the_file(tmp_path: Path, text: str, key: str) -> None:
    line = _one_error_line(_load(tmp_path, text))
    assert key in line
    assert str(tmp_path / "x.env") in line


def test_a_missing_required_key_exits_2_naming_it(tmp_path: Path) -> None:
    line = _one_error_line(_load(tmp_path, "LOG_LEVEL=INFO\n", cls="needy"))
    assert "DASHBOARD_API_TOKEN" in line and str(tmp_path / "x.env") in line


def test_an_empty_value_counts_as_missing(tmp_path: Path) -> None:
    line = _one_error_line(_load(tmp_path, "DASHBOARD_API_TOKEN=\n", cls="needy"))
    assert "DASHBOARD_API_TOKEN" in line


def test_a_missing_env_file_exits_2_naming_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LOADER, "surface", str(tmp_path / "absent.env")],
        cwd=repo_root(),
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert str(tmp_path / "absent.env") in _one_error_line(result)


@pytest.mark.parametrize(
    ("venue", "missing"),
    [("kalshi", "KALSHI_API_KEY_ID"), ("oanda", "OANDA_API_TOKEN"), ("ibkr", "IBKR_ACCOUNT_ID"), ("sim", "VENUE")],
)
def test_live_mode_without_credentials_exits_2_naming_the_key(tmp_path: Path, venue: str, missing: str) -> None:
    line = _one_error_line(_load(tmp_path, f"TRADING_MODE=live\nVENUE={venue}\n"))
    assert missing in line and str(tmp_path / "x.env") in line


def test_live_mode_names_the_second_credential_too(tmp_path: Path) -> None:
    line = _one_error_line(_load(tmp_path, f"TRADING_MODE=live\nVENUE=oanda\nOANDA_API_TOKEN={SECRET}\n"))
    assert "OANDA_ACCOUNT_ID" in line and SECRET not in line


@pytest.mark.parametrize("venue", ["oanda", "ibkr"])
def test_paper_mode_on_a_live_venue_without_paper_support_exits_2_naming_venue(tmp_path: Path, venue: str) -> None:
    # Complete live credentials do not help: paper never sends an order, and paper on these venues' data is not
    # built (their adapters' order methods would send).
    credentials = {
        "oanda": f"OANDA_API_TOKEN={SECRET}\nOANDA_ACCOUNT_ID=101-001-1-001\n",
        "ibkr": "IBKR_ACCOUNT_ID=U1234567\n",
    }[venue]
    for mode_line in ("TRADING_MODE=paper\n", ""):  # paper is also the default
        line = _one_error_line(_load(tmp_path, f"{mode_line}VENUE={venue}\n{credentials}"))
        assert line.startswith(f"config error: {tmp_path / 'x.env'}: VENUE: paper on a live venue's data exists "
                               "only for VENUE=kalshi")
        assert SECRET not in line


def test_paper_on_kalshi_loads_with_a_key_and_exits_2_naming_the_key_without(tmp_path: Path) -> None:
    # Paper on Kalshi's data reads the order book, an authenticated GET: the key is needed, never to trade.
    result = _load(tmp_path, f"VENUE=kalshi\nKALSHI_API_KEY_ID=id\nKALSHI_PRIVATE_KEY_PATH={tmp_path / 'k.pem'}\n")
    assert result.returncode == 0, result.stderr
    line = _one_error_line(_load(tmp_path, "TRADING_MODE=paper\nVENUE=kalshi\n"))
    assert line.startswith(f"config error: {tmp_path / 'x.env'}: KALSHI_API_KEY_ID: required for paper on "
                           "VENUE=kalshi")


def test_secrets_are_never_printed(tmp_path: Path) -> None:
    result = _load(tmp_path, f"ANTHROPIC_API_KEY={SECRET}\nOANDA_API_TOKEN='{SECRET}'\n")
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout and "**********" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_a_malformed_line_holding_a_secret_is_not_echoed(tmp_path: Path) -> None:
    line = _one_error_line(_load(tmp_path, f"ANTHROPIC_API_KEY {SECRET}\n"))
    assert "ANTHROPIC_API_KEY" in line and "line 1" in line
    assert SECRET not in line


def test_an_invalid_secret_value_is_not_echoed(tmp_path: Path) -> None:
    line = _one_error_line(_load(tmp_path, f"TICK_SECONDS={SECRET}\n"))
    assert "TICK_SECONDS" in line and SECRET not in line


def test_group_readable_secrets_file_gets_a_warning(tmp_path: Path) -> None:
    exposed = _load(tmp_path, f"OPENAI_API_KEY={SECRET}\n", mode=0o640)
    assert exposed.returncode == 0
    assert "warning" in exposed.stderr and "OPENAI_API_KEY" in exposed.stderr and "chmod 600" in exposed.stderr
    assert SECRET not in exposed.stderr
    private = _load(tmp_path, f"OPENAI_API_KEY={SECRET}\n", mode=0o600)
    assert private.returncode == 0 and private.stderr == ""
    no_secrets = _load(tmp_path, "LOG_LEVEL=INFO\n", mode=0o644)
    assert no_secrets.returncode == 0 and no_secrets.stderr == ""


# ------------------------------------------------------------------ in-process details


def test_values_are_typed_and_defaults_are_paper(tmp_path: Path) -> None:
    env_file = tmp_path / "s.env"
    env_file.write_text(
        "# a comment\n\nexport TICK_SECONDS=0.5\nKELLY_FRACTION = 0.5  # trailing comment\n"
        "SUSPENDED_CATEGORIES=politics, sports\nlog_level='DEBUG'\nTELEGRAM_CHAT_ID=\"a # not a comment\"\n"
    )
    env_file.chmod(0o600)
    settings = load_settings(SurfaceSettings, env_file)
    assert settings.tick_seconds == 0.5
    assert settings.kelly_fraction == Decimal("0.5") and isinstance(settings.kelly_fraction, Decimal)
    assert settings.suspended_categories == ("politics", "sports")
    assert settings.log_level == "DEBUG"
    assert settings.telegram_chat_id == "a # not a comment"
    assert settings.trading_mode == "paper" and settings.venue == "sim"


def test_settings_are_frozen(tmp_path: Path) -> None:
    env_file = tmp_path / "s.env"
    env_file.write_text("")
    settings = load_settings(ProcessSettings, env_file)
    with pytest.raises(ValueError):
        settings.trading_mode = "live"  # type: ignore[misc]


def test_the_environment_fills_unset_declared_keys_and_never_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "s.env"
    env_file.write_text("TRADING_MODE=paper\nTICK_SECONDS=3\nOANDA_BASE_URL=\n")
    monkeypatch.setenv("KALSHI_BASE_URL", "http://127.0.0.1:9")  # not in the file: the environment supplies it
    monkeypatch.setenv("OANDA_BASE_URL", "http://127.0.0.1:8")  # empty in the file: unset, so supplied too
    monkeypatch.setenv("TRADING_MODE", "live")  # set in the file: an exported shell variable must not win
    monkeypatch.setenv("TICK_SECONDS", "soon")
    monkeypatch.setenv("NOT_A_SETTING", "ignored")
    settings = load_settings(SurfaceSettings, env_file)
    assert settings.kalshi_base_url == "http://127.0.0.1:9" and settings.oanda_base_url == "http://127.0.0.1:8"
    assert settings.trading_mode == "paper" and settings.tick_seconds == 3.0
    monkeypatch.setenv("MAX_OPEN_POSITIONS", "many")  # an environment-supplied value is still validated
    with pytest.raises(ConfigError) as error:
        load_settings(SurfaceSettings, env_file)
    assert error.value.key == "MAX_OPEN_POSITIONS" and "process environment" in error.value.message


def test_config_error_names_key_and_file(tmp_path: Path) -> None:
    env_file = tmp_path / "s.env"
    env_file.write_text("MAX_OPEN_POSITIONS=0\n")
    with pytest.raises(ConfigError) as error:
        load_settings(SurfaceSettings, env_file)
    assert error.value.key == "MAX_OPEN_POSITIONS" and error.value.path == env_file
    assert str(error.value).startswith(f"config error: {env_file}: MAX_OPEN_POSITIONS:")


def test_secret_values_are_secretstr(tmp_path: Path) -> None:
    env_file = tmp_path / "s.env"
    env_file.write_text(f"GEMINI_API_KEY={SECRET}\n")
    env_file.chmod(0o600)
    settings = load_settings(SurfaceSettings, env_file)
    assert isinstance(settings.gemini_api_key, SecretStr)
    assert settings.gemini_api_key.get_secret_value() == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings) and SECRET not in settings.model_dump_json()


def test_parse_env_file_rejects_text_after_a_closing_quote(tmp_path: Path) -> None:
    env_file = tmp_path / "s.env"
    env_file.write_text('LOG_LEVEL="INFO" extra\n')
    with pytest.raises(ConfigError) as error:
        parse_env_file(env_file)
    assert error.value.key == "LOG_LEVEL"
