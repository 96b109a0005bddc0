"""A durable outbox: callbacks are written to disk first and delivered later, retried until the server says yes.

Each message has a stable key (``ack:<signal id>``, ``commission:<id>``); enqueueing a key twice is a no-op, and
the server is idempotent per (subscriber, signal, kind), so a message sent again after a crash is still counted
once. Messages about one signal go out in order (ack, then executed, then resolved): a later one waits while an
earlier one is pending. Several processes may enqueue (``run``, ``withdraw``); one delivers at a time (flock).
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.feed import FeedAuthError, FeedUnavailable
from shared.bus import JsonlLog

log = logging.getLogger(__name__)

# A 404 may mean "the dashboard has not indexed this signal yet" right after a restart; give it a while.
MAX_NOT_FOUND_ATTEMPTS = 30
# A callback 409 means an earlier kind is not recorded yet; if that one was given up, this can never succeed.
MAX_CONFLICT_ATTEMPTS = 60
PERMANENT = frozenset({400, 405, 413, 422})
COMMISSION_PATH = "/api/commission"


@dataclass(slots=True)
class Message:
    key: str
    path: str
    body: dict[str, Any]
    group: str  # messages in one group are delivered in order
    attempts: int = 0
    not_found: int = 0
    conflicts: int = 0
    next_at: float = 0.0
    state: str = "pending"  # pending | delivered | dead


@dataclass(slots=True)
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    network_down: bool = False


class Outbox:
    """Enqueue durably; deliver with exponential backoff and jitter."""

    def __init__(
        self,
        log_file: JsonlLog,
        lock_path: Path,
        *,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log_file
        self._reader = log_file.reader()
        self._lock_path = lock_path
        self._messages: dict[str, Message] = {}
        self._base = base_delay
        self._max = max_delay
        self._now = monotonic
        self.refresh()

    def refresh(self) -> None:
        """Pick up lines appended since the last look (by this process or another)."""
        for entry in self._reader.read():
            data = entry.data
            key = data.get("key")
            if not isinstance(key, str):
                continue
            op = data.get("op")
            if op == "enqueue" and key not in self._messages:
                self._messages[key] = Message(key, str(data["path"]), dict(data.get("body") or {}),
                                              str(data.get("group") or key))
            elif op in ("delivered", "dead") and key in self._messages:
                self._messages[key].state = str(op)

    def has(self, key: str) -> bool:
        self.refresh()
        return key in self._messages

    def enqueue(self, key: str, path: str, body: dict[str, Any], group: str) -> bool:
        """Record a message to deliver; False if that key was already enqueued."""
        if self.has(key):
            return False
        self._log.append({"op": "enqueue", "key": key, "path": path, "body": body, "group": group})
        self.refresh()
        return True

    def pending(self) -> list[Message]:
        self.refresh()
        return [m for m in self._messages.values() if m.state == "pending"]

    def state_of(self, key: str) -> str | None:
        self.refresh()
        message = self._messages.get(key)
        return None if message is None else message.state

    def deliver(self, post: Callable[[str, dict[str, Any]], int], *, block: bool = True) -> DeliveryReport:
        """Try every due message once (in order per group); stops early when the network is down."""
        report = DeliveryReport()
        with self._delivery_lock(block) as held:
            if not held:
                return report
            self.refresh()
            blocked_groups: set[str] = set()
            for message in list(self._messages.values()):
                if message.state != "pending":
                    continue
                if message.group in blocked_groups or message.next_at > self._now():
                    blocked_groups.add(message.group)
                    continue
                outcome = self._try(message, post)
                if outcome == "delivered":
                    report.delivered.append(message.key)
                elif outcome == "dead":
                    report.dead.append(message.key)
                else:
                    blocked_groups.add(message.group)
                    if outcome == "down":
                        report.network_down = True
                        break
        return report

    def _try(self, message: Message, post: Callable[[str, dict[str, Any]], int]) -> str:
        message.attempts += 1
        try:
            status = post(message.path, message.body)
        except FeedUnavailable as exc:
            self._backoff(message)
            log.info("outbox: %s not delivered (%s); retrying", message.key, exc)
            return "down"
        except FeedAuthError as exc:
            self._backoff(message)
            log.warning("outbox: %s refused (%s); check the token", message.key, exc)
            return "down"
        if 200 <= status < 300:
            self._mark(message, "delivered", status)
            return "delivered"
        if status == 404:
            message.not_found += 1
            if message.not_found >= MAX_NOT_FOUND_ATTEMPTS:
                self._mark(message, "dead", status, "unknown signal")
                return "dead"
        elif status in PERMANENT or (status == 409 and message.path == COMMISSION_PATH):
            # A commission 409 means "recorded before with other values": retrying cannot change that.
            self._mark(message, "dead", status, "rejected by the server")
            return "dead"
        elif status == 409:
            message.conflicts += 1
            if message.conflicts >= MAX_CONFLICT_ATTEMPTS:
                self._mark(message, "dead", status, "out of order for too long")
                return "dead"
        # A callback 409 is "out of order" (an earlier kind is still in flight); it and anything else: later.
        self._backoff(message)
        return "retry"

    def _backoff(self, message: Message) -> None:
        delay = min(self._max, self._base * (2 ** min(message.attempts - 1, 16)))
        message.next_at = self._now() + delay * random.uniform(0.5, 1.0)

    def _mark(self, message: Message, state: str, status: int, reason: str = "") -> None:
        record: dict[str, Any] = {"op": state, "key": message.key, "status": status}
        if reason:
            record["reason"] = reason
            log.warning("outbox: %s given up: HTTP %d %s", message.key, status, reason)
        self._log.append(record)
        message.state = state

    @contextmanager
    def _delivery_lock(self, block: bool) -> Iterator[bool]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
