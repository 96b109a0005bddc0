"""Fixtures for the ensemble tests: combined settings, and a scripted fake of each LLM vendor's HTTP API.

The fakes sit *under* the official SDKs: each SDK gets an ``httpx2.Client`` over ``httpx2.MockTransport``, so
the SDK builds the real request and parses the real response shape; nothing reaches the network.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import pytest

from shared.ai.settings import EnsembleSettings
from shared.config import SurfaceSettings


class LtSettings(SurfaceSettings, EnsembleSettings):
    """What the lead builds for kalshi_lt / fx / stocks: surface keys plus the ensemble's."""


def answer_json(p: float, confidence: float = 0.7, rationale: str = "because") -> str:
    return json.dumps({"probability": p, "confidence": confidence, "rationale": rationale})


def anthropic_body(text: str, input_tokens: int = 1000, output_tokens: int = 100) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def openai_body(text: str | None, input_tokens: int = 1000, output_tokens: int = 100) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_763_600_000,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    }


def gemini_body(
    text: str, input_tokens: int = 1000, output_tokens: int = 100, thoughts_tokens: int = 0
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": input_tokens,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": input_tokens + output_tokens + thoughts_tokens,
    }
    if thoughts_tokens:
        usage["thoughtsTokenCount"] = thoughts_tokens
    return {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage,
        "modelVersion": "gemini-2.5-flash",
    }


BODIES: dict[str, Callable[..., dict[str, Any]]] = {
    "anthropic": anthropic_body,
    "openai": openai_body,
    "deepseek": openai_body,
    "gemini": gemini_body,
}

Step = httpx2.Response | Callable[[httpx2.Request], httpx2.Response]


@dataclass
class FakeVendor:
    """One vendor's API: replies from a script (last step repeats), requests recorded."""

    name: str
    script: list[Step] = field(default_factory=list)
    requests: list[httpx2.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        with self.lock:
            self.requests.append(request)
            if not self.script:
                raise AssertionError(f"{self.name}: unexpected request {request.url}")
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return step(request) if callable(step) else step

    def reply(self, p: float, confidence: float = 0.7, **usage: int) -> FakeVendor:
        """Answer every question with ``p`` (valid JSON in the vendor's envelope)."""
        self.script = [httpx2.Response(200, json=BODIES[self.name](answer_json(p, confidence), **usage))]
        return self

    def reply_text(self, text: str, **usage: int) -> FakeVendor:
        self.script = [httpx2.Response(200, json=BODIES[self.name](text, **usage))]
        return self

    def then(self, *steps: Step) -> FakeVendor:
        self.script = [*steps, *self.script] if self.script else list(steps)
        return self

    def body(self, index: int = -1) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.requests[index].content)
        return data

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handler))


def error(status: int, headers: dict[str, str] | None = None) -> httpx2.Response:
    """A vendor error in a shape every SDK accepts."""
    body = {"error": {"code": status, "message": "simulated", "status": "UNAVAILABLE", "type": "error"}}
    return httpx2.Response(status, json=body, headers=headers or {})


def hang(seconds: float) -> Callable[[httpx2.Request], httpx2.Response]:
    """A step that answers only after ``seconds`` (MockTransport enforces no timeout: the ensemble's deadline must)."""

    def step(request: httpx2.Request) -> httpx2.Response:
        time.sleep(seconds)
        return httpx2.Response(200, json={})

    return step


def read_timeout(request: httpx2.Request) -> httpx2.Response:
    """A step that times out the way a real socket read does inside the SDK's HTTP client."""
    raise httpx2.ReadTimeout("simulated read timeout", request=request)


@dataclass
class Vendors:
    anthropic: FakeVendor
    openai: FakeVendor
    gemini: FakeVendor
    deepseek: FakeVendor

    def all(self) -> list[FakeVendor]:
        return [self.anthropic, self.openai, self.gemini, self.deepseek]

    def clients(self) -> dict[str, httpx2.Client]:
        return {vendor.name: vendor.client() for vendor in self.all()}

    def request_count(self) -> int:
        return sum(len(vendor.requests) for vendor in self.all())


@pytest.fixture
def vendors() -> Iterator[Vendors]:
    yield Vendors(*(FakeVendor(name) for name in ("anthropic", "openai", "gemini", "deepseek")))


KEYS = {
    "anthropic_api_key": "anthropic-test-key-not-real",
    "openai_api_key": "sk-openai-test-secret",
    "gemini_api_key": "gemini-test-secret",
    "deepseek_api_key": "sk-deepseek-test-secret",
}


def keyed_settings(log_dir: Path, **overrides: Any) -> LtSettings:
    values: dict[str, Any] = {"log_dir": log_dir, "llm_retry_backoff_seconds": 0.01, **KEYS}
    values.update(overrides)
    return LtSettings(**values)


@pytest.fixture
def kit() -> ModuleType:
    """This module's helpers (importlib import mode cannot import a conftest by name)."""
    return sys.modules[__name__]
