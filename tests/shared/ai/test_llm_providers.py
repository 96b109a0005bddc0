"""Each provider drives its real SDK through a mock httpx2 transport: request shape, parsing, usage, errors."""

from __future__ import annotations

from decimal import Decimal
from types import ModuleType

import pytest

from shared.ai.prompt import ANSWER_SCHEMA, SYSTEM_PROMPT
from shared.ai.providers import Provider, ProviderError, make_provider
from shared.ai.settings import ModelSpec

SPECS = {
    "anthropic": ModelSpec("anthropic", "claude-sonnet-4-6", 0.4, Decimal(3), Decimal(15)),
    "openai": ModelSpec("openai", "gpt-4o", 0.25, Decimal("2.5"), Decimal(10)),
    "gemini": ModelSpec("gemini", "gemini-2.5-flash", 0.2, Decimal("0.3"), Decimal("2.5")),
    "deepseek": ModelSpec("deepseek", "deepseek-v4-flash", 0.15, Decimal("0.28"), Decimal("0.42")),
}
SECRET = "sk-test-secret-value"


def provider_for(name: str, vendor: object, base_url: str | None = None) -> Provider:
    if name == "deepseek" and base_url is None:
        base_url = "https://api.deepseek.com"
    return make_provider(SPECS[name], SECRET, base_url=base_url, http_client=vendor.client())  # type: ignore[attr-defined]


def test_anthropic_request_shape_and_usage(kit: ModuleType) -> None:
    vendor = kit.FakeVendor("anthropic").reply(0.62, input_tokens=812, output_tokens=57)
    completion = provider_for("anthropic", vendor).complete(SYSTEM_PROMPT, "Question: X?", timeout=5, max_tokens=300)
    request = vendor.requests[0]
    assert request.method == "POST" and str(request.url) == "https://api.anthropic.com/v1/messages"
    assert SECRET in (request.headers.get("x-api-key", "") + request.headers.get("authorization", ""))
    body = vendor.body()
    assert body["model"] == "claude-sonnet-4-6" and body["max_tokens"] == 300
    assert body["system"] == SYSTEM_PROMPT
    assert body["messages"] == [{"role": "user", "content": "Question: X?"}]
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}}
    assert completion.input_tokens == 812 and completion.output_tokens == 57
    assert completion.text == kit.answer_json(0.62)


def test_openai_request_shape_and_usage(kit: ModuleType) -> None:
    vendor = kit.FakeVendor("openai").reply(0.3, input_tokens=500, output_tokens=40)
    completion = provider_for("openai", vendor).complete(SYSTEM_PROMPT, "Question: Y?", timeout=5, max_tokens=256)
    request = vendor.requests[0]
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    body = vendor.body()
    assert body["model"] == "gpt-4o" and body["temperature"] == 0 and body["max_completion_tokens"] == 256
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert body["messages"][1] == {"role": "user", "content": "Question: Y?"}
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"] == ANSWER_SCHEMA
    assert (completion.input_tokens, completion.output_tokens) == (500, 40)


def test_deepseek_goes_through_openai_sdk_at_its_base_url(kit: ModuleType) -> None:
    vendor = kit.FakeVendor("deepseek").reply(0.4, input_tokens=300, output_tokens=30)
    completion = provider_for("deepseek", vendor).complete(SYSTEM_PROMPT, "Q", timeout=5, max_tokens=128)
    assert str(vendor.requests[0].url) == "https://api.deepseek.com/chat/completions"
    assert vendor.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    body = vendor.body()
    assert body["model"] == "deepseek-v4-flash" and body["max_tokens"] == 128
    assert body["response_format"] == {"type": "json_object"}  # DeepSeek's JSON mode
    assert (completion.input_tokens, completion.output_tokens) == (300, 30)


def test_gemini_request_shape_and_usage_counts_thinking(kit: ModuleType) -> None:
    vendor = kit.FakeVendor("gemini")
    vendor.script = [
        kit.httpx2.Response(
            200, json=kit.gemini_body(kit.answer_json(0.55), input_tokens=700, output_tokens=35, thoughts_tokens=12)
        )
    ]
    completion = provider_for("gemini", vendor).complete(SYSTEM_PROMPT, "Question: Z?", timeout=5, max_tokens=200)
    request = vendor.requests[0]
    assert request.url.host == "generativelanguage.googleapis.com"
    assert request.url.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert request.headers["x-goog-api-key"] == SECRET
    assert SECRET not in str(request.url)  # the key travels in a header, never in the URL
    body = vendor.body()
    assert body["contents"] == [{"parts": [{"text": "Question: Z?"}], "role": "user"}]
    assert body["systemInstruction"]["parts"] == [{"text": SYSTEM_PROMPT}]
    config = body["generationConfig"]
    assert config["temperature"] == 0 and config["maxOutputTokens"] == 200
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == ANSWER_SCHEMA
    # The SDK sends this nested field in snake_case; the proto-JSON API accepts either spelling.
    assert config["thinkingConfig"] in ({"thinkingBudget": 0}, {"thinking_budget": 0})
    assert completion.input_tokens == 700 and completion.output_tokens == 35 + 12  # thinking is billed as output


@pytest.mark.parametrize("name", ["anthropic", "openai", "gemini", "deepseek"])
def test_base_url_override(kit: ModuleType, name: str) -> None:
    vendor = kit.FakeVendor(name).reply(0.5)
    provider_for(name, vendor, base_url="http://127.0.0.1:9/llm").complete("s", "q", timeout=5, max_tokens=64)
    assert str(vendor.requests[0].url).startswith("http://127.0.0.1:9/llm")


@pytest.mark.parametrize("name", ["anthropic", "openai", "gemini", "deepseek"])
@pytest.mark.parametrize(
    ("status", "reason", "retryable"),
    [
        (429, "rate_limited", True),
        (500, "server_error", True),
        (503, "server_error", True),
        (401, "auth_error", False),
        (400, "bad_request", False),
    ],
)
def test_http_errors_map_to_reasons(kit: ModuleType, name: str, status: int, reason: str, retryable: bool) -> None:
    vendor = kit.FakeVendor(name)
    vendor.script = [kit.error(status, {"retry-after": "3"})]
    with pytest.raises(ProviderError) as caught:
        provider_for(name, vendor).complete("s", "q", timeout=5, max_tokens=64)
    assert caught.value.reason == reason and caught.value.retryable is retryable
    assert caught.value.status == status
    assert len(vendor.requests) == 1  # SDK retries are off: retrying is the ensemble's job
    if reason in ("rate_limited", "server_error"):
        assert caught.value.retry_after == 3.0
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("name", ["anthropic", "openai", "gemini", "deepseek"])
def test_read_timeout_is_a_timeout(kit: ModuleType, name: str) -> None:
    vendor = kit.FakeVendor(name)
    vendor.script = [kit.read_timeout]
    with pytest.raises(ProviderError) as caught:
        provider_for(name, vendor).complete("s", "q", timeout=5, max_tokens=64)
    assert caught.value.reason == "timeout" and not caught.value.retryable


@pytest.mark.parametrize("name", ["anthropic", "openai", "gemini"])
def test_connection_error_is_retryable(kit: ModuleType, name: str) -> None:
    def refuse(request: object) -> object:
        raise kit.httpx2.ConnectError("refused", request=request)

    vendor = kit.FakeVendor(name)
    vendor.script = [refuse]
    with pytest.raises(ProviderError) as caught:
        provider_for(name, vendor).complete("s", "q", timeout=5, max_tokens=64)
    assert caught.value.reason == "connection_error" and caught.value.retryable
