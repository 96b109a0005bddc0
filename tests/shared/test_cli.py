"""The ``tbot`` command: top-level help, and ``--help`` on every subcommand whose module exists."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from shared.cli import COMMANDS, main
from shared.config import repo_root


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package that does not exist yet
        return False


def test_tbot_help_lists_every_command() -> None:
    script = Path(sys.executable).parent / "tbot"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "shared.cli"]
    result = subprocess.run([*command, "--help"], cwd=repo_root(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: tbot")
    for name, cmd in COMMANDS.items():
        assert f"  {name}" in result.stdout and cmd.summary in result.stdout


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "commands:" in capsys.readouterr().out


def test_an_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_subcommand_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    command = COMMANDS[name]
    if not _module_exists(command.module):
        pytest.skip(f"{command.module} is not written yet")
    with pytest.raises(SystemExit) as exited:
        main([name, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tbot {name}")
    assert command.summary in out


def test_bench_lists_the_bus_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--list"]) == 0
    assert "bus" in capsys.readouterr().out.split("benchmarks: ", 1)[1].replace(",", " ").split()
