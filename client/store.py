"""The client's own durable records, all in its state folder; nothing else is state.

- ``cursor.json``: the feed cursor, replaced atomically (tmp + fsync + rename + dir fsync) after each batch. A
  client without one asks the feed for "now" first and saves that before it handles any signal (the anchor), so
  a crash inside its first batch re-reads that batch instead of following from a later "now".
- ``batch.json``: a batch the feed answered without a cursor behind it (only a feed that delivers signals to a
  cursor-less poll does), kept until every signal in it is handled.
- ``signals.jsonl``: every signal received and what the client did with it (dedup survives restarts).
- ``orders.jsonl``: the order lifecycle as ``shared.records.Trade`` lines, fsync'd (intent before the send).
- ``money.jsonl``: deposits, withdrawals and crystallized commission, fsync'd.
- ``outbox.jsonl``: callbacks to deliver and their delivery, fsync'd.
- ``paper_orders.jsonl``: the paper broker's own venue-side record of orders, fsync'd.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.bus import Durability, JsonlLog


@dataclass(frozen=True, slots=True)
class StatePaths:
    """Where each record lives under the state folder."""

    root: Path

    @property
    def cursor(self) -> Path:
        return self.root / "cursor.json"

    @property
    def pending_batch(self) -> Path:
        return self.root / "batch.json"

    @property
    def snapshot(self) -> Path:
        return self.root / "ledger.json"

    @property
    def delivery_lock(self) -> Path:
        return self.root / "outbox.lock"

    @property
    def money_lock(self) -> Path:
        return self.root / "money.lock"

    def log(self, name: str) -> JsonlLog:
        durability = Durability.FLUSH if name == "signals" else Durability.FSYNC
        return JsonlLog(self.root / f"{name}.jsonl", durability)

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace a small JSON file so a crash leaves the old or the new content, never a torn mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself must survive a power cut
    finally:
        os.close(dir_fd)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None if it does not exist."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


class CursorStore:
    """The feed cursor. ``None`` means "start at now" (the server's rule for a first poll)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> str | None:
        data = read_json(self.path)
        if data is None:
            return None
        cursor = data.get("cursor")
        return cursor if isinstance(cursor, str) and cursor else None

    def save(self, cursor: str) -> None:
        atomic_write_json(self.path, {"cursor": cursor})
