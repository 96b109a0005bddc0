"""Optional Discord and Telegram notifications for trades, breaker trips, quarantines and errors.

Sending happens on a background thread with a bounded queue, a timeout and a few retries: an unreachable webhook
never stalls a loop (a full queue drops the message and counts it). Webhook URLs and bot tokens are secrets and are
never logged. Telegram's Bot API puts the token in the URL path by its own design; we never print that URL.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifyTargets:
    discord_webhook_url: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    telegram_base_url: str = "https://api.telegram.org"


class _RedactSecrets(logging.Filter):
    """httpx logs each request's URL at INFO; a webhook URL or a Telegram bot URL carries the secret itself."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


class Notifier:
    """Fire-and-forget notifications. ``send`` never blocks and never raises."""

    def __init__(self, targets: NotifyTargets, *, timeout: float = 3.0, retries: int = 2,
                 transport: httpx.BaseTransport | None = None, maxsize: int = 200) -> None:
        self.targets = targets
        self.retries = retries
        self.dropped = 0
        self.failed = 0
        self.sent = 0
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=maxsize)
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._thread: threading.Thread | None = None
        secrets = [t.get_secret_value() for t in (targets.discord_webhook_url, targets.telegram_bot_token) if t]
        if secrets:
            logging.getLogger("httpx").addFilter(_RedactSecrets(secrets))
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return bool(self._deliveries())

    def send(self, text: str) -> None:
        if not self.enabled:
            return
        try:
            self._queue.put_nowait(text[:1900])
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 2.0) -> None:
        """Flush what is queued (up to ``timeout``) and stop the sender."""
        if self._thread is not None:
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout)
            self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while True:
            text = self._queue.get()
            if text is None:
                return
            for deliver in self._deliveries():
                if self._attempt(deliver, text):
                    self.sent += 1
                else:
                    self.failed += 1

    def _deliveries(self) -> list[str]:
        kinds = []
        if self.targets.discord_webhook_url is not None:
            kinds.append("discord")
        if self.targets.telegram_bot_token is not None and self.targets.telegram_chat_id is not None:
            kinds.append("telegram")
        return kinds

    def _attempt(self, kind: str, text: str) -> bool:
        for attempt in range(self.retries + 1):
            try:
                if kind == "discord":
                    assert self.targets.discord_webhook_url is not None
                    response = self._client.post(self.targets.discord_webhook_url.get_secret_value(),
                                                 json={"content": text})
                else:
                    assert self.targets.telegram_bot_token is not None
                    token = self.targets.telegram_bot_token.get_secret_value()
                    response = self._client.post(f"{self.targets.telegram_base_url}/bot{token}/sendMessage",
                                                 json={"chat_id": self.targets.telegram_chat_id, "text": text})
                if response.status_code < 300:
                    return True
                if response.status_code < 500 and response.status_code != 429:
                    log.warning("%s notification refused with HTTP %d", kind, response.status_code)
                    return False
            except httpx.HTTPError as exc:
                log.warning("%s notification failed: %s", kind, type(exc).__name__)
            time.sleep(min(2.0, 0.2 * 2**attempt) * (0.5 + random.random()))
        return False
