"""Notifications go out in the background: delivered, retried on a 5xx, and never able to stall a loop."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest
from pydantic import SecretStr

from shared.notify import Notifier, NotifyTargets

DISCORD = "https://discord.example/api/webhooks/123/secret-part"


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def test_discord_and_telegram_both_receive_the_message() -> None:
    seen: list[tuple[str, dict[str, object]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        seen.append((request.url.host, json.loads(request.content)))
        return httpx.Response(204 if "discord" in request.url.host else 200)

    notifier = Notifier(NotifyTargets(SecretStr(DISCORD), SecretStr("12345:token"), "42",
                                      telegram_base_url="https://telegram.example"),
                        transport=httpx.MockTransport(handler))
    notifier.send("[fx] long EUR_USD @ 1.16397")
    wait_until(lambda: notifier.sent == 2)
    notifier.close()
    assert ("discord.example", {"content": "[fx] long EUR_USD @ 1.16397"}) in seen
    assert ("telegram.example", {"chat_id": "42", "text": "[fx] long EUR_USD @ 1.16397"}) in seen


def test_a_5xx_is_retried_and_a_4xx_is_not(caplog: pytest.LogCaptureFixture) -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(503 if calls["n"] == 1 else 204)

    notifier = Notifier(NotifyTargets(SecretStr(DISCORD)), transport=httpx.MockTransport(flaky))
    notifier.send("trip")
    wait_until(lambda: notifier.sent == 1)
    notifier.close()
    assert calls["n"] == 2

    refused = {"n": 0}

    def forbidden(request: httpx.Request) -> httpx.Response:
        refused["n"] += 1
        return httpx.Response(403)

    with caplog.at_level(logging.WARNING):
        notifier = Notifier(NotifyTargets(SecretStr(DISCORD)), transport=httpx.MockTransport(forbidden))
        notifier.send("trip")
        wait_until(lambda: notifier.failed == 1)
        notifier.close()
    assert refused["n"] == 1
    assert "secret-part" not in caplog.text  # the webhook URL is a secret and never logged


def test_an_unreachable_webhook_never_blocks_the_sender_and_a_full_queue_drops() -> None:
    release = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(5)
        raise httpx.ConnectTimeout("no route", request=request)

    notifier = Notifier(NotifyTargets(SecretStr(DISCORD)), transport=httpx.MockTransport(hang), maxsize=3,
                        retries=0)
    started = time.perf_counter()
    for i in range(20):
        notifier.send(f"message {i}")
    assert time.perf_counter() - started < 0.05  # the loop is never held up by the webhook
    assert notifier.dropped >= 16
    release.set()
    notifier.close(timeout=5)


def test_without_targets_nothing_is_started_or_sent() -> None:
    notifier = Notifier(NotifyTargets())
    assert not notifier.enabled
    notifier.send("ignored")
    notifier.close()
    assert notifier.sent == notifier.failed == notifier.dropped == 0
