"""The ensemble's configuration: a pydantic-settings mixin the LLM surfaces combine with ``SurfaceSettings``.

``class LtSettings(SurfaceSettings, EnsembleSettings)``: this mixin adds only ``LLM_*`` keys and the providers'
base URLs. The API keys, ``API_COST_CAP_CENTS``, ``MAX_MODEL_SPREAD`` and ``DAY_BOUNDARY_TZ`` live in
``SurfaceSettings`` and are read from the combined object (see :func:`shared.ai.ensemble.build_ensemble`).

Env-file format (strings validated strictly; a bad entry stops the process naming the key):

- ``LLM_MODELS=anthropic:claude-sonnet-4-6,openai:gpt-4o,gemini:gemini-2.5-flash,deepseek:deepseek-v4-flash``
  (``provider:model``; providers are anthropic, openai, gemini, deepseek; the model name is its label).
- ``LLM_WEIGHTS=claude-sonnet-4-6=0.4,gpt-4o=0.25,...`` (positive). A model not listed takes its built-in
  weight (:data:`DEFAULT_WEIGHTS`: Claude 0.4, GPT-4o 0.25, Gemini 0.2, DeepSeek 0.15), or 1.
- ``LLM_PRICES=claude-sonnet-4-6=3/15,...``: US dollars per million input / output tokens. A model not listed
  takes its built-in price (:data:`DEFAULT_PRICES`); a model with neither is a config error, so no call is ever
  unpriced and the cost cap cannot fail open.
- An entry naming a model that ``LLM_MODELS`` does not list is an error (a typo would otherwise be ignored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config import CsvList

ProviderName = Literal["anthropic", "openai", "gemini", "deepseek"]
PROVIDERS: tuple[str, ...] = ("anthropic", "openai", "gemini", "deepseek")
OFFLINE_MODEL = "offline-baseline"
"""The label the deterministic offline model answers under, on every signal it stands behind."""

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One configured model: who serves it, its ensemble weight and its token prices (USD per million)."""

    provider: ProviderName
    model: str
    weight: float
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal


def _parse_pairs(entries: tuple[str, ...], key: str, separator: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for entry in entries:
        name, sep, value = entry.partition(separator)
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ValueError(f"{key}: entry {entry!r} is not name{separator}value")
        if name in pairs:
            raise ValueError(f"{key}: {name!r} listed twice")
        pairs[name] = value
    return pairs


def _parse_models(entries: tuple[str, ...]) -> dict[str, str]:
    """model -> provider, validated."""
    models: dict[str, str] = {}
    for provider, model in _parse_pairs_ordered(entries):
        if provider not in PROVIDERS:
            raise ValueError(f"LLM_MODELS: unknown provider {provider!r} (expected one of {', '.join(PROVIDERS)})")
        if not _MODEL_NAME.match(model) or model == OFFLINE_MODEL:
            raise ValueError(f"LLM_MODELS: invalid model name {model!r}")
        if model in models:
            raise ValueError(f"LLM_MODELS: model {model!r} listed twice")
        models[model] = provider
    return models


def _parse_pairs_ordered(entries: tuple[str, ...]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for entry in entries:
        provider, sep, model = entry.partition(":")
        if not sep or not provider.strip() or not model.strip():
            raise ValueError(f"LLM_MODELS: entry {entry!r} is not provider:model")
        out.append((provider.strip().lower(), model.strip()))
    return out


def _decimal(text: str, key: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{key}: {name}: {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{key}: {name}: {text!r} must be a finite number >= 0")
    return value


DEFAULT_WEIGHTS: dict[str, float] = {
    "claude-sonnet-4-6": 0.4,
    "gpt-4o": 0.25,
    "gemini-2.5-flash": 0.2,
    "deepseek-v4-flash": 0.15,
}
"""Built-in weights of the default models (Claude primary); ``LLM_WEIGHTS`` overrides them per model."""

DEFAULT_PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "claude-sonnet-4-6": (Decimal("3"), Decimal("15")),
    "gpt-4o": (Decimal("2.5"), Decimal("10")),
    "gemini-2.5-flash": (Decimal("0.3"), Decimal("2.5")),
    "deepseek-v4-flash": (Decimal("0.28"), Decimal("0.42")),
}
"""Built-in list prices, USD per million input / output tokens (from the providers' price pages; check them
before going live and override with ``LLM_PRICES``)."""


class EnsembleSettings(BaseSettings):
    """``LLM_*`` keys of the ensemble. Combine with ``SurfaceSettings`` by multiple inheritance."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=False, env_prefix="")

    llm_models: CsvList = (
        "anthropic:claude-sonnet-4-6",
        "openai:gpt-4o",
        "gemini:gemini-2.5-flash",
        "deepseek:deepseek-v4-flash",
    )
    llm_weights: CsvList = Field(default=(), description="model=weight; unlisted models: DEFAULT_WEIGHTS, else 1")
    llm_prices: CsvList = Field(
        default=(),
        description="model=input/output USD per million tokens; unlisted models: DEFAULT_PRICES (required)",
    )
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=300, description="Per model, retries included")
    llm_max_retries: int = Field(
        default=2, ge=0, le=5, description="Retries after a 429, a 5xx or a dropped connection"
    )
    llm_retry_backoff_seconds: float = Field(default=0.5, ge=0, le=30, description="First backoff; doubles each retry")
    llm_max_output_tokens: int = Field(default=400, ge=64, le=8192)
    llm_cache_ttl_seconds: int = Field(default=3600, ge=0, description="Same market and context: answer reused")
    llm_learned_weights: bool = Field(default=False, description="Weights from resolved history (inverse Brier)")
    llm_learned_weights_min_resolved: int = Field(default=30, ge=1)
    llm_offline_base_rate: float = Field(default=0.5, gt=0, lt=1)
    llm_offline_slope: float = Field(
        default=1.0, gt=0, le=3, description="Offline baseline: logit slope around the base rate (1: the market itself)"
    )
    llm_offline_confidence: float = Field(default=0.3, ge=0, le=1)
    anthropic_base_url: str | None = None
    openai_base_url: str | None = None
    gemini_base_url: str | None = None
    deepseek_base_url: str = "https://api.deepseek.com"

    @field_validator("llm_models")
    @classmethod
    def _check_models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _parse_models(value)
        return value

    @field_validator("llm_weights")
    @classmethod
    def _check_weights(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name, text in _parse_pairs(value, "LLM_WEIGHTS", "=").items():
            if _decimal(text, "LLM_WEIGHTS", name) <= 0:
                raise ValueError(f"LLM_WEIGHTS: {name}: weight must be > 0")
        return value

    @field_validator("llm_prices")
    @classmethod
    def _check_prices(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name, text in _parse_pairs(value, "LLM_PRICES", "=").items():
            parts = text.split("/")
            if len(parts) != 2:
                raise ValueError(f"LLM_PRICES: {name}: expected input/output USD per million tokens, got {text!r}")
            for part in parts:
                _decimal(part.strip(), "LLM_PRICES", name)
        return value

    @model_validator(mode="after")
    def _check_tables(self) -> EnsembleSettings:
        models = _parse_models(self.llm_models)
        for name in _parse_pairs(self.llm_weights, "LLM_WEIGHTS", "="):
            if name not in models:
                raise ValueError(f"LLM_WEIGHTS: {name!r} is not a model in LLM_MODELS")
        prices = _parse_pairs(self.llm_prices, "LLM_PRICES", "=")
        for name in prices:
            if name not in models:
                raise ValueError(f"LLM_PRICES: {name!r} is not a model in LLM_MODELS")
        for name in models:
            if name not in prices and name not in DEFAULT_PRICES:
                raise ValueError(f"LLM_PRICES: no price for {name!r} (every model needs one, or its cost is unknown)")
        return self

    def model_specs(self) -> tuple[ModelSpec, ...]:
        """The configured models in order, with weights and prices resolved."""
        models = _parse_models(self.llm_models)
        weights = _parse_pairs(self.llm_weights, "LLM_WEIGHTS", "=")
        prices = _parse_pairs(self.llm_prices, "LLM_PRICES", "=")
        specs: list[ModelSpec] = []
        for model, provider in models.items():
            if model in prices:
                price_in, price_out = (Decimal(part.strip()) for part in prices[model].split("/"))
            else:
                price_in, price_out = DEFAULT_PRICES[model]
            weight = float(Decimal(weights[model])) if model in weights else DEFAULT_WEIGHTS.get(model, 1.0)
            specs.append(
                ModelSpec(
                    provider=provider,  # type: ignore[arg-type]  # validated against PROVIDERS above
                    model=model,
                    weight=weight,
                    input_usd_per_mtok=price_in,
                    output_usd_per_mtok=price_out,
                )
            )
        return tuple(specs)
