"""Telling the subscriber what happens: Telegram, Discord, email (SMTP) and the desktop, never blocking ``run``.

Discord and Telegram go through the operator's own ``shared.notify.Notifier`` (a background thread, a bounded queue,
a timeout and a few retries; a full queue drops and counts). Email and the desktop get the same treatment here:
one sender thread each, so a dead SMTP server or a missing ``notify-send`` never stalls the loop.

Every secret (webhook URL, bot token, SMTP password) lives in the 0600 env file named by ``[notify] secrets_file``
(``TBOT_NOTIFY_DISCORD_WEBHOOK_URL``, ``TBOT_NOTIFY_TELEGRAM_BOT_TOKEN``, ``TBOT_NOTIFY_TELEGRAM_CHAT_ID``,
``TBOT_NOTIFY_SMTP_URL`` = ``smtp[s]://user:password@host:port``, ``TBOT_NOTIFY_EMAIL_TO``, ``TBOT_NOTIFY_EMAIL_FROM``);
none is ever logged: failures are logged by kind and exception type only.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import SecretStr

from client.config import ClientConfig, read_secret_env
from client.engine import Outcome
from shared.config import ConfigError
from shared.notify import Notifier, NotifyTargets

log = logging.getLogger(__name__)

_VERDICT_EVENT = {"traded": "fills", "closed": "fills", "resolved": "fills", "error": "errors",
                  "equity_stop": "errors", "bad_signature": "errors"}


def event_of(outcome: Outcome) -> str | None:
    """Which notification event an outcome is: a fill, a skip (with its reason), an error; None for no-ops."""
    if outcome.verdict in _VERDICT_EVENT:
        return _VERDICT_EVENT[outcome.verdict]
    if outcome.skip_reason is not None and outcome.skip_reason != "not_followed":
        return "skips"
    return None


class _Sender:
    """One background thread draining a bounded queue into ``deliver``; ``send`` never blocks or raises."""

    def __init__(self, name: str, deliver: Callable[[str], None], *, retries: int = 2, maxsize: int = 200) -> None:
        self.name = name
        self._deliver = deliver
        self.retries = retries
        self.sent = self.failed = self.dropped = 0
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name=f"notify-{name}", daemon=True)
        self._thread.start()

    def send(self, text: str) -> None:
        try:
            self._queue.put_nowait(text)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 2.0) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (text := self._queue.get()) is not None:
            for attempt in range(self.retries + 1):
                try:
                    self._deliver(text)
                    self.sent += 1
                    break
                except Exception as exc:  # any failure: counted and logged by type, never with a secret
                    log.warning("%s notification failed: %s", self.name, type(exc).__name__)
                    time.sleep(min(2.0, 0.2 * 2**attempt))
            else:
                self.failed += 1


class SmtpTarget:
    """An email per message through ``smtp://`` (STARTTLS when offered) or ``smtps://`` (TLS from the start)."""

    def __init__(self, url: str, to: str, sender: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("TBOT_NOTIFY_SMTP_URL must be smtp://user:password@host:port or smtps://...")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = SecretStr(unquote(parts.password)) if parts.password else None
        self.to, self.sender, self.timeout = to, sender, timeout

    def __call__(self, text: str) -> None:
        message = EmailMessage()
        message["Subject"] = "tbot-client: " + text.splitlines()[0][:120]
        message["From"], message["To"] = self.sender, self.to
        message.set_content(text)
        factory = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with factory(self.host, self.port, timeout=self.timeout) as server:
            if not self.tls and server.has_extn("starttls"):
                server.starttls()
            if self.user and self.password is not None:
                server.login(self.user, self.password.get_secret_value())
            server.send_message(message)


def desktop_target() -> Callable[[str], None] | None:
    """``notify-send`` on Linux, ``osascript`` on macOS; None where neither exists."""
    if sys.platform == "darwin" and shutil.which("osascript"):
        def mac(text: str) -> None:
            script = f"display notification {_applescript(text)} with title \"tbot-client\""
            subprocess.run(["osascript", "-e", script], check=True, timeout=5, capture_output=True)
        return mac
    if shutil.which("notify-send"):
        def linux(text: str) -> None:
            subprocess.run(["notify-send", "tbot-client", text], check=True, timeout=5, capture_output=True)
        return linux
    return None


def _applescript(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ClientNotifier:
    """Routes the client's events to every configured channel; all of it off the ``run`` thread."""

    def __init__(self, events: tuple[str, ...], *, hooks: Notifier | None = None,
                 senders: list[_Sender] | None = None) -> None:
        self.events = events
        self.hooks = hooks
        self.senders = senders or []

    @property
    def enabled(self) -> bool:
        return bool(self.senders) or (self.hooks is not None and self.hooks.enabled)

    def notify(self, event: str, text: str) -> None:
        if event not in self.events:
            return
        if self.hooks is not None:
            self.hooks.send(text)
        for sender in self.senders:
            sender.send(text)

    def outcome(self, outcome: Outcome) -> None:
        event = event_of(outcome)
        if event is not None:
            reason = f" [{outcome.skip_reason}]" if event == "skips" and outcome.skip_reason else ""
            self.notify(event, f"{outcome.verdict}{reason}: {outcome.message}")

    def close(self) -> None:
        if self.hooks is not None:
            self.hooks.close()
        for sender in self.senders:
            sender.close()


def quiet_http_logs() -> None:
    """httpx logs every request's URL at INFO, and a Discord webhook URL or a Telegram bot URL *is* the secret:
    keep those loggers at WARNING whatever level the rest of the client logs at."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_notifier(config: ClientConfig, *, transport: httpx.BaseTransport | None = None) -> ClientNotifier:
    """The channels the config and its 0600 secrets file name; an empty notifier when none are set."""
    quiet_http_logs()
    section = config.notify
    desktop = desktop_target() if section.desktop else None
    if section.secrets_file is None:
        return ClientNotifier(section.events, senders=[_Sender("desktop", desktop)] if desktop else [])
    path = config.resolve(section.secrets_file)
    values = read_secret_env(path)
    webhook = values.get("TBOT_NOTIFY_DISCORD_WEBHOOK_URL")
    bot = values.get("TBOT_NOTIFY_TELEGRAM_BOT_TOKEN")
    targets = NotifyTargets(
        discord_webhook_url=SecretStr(webhook) if webhook else None,
        telegram_bot_token=SecretStr(bot) if bot else None,
        telegram_chat_id=values.get("TBOT_NOTIFY_TELEGRAM_CHAT_ID") or None,
        telegram_base_url=values.get("TBOT_NOTIFY_TELEGRAM_BASE_URL", "https://api.telegram.org"),
    )
    senders: list[_Sender] = []
    smtp_url = values.get("TBOT_NOTIFY_SMTP_URL")
    if smtp_url:
        to = values.get("TBOT_NOTIFY_EMAIL_TO")
        if not to:
            raise ConfigError(path, "TBOT_NOTIFY_EMAIL_TO", "required with TBOT_NOTIFY_SMTP_URL")
        try:
            target = SmtpTarget(smtp_url, to, values.get("TBOT_NOTIFY_EMAIL_FROM", to))
        except ValueError as exc:
            raise ConfigError(path, "TBOT_NOTIFY_SMTP_URL", str(exc)) from None
        senders.append(_Sender("email", target))
    if desktop is not None:
        senders.append(_Sender("desktop", desktop))
    hooks = Notifier(targets, transport=transport)
    return ClientNotifier(section.events, hooks=hooks if hooks.enabled else None, senders=senders)
