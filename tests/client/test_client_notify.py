"""Notifications against loopback fakes (Discord, Telegram, SMTP): delivery, retry, a dead endpoint never stalls
the loop, no secret in any log; feed-loss alerts from the run loop."""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.engine import Outcome
from client.notify import build_notifier
from shared.config import ConfigError

BOT_TOKEN = "123456:telegram-secret-token"
SMTP_PASSWORD = "smtp-secret-password"


class Hooks:
    """A loopback HTTP server standing in for Discord's webhook and Telegram's Bot API."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if outer.fail_first > 0:
                    outer.fail_first -= 1
                    self.send_response(500)
                else:
                    outer.posts.append((self.path, body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Smtp:
    """A loopback SMTP server that accepts everything and keeps each message's DATA."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.logins: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 fake ESMTP\r\n")
                while line := self.rfile.readline():
                    command = line.decode().strip()
                    upper = command.upper()
                    if upper.startswith("EHLO"):
                        self.wfile.write(b"250-fake\r\n250 AUTH PLAIN\r\n")
                    elif upper.startswith("AUTH"):
                        outer.logins.append(command)
                        self.wfile.write(b"235 ok\r\n")
                    elif upper == "DATA":
                        self.wfile.write(b"354 go\r\n")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk.decode())
                        outer.messages.append("".join(data))
                        self.wfile.write(b"250 queued\r\n")
                    elif upper == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def secrets(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "client" / "notify.env"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


TRADED = Outcome("sig-1", "traded", "kalshi_st KX-A yes 10 contracts @ 0.40", {"surface": "kalshi_st"})
SKIPPED = Outcome("sig-2", "skipped", "AVGO: size 0 (one unit costs 62759c)", {"reason": "unit_over_signal_cap"})


def test_discord_telegram_and_email_get_fills_and_skips_with_the_reason(make_config, tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    hooks, smtp = Hooks(fail_first=1), Smtp()  # the first webhook call fails: retried
    try:
        secrets(tmp_path, f"TBOT_NOTIFY_DISCORD_WEBHOOK_URL={hooks.url}/api/webhooks/1/discord-secret\n"
                          f"TBOT_NOTIFY_TELEGRAM_BOT_TOKEN={BOT_TOKEN}\nTBOT_NOTIFY_TELEGRAM_CHAT_ID=42\n"
                          f"TBOT_NOTIFY_TELEGRAM_BASE_URL={hooks.url}\n"
                          f"TBOT_NOTIFY_SMTP_URL=smtp://me%40example.com:{SMTP_PASSWORD}@127.0.0.1:{smtp.port}\n"
                          "TBOT_NOTIFY_EMAIL_TO=me@example.com\n")
        config = make_config(notify={"secrets_file": "notify.env"})
        caplog.set_level(logging.DEBUG)
        notifier = build_notifier(config)
        notifier.outcome(TRADED)
        notifier.outcome(SKIPPED)
        notifier.outcome(Outcome("sig-3", "duplicate", "already handled; ignored"))  # not an event
        wait_for(lambda: len(hooks.posts) == 4 and len(smtp.messages) == 2)
        notifier.close()
    finally:
        hooks.close()
        smtp.close()
    discord = [body["content"] for path, body in hooks.posts if path.startswith("/api/webhooks")]
    telegram = [body for path, body in hooks.posts if path.endswith("/sendMessage")]
    assert discord == ["traded: kalshi_st KX-A yes 10 contracts @ 0.40",
                       "skipped [unit_over_signal_cap]: AVGO: size 0 (one unit costs 62759c)"]
    assert [t["chat_id"] for t in telegram] == ["42", "42"]
    assert "Subject: tbot-client: traded: kalshi_st KX-A" in smtp.messages[0]
    assert smtp.logins, "logged in with the configured user"
    for secret in (BOT_TOKEN, SMTP_PASSWORD, "discord-secret"):
        assert secret not in caplog.text


def test_dead_endpoints_never_stall_the_loop(make_config, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = dead_port()
    secrets(tmp_path, f"TBOT_NOTIFY_DISCORD_WEBHOOK_URL=http://127.0.0.1:{port}/discord-secret\n"
                      f"TBOT_NOTIFY_TELEGRAM_BOT_TOKEN={BOT_TOKEN}\nTBOT_NOTIFY_TELEGRAM_CHAT_ID=42\n"
                      f"TBOT_NOTIFY_TELEGRAM_BASE_URL=http://127.0.0.1:{port}\n"
                      f"TBOT_NOTIFY_SMTP_URL=smtp://me:{SMTP_PASSWORD}@127.0.0.1:{port}\n"
                      "TBOT_NOTIFY_EMAIL_TO=me@example.com\n")
    config = make_config(notify={"secrets_file": "notify.env"})
    caplog.set_level(logging.DEBUG)
    notifier = build_notifier(config)
    started = time.perf_counter()
    for _ in range(500):  # far more than the queues hold: the excess is dropped and counted, never waited for
        notifier.outcome(TRADED)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"500 notifications took {elapsed:.3f}s on the loop's thread"
    assert notifier.hooks is not None
    wait_for(lambda: notifier.hooks is not None and notifier.hooks.failed >= 1, 20)
    for secret in (BOT_TOKEN, SMTP_PASSWORD, "discord-secret"):
        assert secret not in caplog.text
    assert notifier.hooks.dropped + notifier.senders[0].dropped > 0


def test_the_secrets_file_must_be_private(make_config, tmp_path: Path) -> None:
    secrets(tmp_path, f"TBOT_NOTIFY_TELEGRAM_BOT_TOKEN={BOT_TOKEN}\n", mode=0o644)
    config = make_config(notify={"secrets_file": "notify.env"})
    with pytest.raises(ConfigError) as caught:
        build_notifier(config)
    assert "chmod 600" in str(caught.value) and BOT_TOKEN not in str(caught.value)


def test_run_tells_of_a_feed_loss_once_and_of_its_end(make_config) -> None:
    from client.brokers import PaperBroker
    from client.engine import Follower
    from client.feed import FeedApi
    from client.runner import Runner
    from client.store import StatePaths
    from shared.bus import Durability, JsonlLog
    from shared.signing import load_public_key

    config = make_config(notify={"feed_loss_seconds": 60})
    StatePaths(config.state_dir).ensure()
    broker = PaperBroker(JsonlLog(config.state_dir / "paper_orders.jsonl", Durability.FSYNC), config.broker)
    follower = Follower(config, broker, load_public_key(config.public_key_path.read_text()))
    down = {"value": True}
    clock = {"now": 0.0}

    def handler(request: httpx.Request) -> httpx.Response:
        if down["value"]:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"signals": [], "next_cursor": "c1"})

    alerts: list[tuple[str, str]] = []
    runner = Runner(follower, FeedApi(config.feed.url, "t", transport=httpx.MockTransport(handler)),
                    emit=lambda o: None, status=lambda t: None, sleep=lambda s: clock.update(now=clock["now"] + s),
                    monotonic=lambda: clock["now"], alert=lambda event, text: alerts.append((event, text)))
    runner.start()
    for _ in range(4):
        runner.step()
        clock["now"] += 25
    assert [event for event, _ in alerts] == ["feed_loss"], alerts
    assert "unreachable" in alerts[0][1]
    down["value"] = False
    runner.step()
    assert [event for event, _ in alerts] == ["feed_loss", "feed_loss"] and "feed back" in alerts[1][1]


def test_the_shared_notifier_redacts_its_secrets_from_httpx_request_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The operator's loops log at INFO, where httpx writes each request's URL: a bot URL holds the token."""
    from pydantic import SecretStr

    from shared.notify import Notifier, NotifyTargets

    hooks = Hooks()
    logging.getLogger("httpx").setLevel(logging.INFO)
    caplog.set_level(logging.INFO)
    try:
        notifier = Notifier(NotifyTargets(discord_webhook_url=SecretStr(f"{hooks.url}/api/webhooks/9/hook-secret"),
                                          telegram_bot_token=SecretStr(BOT_TOKEN), telegram_chat_id="42",
                                          telegram_base_url=hooks.url))
        notifier.send("hello")
        wait_for(lambda: len(hooks.posts) == 2)
        notifier.close()
    finally:
        hooks.close()
        logging.getLogger("httpx").setLevel(logging.WARNING)
    assert "HTTP Request: POST" in caplog.text, "the request lines are still logged"
    assert BOT_TOKEN not in caplog.text and "hook-secret" not in caplog.text
