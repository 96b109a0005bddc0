"""The subscriber's brakes, as records: pause, resume, flatten requests, equity-stop trips and close intents.

Everything goes to ``control.jsonl`` in the state folder (fsync'd, append-only), the client's own log of what
it was told and what it did about it; the current state is a fold over it, so ``run`` (which reads new lines each
turn) and a ``pause`` typed in another terminal agree. A close is a lifecycle of its own: the ``close_intent``
line is on disk before the close is sent, its client order id is derived from the trade id, and the position's
``resolved`` trade line in ``orders.jsonl`` is its outcome; a start-up finding an intent without that outcome
asks the broker by the close's client order id before sending anything.

``run.lock`` is held (``flock``) by the one ``run`` process for its whole life: a second ``run`` is refused, and
``flatten`` knows whether to act itself or leave the request to the running ``run``.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.bus import Durability, JsonlLog
from shared.ids import derive_id, new_id
from shared.timeutil import from_iso, to_iso

CONTROL_TYPES = ("pause", "resume", "flatten", "flatten_done", "equity_stop", "equity_stop_rearmed", "close_intent")


@dataclass(frozen=True, slots=True)
class CloseIntent:
    trade_id: str
    signal_id: str
    client_order_id: str
    quantity: int
    request: str
    at: datetime


@dataclass(slots=True)
class ControlState:
    """The fold of ``control.jsonl``."""

    paused: bool = False
    pause_reason: str = ""
    paused_at: datetime | None = None
    flatten_pending: dict[str, str] = field(default_factory=dict)  # request id -> reason
    flattens_done: int = 0
    equity_stops: int = 0
    equity_stop_armed: bool = True
    closes: dict[str, CloseIntent] = field(default_factory=dict)  # trade id -> latest close intent
    events: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        at_raw = data.get("at")
        at = from_iso(at_raw) if isinstance(at_raw, str) else None
        self.events.append(data)
        if kind == "pause":
            self.paused, self.pause_reason, self.paused_at = True, str(data.get("reason", "")), at
        elif kind == "resume":
            self.paused, self.pause_reason, self.paused_at = False, "", None
        elif kind == "flatten":
            self.flatten_pending[str(data.get("id"))] = str(data.get("reason", ""))
        elif kind == "flatten_done":
            if self.flatten_pending.pop(str(data.get("request")), None) is not None:
                self.flattens_done += 1
        elif kind == "equity_stop":
            self.equity_stops += 1
            self.equity_stop_armed = False
        elif kind == "equity_stop_rearmed":
            self.equity_stop_armed = True
        elif kind == "close_intent" and at is not None:
            intent = CloseIntent(str(data["trade_id"]), str(data["signal_id"]), str(data["client_order_id"]),
                                 int(data["quantity"]), str(data.get("request", "")), at)
            self.closes[intent.trade_id] = intent


class ControlLog:
    """``control.jsonl``: append a control record; :attr:`state` follows every line appended, by anyone."""

    def __init__(self, root: Path) -> None:
        self.log = JsonlLog(root / "control.jsonl", Durability.FSYNC)
        self._reader = self.log.reader()
        self.state = ControlState()
        self.refresh()

    def refresh(self) -> ControlState:
        for entry in self._reader.read():
            if entry.data.get("kind") == "control" and entry.data.get("type") in CONTROL_TYPES:
                self.state.apply(entry.data)
        return self.state

    def append(self, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        record = {"kind": "control", "type": kind, "at": to_iso(at), **fields}
        self.log.append(record)
        self.refresh()
        return record

    def pause(self, at: datetime, reason: str) -> None:
        self.append("pause", at, reason=reason)

    def resume(self, at: datetime) -> None:
        self.append("resume", at)

    def request_flatten(self, at: datetime, reason: str) -> str:
        request = new_id(at)
        self.append("flatten", at, id=request, reason=reason)
        return request

    def close_intent(self, at: datetime, *, trade_id: str, signal_id: str, quantity: int, request: str,
                     client_order_id: str) -> None:
        """Record (fsync'd) that this trade is about to be closed by the order ``client_order_id``."""
        self.append("close_intent", at, trade_id=trade_id, signal_id=signal_id, client_order_id=client_order_id,
                    quantity=quantity, request=request)


def close_order_id(trade_id: str, request: str) -> str:
    """The close's client order id, derived from the trade id (and the flatten request, so a close the broker
    refused can be asked again by a new ``flatten``): a close retried after a crash is the same order."""
    return derive_id("close", f"{trade_id}:{request}")


class RunLock:
    """An exclusive ``flock`` on ``run.lock``: held by the running ``run``, released by the kernel if it dies."""

    def __init__(self, root: Path) -> None:
        self.path = root / "run.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True if this process now holds the lock; False if another process does."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
