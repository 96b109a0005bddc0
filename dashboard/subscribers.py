"""Subscriber tokens: append-only add/revoke events in ``logs/feed/subscribers.jsonl``; only token hashes stored.

A token is 32 random bytes (URL-safe base64 with a ``tbs_`` prefix), printed once by ``tbot subscribers add``.
The log keeps its SHA-256: a leaked log does not leak a usable token, and checking a request costs one hash
and one dict lookup. The dashboard follows the log, and re-checks its size before every authentication, so a
revocation takes effect on the very next request without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.bus import Entry, JsonlLog
from shared.ids import new_id
from shared.paths import open_feed
from shared.records import UtcTime
from shared.timeutil import utcnow

TOKEN_PREFIX = "tbs_"


class SubscriberEvent(BaseModel):
    """One line of ``logs/feed/subscribers.jsonl``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["subscriber"] = "subscriber"
    schema_version: int = Field(default=1, alias="schema")
    action: Literal["add", "revoke"]
    subscriber_id: str
    name: str = ""
    token_sha256: str = ""
    at: UtcTime


@dataclass(slots=True)
class Subscriber:
    subscriber_id: str
    name: str
    token_sha256: str
    added_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class SubscriberError(ValueError):
    """A subscriber command that cannot be done (unknown name, duplicate name)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class SubscriberBook:
    """The subscribers as the log says, with an index from token hash to subscriber."""

    def __init__(self) -> None:
        self.by_id: dict[str, Subscriber] = {}
        self._by_hash: dict[str, Subscriber] = {}
        self.on_revoke: list[Callable[[str], None]] = []
        self.invalid_records = 0

    def apply(self, entries: list[Entry]) -> None:
        """Fold a batch of events read from the log."""
        for entry in entries:
            try:
                event = SubscriberEvent.model_validate(entry.data)
            except ValidationError:
                self.invalid_records += 1
                continue
            self._apply_event(event)

    def _apply_event(self, event: SubscriberEvent) -> None:
        if event.action == "add":
            subscriber = Subscriber(event.subscriber_id, event.name, event.token_sha256, event.at)
            self.by_id[event.subscriber_id] = subscriber
            self._by_hash[event.token_sha256] = subscriber
            return
        found = self.by_id.get(event.subscriber_id)
        if found is not None and found.revoked_at is None:
            found.revoked_at = event.at
            self._by_hash.pop(found.token_sha256, None)
            for callback in self.on_revoke:
                callback(found.subscriber_id)

    def authenticate(self, token: str) -> Subscriber | None:
        """The active subscriber holding this token, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        digest = hash_token(token)
        found = self._by_hash.get(digest)
        # The dict lookup already matched; compare_digest keeps the final check constant-time anyway.
        if found is None or not hmac.compare_digest(found.token_sha256, digest):
            return None
        return found

    def active(self) -> list[Subscriber]:
        return [s for s in self.by_id.values() if s.active]

    def find(self, name_or_id: str) -> Subscriber | None:
        found = self.by_id.get(name_or_id)
        if found is not None:
            return found
        matches = [s for s in self.by_id.values() if s.name == name_or_id and s.active]
        return matches[0] if matches else None


def open_book(log_dir: Path) -> tuple[SubscriberBook, JsonlLog]:
    """Read the subscribers log into a book (for the CLI)."""
    book = SubscriberBook()
    log = open_feed(log_dir, "subscribers")
    book.apply(log.read_all())
    return book, log


def add_subscriber(log_dir: Path, name: str) -> tuple[Subscriber, str]:
    """Register a subscriber; returns it and its token (the only time the token exists in clear)."""
    name = name.strip()
    if not name or len(name) > 80 or any(ch in name for ch in "\r\n\t"):
        raise SubscriberError("a subscriber name is 1-80 printable characters")
    book, log = open_book(log_dir)
    if any(s.name == name and s.active for s in book.by_id.values()):
        raise SubscriberError(f"an active subscriber is already named {name!r}")
    token = new_token()
    event = SubscriberEvent(
        action="add", subscriber_id="sub_" + new_id(), name=name, token_sha256=hash_token(token), at=utcnow()
    )
    log.append(event.model_dump(mode="json", by_alias=True))
    log.close()
    return Subscriber(event.subscriber_id, name, event.token_sha256, event.at), token


def revoke_subscriber(log_dir: Path, name_or_id: str) -> Subscriber:
    """Revoke a subscriber by name or id; the dashboard refuses its token from the next request on."""
    book, log = open_book(log_dir)
    found = book.find(name_or_id)
    if found is None or not found.active:
        raise SubscriberError(f"no active subscriber {name_or_id!r}")
    event = SubscriberEvent(action="revoke", subscriber_id=found.subscriber_id, at=utcnow())
    log.append(event.model_dump(mode="json", by_alias=True))
    log.close()
    found.revoked_at = event.at
    return found
