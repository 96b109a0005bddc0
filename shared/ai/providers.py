"""The four LLM providers behind one thin interface, each through its official SDK.

A :class:`Provider` sends one prompt and returns the reply text with the token usage the SDK reports, or raises
:class:`ProviderError` carrying the abstention reason and whether a retry may help. Each SDK client is built with
``max_retries=0``: retries and backoff belong to the ensemble, where they are bounded by the per-call deadline
and testable. Each provider takes an injectable ``httpx2.Client`` (tests pass one over ``httpx2.MockTransport``).
Error details carry the HTTP status and exception class only: SDK messages can echo part of an API key.

Each SDK is imported when a provider for it is built, not when this module is: in paper mode without keys no SDK
is loaded at all, which keeps a loop's start-up fast and its memory small (the three SDKs cost ~90 MB and seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import httpx2

from shared.ai.prompt import ANSWER_SCHEMA
from shared.ai.schema import AbstainReason
from shared.ai.settings import ModelSpec


@dataclass(frozen=True, slots=True)
class Completion:
    """A reply and its billed usage (output tokens include any reasoning tokens the provider bills)."""

    text: str | None
    input_tokens: int
    output_tokens: int


class ProviderError(Exception):
    """A call that produced no reply. ``retryable``: 429, 5xx or a dropped connection."""

    def __init__(
        self, reason: AbstainReason, detail: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.reason: AbstainReason = reason
        self.detail = detail
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.reason in ("rate_limited", "server_error", "connection_error")


class Provider(Protocol):
    """One model behind one SDK."""

    spec: ModelSpec

    def complete(self, system: str, prompt: str, *, timeout: float, max_tokens: int) -> Completion:
        """Send one prompt; raise :class:`ProviderError` when no reply came back."""
        ...

    def close(self) -> None:
        """Release the HTTP client."""
        ...


def _retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (the HTTP-date form is ignored)."""
    if headers is None:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def status_error(status: int, name: str, headers: Any = None) -> ProviderError:
    """Map an HTTP status to an abstention reason."""
    detail = f"HTTP {status} ({name})"
    if status == 429:
        return ProviderError("rate_limited", detail, status=status, retry_after=_retry_after(headers))
    if status >= 500:
        return ProviderError("server_error", detail, status=status, retry_after=_retry_after(headers))
    if status in (401, 403):
        return ProviderError("auth_error", detail, status=status)
    return ProviderError("bad_request", detail, status=status)


class AnthropicProvider:
    """Claude through the ``anthropic`` SDK (Messages API, structured JSON output)."""

    def __init__(
        self, spec: ModelSpec, api_key: str, *, base_url: str | None = None, http_client: httpx2.Client | None = None
    ) -> None:
        import anthropic

        self.spec = spec
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0, http_client=http_client)

    def complete(self, system: str, prompt: str, *, timeout: float, max_tokens: int) -> Completion:
        import anthropic

        try:
            message = self._client.messages.create(
                model=self.spec.model,
                max_tokens=max_tokens,
                system=system,
                messages=[{"role": "user", "content": prompt}],
                output_config={"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}},
                timeout=timeout,
            )
        except anthropic.APITimeoutError:
            raise ProviderError("timeout", "request timed out") from None
        except anthropic.APIConnectionError as exc:
            raise ProviderError("connection_error", type(exc).__name__) from None
        except anthropic.APIStatusError as exc:
            raise status_error(exc.status_code, type(exc).__name__, exc.response.headers) from None
        text = "".join(block.text for block in message.content if block.type == "text")
        usage = message.usage
        return Completion(text or None, usage.input_tokens or 0, usage.output_tokens or 0)

    def close(self) -> None:
        self._client.close()


class OpenAICompatibleProvider:
    """GPT-4o through the ``openai`` SDK; also DeepSeek, whose API is OpenAI-compatible at its own base URL."""

    def __init__(
        self,
        spec: ModelSpec,
        api_key: str,
        *,
        base_url: str | None = None,
        http_client: httpx2.Client | None = None,
    ) -> None:
        import openai

        self.spec = spec
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, http_client=http_client)

    def _format_kwargs(self, max_tokens: int) -> dict[str, Any]:
        if self.spec.provider == "deepseek":
            # DeepSeek implements JSON mode (json_object), not json_schema, and the classic max_tokens.
            return {"response_format": {"type": "json_object"}, "max_tokens": max_tokens}
        schema = {"name": "forecast", "strict": True, "schema": ANSWER_SCHEMA}
        return {"response_format": {"type": "json_schema", "json_schema": schema}, "max_completion_tokens": max_tokens}

    def complete(self, system: str, prompt: str, *, timeout: float, max_tokens: int) -> Completion:
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.spec.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                temperature=0,
                timeout=timeout,
                **self._format_kwargs(max_tokens),
            )
        except openai.APITimeoutError:
            raise ProviderError("timeout", "request timed out") from None
        except openai.APIConnectionError as exc:
            raise ProviderError("connection_error", type(exc).__name__) from None
        except openai.APIStatusError as exc:
            raise status_error(exc.status_code, type(exc).__name__, exc.response.headers) from None
        text = response.choices[0].message.content if response.choices else None
        usage = response.usage
        if usage is None:
            return Completion(text, 0, 0)
        return Completion(text, usage.prompt_tokens or 0, usage.completion_tokens or 0)

    def close(self) -> None:
        self._client.close()


class GeminiProvider:
    """Gemini through ``google-genai`` (``from google import genai``; not the retired google-generativeai)."""

    def __init__(
        self, spec: ModelSpec, api_key: str, *, base_url: str | None = None, http_client: httpx2.Client | None = None
    ) -> None:
        from google import genai
        from google.genai import types as genai_types

        self.spec = spec
        options = genai_types.HttpOptions(base_url=base_url, httpx_client=http_client)
        self._client = genai.Client(api_key=api_key, http_options=options)

    def complete(self, system: str, prompt: str, *, timeout: float, max_tokens: int) -> Completion:
        from google.genai import errors as genai_errors
        from google.genai import types as genai_types

        config = genai_types.GenerateContentConfig(
            system_instruction=system,
            temperature=0,
            max_output_tokens=max_tokens,
            response_mime_type="application/json",
            response_json_schema=ANSWER_SCHEMA,
            # Flash models think by default, and thinking tokens count against max_output_tokens: a short
            # forecast does not need them, and without this the JSON can be cut off.
            thinking_config=genai_types.ThinkingConfig(thinking_budget=0) if "flash" in self.spec.model else None,
            http_options=genai_types.HttpOptions(timeout=max(1, int(timeout * 1000))),
        )
        try:
            response = self._client.models.generate_content(model=self.spec.model, contents=prompt, config=config)
        except (httpx2.TimeoutException, httpx.TimeoutException):
            raise ProviderError("timeout", "request timed out") from None
        except (httpx2.TransportError, httpx.TransportError) as exc:
            raise ProviderError("connection_error", type(exc).__name__) from None
        except genai_errors.APIError as exc:
            headers = getattr(exc.response, "headers", None)
            raise status_error(int(exc.code), type(exc).__name__, headers) from None
        usage = response.usage_metadata
        if usage is None:
            return Completion(response.text, 0, 0)
        output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        return Completion(response.text, usage.prompt_token_count or 0, output)

    def close(self) -> None:
        self._client.close()


def make_provider(
    spec: ModelSpec, api_key: str, *, base_url: str | None = None, http_client: httpx2.Client | None = None
) -> Provider:
    """The provider for a configured model."""
    if spec.provider == "anthropic":
        return AnthropicProvider(spec, api_key, base_url=base_url, http_client=http_client)
    if spec.provider in ("openai", "deepseek"):
        return OpenAICompatibleProvider(spec, api_key, base_url=base_url, http_client=http_client)
    return GeminiProvider(spec, api_key, base_url=base_url, http_client=http_client)
