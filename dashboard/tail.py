"""Follows many JSONL logs incrementally: byte-offset readers, woken by inotify through asyncio's add_reader.

Each log is read once from its start when the dashboard boots, then only its new bytes; no request ever rescans a
log. ``poll()`` is also safe to call synchronously (a stat per file when nothing changed), so a request that must
see the latest state (a subscriber revoked a moment ago) can catch up without waiting for the watcher.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.bus import Entry, LogReader, file_watch_fd

log = logging.getLogger(__name__)

Handler = Callable[[list[Entry]], None]


@dataclass(slots=True)
class Followed:
    path: Path
    reader: LogReader
    handler: Handler
    size_seen: int = -1


class Tailer:
    """A set of followed logs; handlers receive each new batch of complete records in file order."""

    def __init__(self) -> None:
        self._followed: list[Followed] = []
        self._watches: list[tuple[int, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fallback: asyncio.Task[None] | None = None
        self.listeners: list[Callable[[], None]] = []

    def follow(self, path: Path, handler: Handler, offset: int = 0) -> Followed:
        """Follow ``path`` from ``offset``; reads what is already there at once."""
        followed = Followed(path, LogReader(path, offset), handler)
        self._followed.append(followed)
        self._read(followed)
        return followed

    @property
    def watching(self) -> bool:
        """True while inotify wakes the tailer on every change (so callers need not stat the files themselves)."""
        return bool(self._watches)

    def corrupt_lines(self) -> int:
        return sum(f.reader.stats.corrupt_lines for f in self._followed)

    def _read(self, followed: Followed) -> bool:
        try:
            size = os.stat(followed.path).st_size
        except FileNotFoundError:
            return False
        if size == followed.size_seen and followed.reader.offset >= size:
            return False
        followed.size_seen = size
        entries = list(followed.reader.read())
        if not entries:
            return False
        try:
            followed.handler(entries)
        except Exception:  # a bad record must not stop the dashboard following every other log
            log.exception("handler for %s failed", followed.path)
        return True

    def poll(self, only: list[Followed] | None = None) -> bool:
        """Read whatever is new in every followed log (or in ``only``); True if anything was."""
        changed = False
        for followed in self._followed if only is None else only:
            changed |= self._read(followed)
        if changed:
            for listener in self.listeners:
                listener()
        return changed

    def start(self, loop: asyncio.AbstractEventLoop, fallback_seconds: float | None = None) -> None:
        """Watch the logs' directories with inotify (plus a slow poll that covers a missed event).

        The fallback poll runs every 5 s when inotify watches are in place (it only covers a missed event) and every
        0.5 s without them (then it is the only way to see new lines); an idle dashboard stays near zero CPU.
        """
        self._loop = loop
        for directory in sorted({f.path.parent for f in self._followed}):
            fd, handle = file_watch_fd(directory / ".watch")
            if fd is None:
                continue
            self._watches.append((fd, handle))
            loop.add_reader(fd, self._on_event, handle)
        every = fallback_seconds if fallback_seconds is not None else (5.0 if self._watches else 0.5)
        self._fallback = loop.create_task(self._poll_forever(every))

    def _on_event(self, handle: Any) -> None:
        handle.drain()
        self.poll()

    async def _poll_forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            self.poll()

    def stop(self) -> None:
        if self._fallback is not None:
            self._fallback.cancel()
            self._fallback = None
        for fd, handle in self._watches:
            if self._loop is not None:
                self._loop.remove_reader(fd)
            handle.close()
        self._watches.clear()
