"""Windowed raw reads of bus logs: the bus's binary search picks the byte range, a fast line splitter reads it.

Why not ``LogReader.read``: it JSON-parses every line, and a report over a window needs only some of them
(resolved trades among all trade states, a handful of signals). This reader checks every line's shape
cheaply (the bus stamp in front, a closing brace at the end: a torn line fails that), counts the ones that
fail as corrupt, and hands whole lines to the caller, which parses only the lines it wants.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shared.audit.progress import Progress
from shared.audit.window import Window
from shared.bus import JsonlLog
from shared.timeutil import ISO_WIDTH

_PREFIX = b'{"ts":"'
_TS_END = len(_PREFIX) + ISO_WIDTH
_CHUNK = 1 << 20


@dataclass(slots=True)
class FileStats:
    """What reading one log cost and what it skipped.

    Skipped lines are kept by byte offset, so a line that two reads cover (a windowed scan and a lookup
    around a signal) is counted once.
    """

    path: str
    bytes_scanned: int = 0
    lines_read: int = 0
    corrupt_at: set[int] = field(default_factory=set)
    invalid_at: set[int] = field(default_factory=set)

    @property
    def corrupt_lines(self) -> int:
        """Lines that are not a bus record (torn, truncated, not JSON)."""
        return len(self.corrupt_at)

    @property
    def invalid_records(self) -> int:
        """Lines that are JSON records but fail validation as the record their log holds."""
        return len(self.invalid_at)

    def summary(self) -> dict[str, int | str]:
        return {"path": self.path, "bytes_scanned": self.bytes_scanned, "lines_read": self.lines_read,
                "corrupt_lines": self.corrupt_lines, "invalid_records": self.invalid_records}


Line = tuple[int, bytes]
"""(byte offset of the line in its file, the line without its newline)."""


def _well_formed(line: bytes) -> bool:
    return line.startswith(_PREFIX) and line[_TS_END : _TS_END + 1] == b'"' and line.rstrip().endswith(b"}")


def line_ts(line: bytes) -> str:
    """The bus stamp of a well-formed line."""
    return line[len(_PREFIX) : _TS_END].decode("ascii")


def window_range(path: Path, window: Window) -> tuple[int, int]:
    """Byte range ``[start, end)`` of the records whose bus ts lies in the window (two binary searches)."""
    log = JsonlLog(path)
    size = log.size()
    start = log.seek(window.since) if size else 0
    end = log.seek(window.until) if (size and window.until is not None) else size
    return start, max(start, end)


def scan_range(path: Path, start: int, end: int, stats: FileStats,
               progress: Progress | None = None) -> Iterator[Line]:
    """Yield the well-formed complete lines in ``[start, end)``; note corrupt ones; an unfinished tail is left."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in finally, generator-friendly
    except FileNotFoundError:
        return
    try:
        handle.seek(start)
        position = start
        pending = b""
        while position < end:
            chunk = handle.read(min(_CHUNK, end - position))
            if not chunk:
                break
            data_start = position - len(pending)
            position += len(chunk)
            stats.bytes_scanned += len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                continue
            pending = data[cut + 1 :]
            offset = data_start
            for line in data[:cut].split(b"\n"):
                line_start = offset
                offset += len(line) + 1
                if not line.strip():
                    continue  # the bare newline an appender writes after a torn line
                stats.lines_read += 1
                if _well_formed(line):
                    yield line_start, line
                else:
                    stats.corrupt_at.add(line_start)
    finally:
        handle.close()


def scan_window(path: Path, window: Window, stats: FileStats, progress: Progress | None = None) -> Iterator[Line]:
    """The well-formed lines stamped inside the window."""
    start, end = window_range(path, window)
    yield from scan_range(path, start, end, stats, progress)


def scan_backward(path: Path, end: int, stats: FileStats) -> Iterator[Line]:
    """Well-formed complete lines before byte ``end`` (a line start), newest first: for finding a trade's signal.

    The caller stops iterating once it has what it needs, so the cost is the distance back to the oldest
    record it looks for, not the size of the file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        position = min(end, os.fstat(fd).st_size)
        # Lines are only yielded once their start is known. ``end`` is a line start (a seek answer) or the file
        # size; an unterminated tail there is a write in progress, not a record, so it is left out.
        carry = b""
        in_tail = True
        while position > 0:
            size = min(_CHUNK, position)
            position -= size
            chunk = os.pread(fd, size, position)
            stats.bytes_scanned += len(chunk)
            data = chunk + carry
            if in_tail:
                # Drop the unterminated tail, however many chunks it spans.
                data = data[: data.rfind(b"\n") + 1]
                in_tail = not data
                if in_tail:
                    continue
            if position > 0:
                first = data.find(b"\n")
                if first < 0:
                    carry = data
                    continue
                carry = data[: first + 1]
                body = data[first + 1 :]
            else:
                carry = b""
                body = data
            # body ends with a newline at file offset position + len(data) - 1; walking back from one past
            # the empty piece after it, each piece's start is the previous start minus its length and newline.
            offset = position + len(data) + 1
            for line in reversed(body.split(b"\n")):
                offset -= len(line) + 1
                if not line.strip():
                    continue
                stats.lines_read += 1
                if _well_formed(line):
                    yield offset, line
                else:
                    stats.corrupt_at.add(offset)
    finally:
        os.close(fd)
