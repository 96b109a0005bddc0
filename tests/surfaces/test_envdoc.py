"""The committed env examples list every key of their process, with defaults that load cleanly."""

from pathlib import Path

import pytest

from shared.config import load_settings, parse_env_file
from surfaces.envdoc import EXAMPLES, _load, main, rendered

ENVS = Path(__file__).resolve().parents[2] / "envs"


def test_committed_examples_are_current() -> None:
    assert main(["--envs", str(ENVS), "--check"]) == 0, "run: python -m surfaces.envdoc"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_lists_exactly_the_process_keys_and_loads(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = _load(EXAMPLES[name][0])
    keys = set(parse_env_file(ENVS / name))
    assert keys == {field.upper() for field in cls.model_fields}
    for key in keys:
        monkeypatch.delenv(key, raising=False)
    settings = load_settings(cls, ENVS / name)
    assert settings.trading_mode == "paper"  # type: ignore[attr-defined]


def test_every_key_has_a_comment_line_above_it() -> None:
    for text in rendered().values():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if "=" in line and not line.startswith("#"):
                assert lines[i - 1].startswith("# ") and len(lines[i - 1]) > 3
