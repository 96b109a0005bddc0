"""EnsembleSettings: strict env-file strings, combined with SurfaceSettings the way the surfaces use it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import ValidationError

from shared.ai.settings import EnsembleSettings, ModelSpec
from shared.config import ConfigError, load_settings


def write_env(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lt.env"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_defaults_resolve_to_four_priced_models() -> None:
    specs = EnsembleSettings().model_specs()
    assert [(s.provider, s.model) for s in specs] == [
        ("anthropic", "claude-sonnet-4-6"),
        ("openai", "gpt-4o"),
        ("gemini", "gemini-2.5-flash"),
        ("deepseek", "deepseek-v4-flash"),
    ]
    assert specs[0] == ModelSpec("anthropic", "claude-sonnet-4-6", 0.4, Decimal(3), Decimal(15))
    assert sum(s.weight for s in specs) == pytest.approx(1.0)
    assert EnsembleSettings().deepseek_base_url == "https://api.deepseek.com"


def test_combined_with_surface_settings_from_an_env_file(kit: ModuleType, tmp_path: Path) -> None:
    env = write_env(
        tmp_path,
        "TRADING_MODE=paper\n"
        "ANTHROPIC_API_KEY=anthropic-test-key\n"
        "API_COST_CAP_CENTS=250\n"
        "MAX_MODEL_SPREAD=0.1\n"
        "LLM_MODELS=anthropic:claude-sonnet-4-6, deepseek:deepseek-v4-pro\n"
        "LLM_WEIGHTS=claude-sonnet-4-6=3\n"
        "LLM_PRICES=claude-sonnet-4-6=3/15,deepseek-v4-pro=0.5/1.5\n"
        "LLM_TIMEOUT_SECONDS=12.5\n"
        "LLM_CACHE_TTL_SECONDS=600\n",
    )
    settings = load_settings(kit.LtSettings, env)
    assert settings.api_cost_cap_cents == 250 and settings.max_model_spread == 0.1
    assert settings.anthropic_api_key is not None and settings.llm_timeout_seconds == 12.5
    specs = settings.model_specs()
    assert [(s.model, s.weight) for s in specs] == [("claude-sonnet-4-6", 3.0), ("deepseek-v4-pro", 1.0)]
    assert specs[1].output_usd_per_mtok == Decimal("1.5")


@pytest.mark.parametrize(
    ("line", "key", "fragment"),
    [
        ("LLM_MODELS=mistral:large", "LLM_MODELS", "unknown provider"),
        ("LLM_MODELS=gpt-4o", "LLM_MODELS", "provider:model"),
        ("LLM_MODELS=openai:gpt-4o,openai:gpt-4o", "LLM_MODELS", "twice"),
        ("LLM_WEIGHTS=gpt-4o=-1", "LLM_WEIGHTS", "finite number >= 0"),
        ("LLM_WEIGHTS=gpt-4o=0", "LLM_WEIGHTS", "must be > 0"),
        ("LLM_WEIGHTS=gpt-5=1", "LLM_WEIGHTS", "not a model"),
        ("LLM_PRICES=gpt-4o=2.5", "LLM_PRICES", "input/output"),
        ("LLM_PRICES=gpt-4o=abc/1", "LLM_PRICES", "not a number"),
        ("LLM_MODELS=openai:gpt-5", "LLM_PRICES", "no price"),
        ("LLM_TIMEOUT_SECONDS=0", "LLM_TIMEOUT_SECONDS", ""),
        ("LLM_TEMPERATURE=0.2", "LLM_TEMPERATURE", "unknown key"),
    ],
)
def test_bad_values_name_their_key(kit: ModuleType, tmp_path: Path, line: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(kit.LtSettings, write_env(tmp_path, line + "\n"))
    assert caught.value.key == key
    assert fragment in caught.value.message


def test_a_subset_of_models_keeps_builtin_weights_and_prices(kit: ModuleType, tmp_path: Path) -> None:
    env = write_env(tmp_path, "LLM_MODELS=openai:gpt-4o,deepseek:deepseek-v4-flash\nLLM_WEIGHTS=\n")
    specs = load_settings(kit.LtSettings, env).model_specs()
    assert [(s.model, s.weight, s.input_usd_per_mtok) for s in specs] == [
        ("gpt-4o", 0.25, Decimal("2.5")),
        ("deepseek-v4-flash", 0.15, Decimal("0.28")),
    ]


def test_settings_are_frozen() -> None:
    settings = EnsembleSettings()
    with pytest.raises(ValidationError):
        settings.llm_timeout_seconds = 1.0  # type: ignore[misc]
