"""The JSONL bus: append-only logs of one JSON object per line, shared by every process.

Why these choices:
- Appends hold an exclusive ``fcntl.flock`` on the file, so records from several processes never interleave
  or tear, whatever their size (a plain O_APPEND write is only atomic up to PIPE_BUF on pipes, and not at
  all guaranteed on regular files for large writes).
- The bus stamps every line with ``ts`` *inside* the lock, never below the last stamp already in the file.
  File order is therefore time order, even across processes whose clocks disagree, which lets
  :meth:`JsonlLog.seek` find "since yesterday" by binary search over byte offsets instead of a scan.
  The stamp is the first key of the line and has a fixed width, so the search reads it without parsing JSON.
- A writer killed mid-append leaves a line without its newline. Readers never return a line that has not
  ended, and the next appender terminates the torn line first so its own record cannot glue onto it;
  the torn fragment then reads as one corrupt line: skipped, counted and reported, never a crash.
- A write the file system refuses (a full disk: ENOSPC, or a quota: EDQUOT) raises :class:`DiskFullError` and
  leaves the file as it was: bytes a short write did put down are cut off again (under the same lock), so no
  partial line is ever left for a reader, and nothing an earlier append returned for is touched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import json
import logging
import os
import select
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.timeutil import ISO_WIDTH, from_iso, iso_to_us, to_iso, us_to_iso

log = logging.getLogger(__name__)

_TS_PREFIX = b'{"ts":"'
_CHUNK = 1 << 20
# How far back an appender looks for the file's last stamp when another process wrote last (records are far
# smaller; past this the clock alone orders the stamps).
_TAIL_SCAN_LIMIT = 64 << 20


class Durability(StrEnum):
    """How far an append goes before it returns."""

    FLUSH = "flush"  # in the kernel's page cache: survives a process crash, not a power cut
    FSYNC = "fsync"  # on disk (fdatasync): survives a power cut; trades and order intents use this


_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFullError(OSError):
    """An append the file system refused for want of space (ENOSPC) or quota (EDQUOT); nothing was written.

    An ``OSError`` (code that catches those still does); a loop catches this one by name to halt new risk.
    """

    def __init__(self, errno_: int, path: Path, during: str = "append") -> None:
        super().__init__(errno_, os.strerror(errno_), str(path))
        self.during = during  # append | fdatasync | open

    def __str__(self) -> str:
        return f"{self.strerror}: {self.during} of {self.filename}"


def _disk_full(exc: OSError, path: Path, during: str) -> OSError:
    """``exc`` as a :class:`DiskFullError` if it is a want of space or quota, else ``exc`` itself."""
    if exc.errno in _DISK_FULL_ERRNOS and not isinstance(exc, DiskFullError):
        return DiskFullError(exc.errno, path, during)
    return exc


@dataclass(frozen=True, slots=True)
class Entry:
    """One record read from a log, with the byte offsets that bracket its line."""

    offset: int
    next_offset: int
    ts: str
    data: dict[str, Any]


@dataclass(slots=True)
class ReadStats:
    """What a reader skipped; reported, never raised."""

    corrupt_lines: int = 0
    corrupt_offsets: list[int] = field(default_factory=list)

    def note_corrupt(self, path: Path, offset: int, reason: str) -> None:
        self.corrupt_lines += 1
        if len(self.corrupt_offsets) < 1000:
            self.corrupt_offsets.append(offset)
        log.warning("skipped corrupt line in %s at byte %d: %s", path, offset, reason)


def _json_default(value: Any) -> Any:
    # Decimals stay exact (a string, never a float); times take the bus's fixed-width UTC form, and a naive
    # time is refused rather than guessed (to_iso raises).
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, BaseModel):
        return json.loads(value.model_dump_json(by_alias=True))
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"a bus record cannot hold a {type(value).__name__}")


# Built once: json.dumps with options builds a new encoder per call, which is a measurable share of an append.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default, allow_nan=False)
_DECODE = json.JSONDecoder().decode


def _serialize(record: Mapping[str, Any] | BaseModel) -> bytes:
    """The record's JSON without the ``ts`` the bus stamps; JSON escapes newlines, so a line stays a line.

    Raises ``ValueError`` (NaN or infinity, not an object) or ``TypeError`` (a value JSON cannot hold).
    """
    if type(record) is dict:
        # The common case, first and lean: the encoder writes a dict as one object and escapes every control
        # character, so the body is a single line without further checks.
        if "ts" in record:
            record = {k: v for k, v in record.items() if k != "ts"}
        return _ENCODER.encode(record).encode()
    if isinstance(record, BaseModel):
        body = record.model_dump_json(by_alias=True, exclude={"ts"}).encode()
    else:
        body = _ENCODER.encode({k: v for k, v in record.items() if k != "ts"}).encode()
    if not body.startswith(b"{") or b"\n" in body:
        raise ValueError("a bus record must serialize to a single JSON object")
    return body


def _stamp(body: bytes, ts: str) -> bytes:
    if body == b"{}":
        return _TS_PREFIX + ts.encode() + b'"}\n'
    return b"".join((_TS_PREFIX, ts.encode(), b'",', memoryview(body)[1:], b"\n"))


def _ts_of(line: bytes) -> str | None:
    """The stamp of a line, read positionally; None if the line is not a bus record."""
    end = len(_TS_PREFIX) + ISO_WIDTH
    if len(line) > end and line.startswith(_TS_PREFIX) and line[end : end + 1] == b'"':
        return line[len(_TS_PREFIX) : end].decode("ascii", "replace")
    return None


# Bumped in a forked child (a cheaper check per append than a getpid() system call): a JsonlLog opened before
# the fork sees the change and opens a descriptor of its own.
_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


class JsonlLog:
    """One append-only JSONL file. Cheap to construct; opens its file descriptor lazily."""

    def __init__(self, path: str | os.PathLike[str], durability: Durability = Durability.FLUSH) -> None:
        self.path = Path(path)
        self.durability = durability
        self._fd: int | None = None
        self._generation = _fork_generation
        # flock excludes other open file descriptions, not other threads sharing this one (a thread pool in
        # the dashboard), so threads of one process also queue on this lock.
        self._thread_lock = threading.Lock()
        self._last_us = 0  # the last stamp this object wrote (microseconds since the epoch)
        self._end = -1  # the file size just after this object's last complete write; -1: unknown

    # ---------------------------------------------------------------- writing
    def _writer_fd(self) -> int:
        if self._generation != _fork_generation:
            # A forked child shares the parent's open file description, and so its flock: it would not
            # exclude the parent. It gets a descriptor (and a thread lock) of its own.
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._generation = _fork_generation
            self._thread_lock = threading.Lock()
        if self._fd is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            except OSError as exc:
                raise _disk_full(exc, self.path, "open") from None
            self._end = -1
        return self._fd

    def append(self, record: Mapping[str, Any] | BaseModel) -> str:
        """Append one record; returns the ``ts`` the bus stamped on it.

        Raises ``ValueError``/``TypeError`` for a record that cannot be serialized, before anything is written,
        and :class:`DiskFullError` when the file system has no room for it (nothing of it is left in the file).
        """
        return self._write([_serialize(record)])[0]

    def append_many(self, records: Iterable[Mapping[str, Any] | BaseModel]) -> list[str]:
        """Append records as one locked write (and one fsync in FSYNC mode: group commit).

        Raises ``ValueError``/``TypeError`` for a record that cannot be serialized, before anything is written.
        """
        bodies = [_serialize(r) for r in records]
        return self._write(bodies) if bodies else []

    def _write(self, bodies: list[bytes]) -> list[str]:
        fd = self._writer_fd()
        with self._thread_lock:
            stamps = self._write_locked(fd, bodies)
        if self.durability is Durability.FSYNC:
            # Outside the lock, so other writers append meanwhile and one fdatasync often covers several
            # processes' records (group commit); still nothing returns before its bytes are on disk.
            try:
                os.fdatasync(fd)
            except OSError as exc:
                # Some file systems only find out at writeback that there is no room. The line is in the file
                # (as after a crash between the write and the sync) but not known to be on disk: the caller
                # must not act on it, as if it had not been written.
                raise _disk_full(exc, self.path, "fdatasync") from None
        return stamps

    def _write_locked(self, fd: int, bodies: list[bytes]) -> list[str]:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            torn = False
            first_us = max(time.time_ns() // 1000, self._last_us + 1)
            if size != self._end:
                # Another process wrote since our last append (or this is our first): its last stamp bounds
                # ours from below, so file order stays time order even if the clocks disagree or step back,
                # and a line it left torn must be terminated before ours. When we wrote last, none of this
                # is needed and the append costs no extra read.
                torn, last_ts = _tail_state(fd, size)
                # Fixed-width stamps compare as strings; parsing is only needed when our clock is behind.
                if last_ts is not None and us_to_iso(first_us) < last_ts:
                    first_us = iso_to_us(last_ts)
            if len(bodies) == 1:
                stamps = [us_to_iso(first_us)]
                payload = _stamp(bodies[0], stamps[0])
            else:
                stamps = [us_to_iso(first_us + i) for i in range(len(bodies))]
                payload = b"".join([_stamp(b, s) for b, s in zip(bodies, stamps, strict=True)])
            if torn:
                payload = b"\n" + payload
            try:
                written = os.write(fd, payload)
                if written != len(payload):
                    view = memoryview(payload)[written:]
                    while view:
                        view = view[os.write(fd, view) :]
            except OSError as exc:
                # Still under the lock, so no other writer has appended since ``size``: cutting back to it
                # removes exactly what this write put down, and no reader ever sees a partial line of ours.
                _truncate_back(fd, size, self.path)
                raise _disk_full(exc, self.path, "append") from None
            self._last_us = first_us + len(bodies) - 1
            self._end = size + len(payload)
        except BaseException:
            self._end = -1  # a failed or partial write: look at the tail again next time
            raise
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return stamps

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---------------------------------------------------------------- reading
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def reader(self, offset: int = 0) -> LogReader:
        """A reader positioned at a byte offset (0, a saved cursor, or :meth:`seek`'s answer)."""
        return LogReader(self.path, offset)

    def read_all(self) -> list[Entry]:
        return list(self.reader().read())

    def seek(self, since: datetime | str) -> int:
        """Byte offset of the first record stamped at or after ``since``.

        If no complete record is, the answer is the end of the last complete line: the file size, or the start
        of an unfinished last line, so that a record being written right now is read, not skipped.
        Binary search over byte offsets: O(log n) small reads, however large the file.
        """
        target = to_iso(since) if isinstance(since, datetime) else to_iso(from_iso(since))
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0
        try:
            size = os.fstat(fd).st_size
            lo, hi = 0, size
            while lo < hi:
                mid = (lo + hi) // 2
                found = _line_at_or_after(fd, mid, size)
                if found is not None and found[1] < target:
                    lo = found[2]  # the whole line at mid is too early: continue past it
                else:
                    hi = mid
            found = _line_at_or_after(fd, lo, size)
            return _complete_end(fd, size) if found is None else found[0]
        finally:
            os.close(fd)


def _truncate_back(fd: int, size: int, path: Path) -> None:
    """Cut a failed append's bytes off the end of the file (the caller holds the lock)."""
    try:
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
    except OSError as exc:  # pragma: no cover - truncating frees space; only a failing device refuses it
        log.error("could not cut a failed append off %s at byte %d: %s", path, size, exc)


def _complete_end(fd: int, size: int) -> int:
    """Offset just past the last newline of the file (0 if it has none)."""
    pos, step = size, 4096
    while pos > 0:
        start = max(0, pos - step)
        index = os.pread(fd, pos - start, start).rfind(b"\n")
        if index >= 0:
            return start + index + 1
        pos, step = start, min(step * 4, 1 << 20)
    return 0


def _tail_state(fd: int, size: int) -> tuple[bool, str | None]:
    """(is the last line torn?, stamp of the last complete stamped line) of a file of ``size`` bytes.

    Reads backwards in growing chunks; usually one small read, since lines are short next to the first chunk.
    """
    if size == 0:
        return False, None
    limit = max(0, size - _TAIL_SCAN_LIMIT)
    pos, step = size, 4096
    buf = b""
    torn: bool | None = None
    while True:
        start_pos = max(limit, pos - step)
        buf = os.pread(fd, pos - start_pos, start_pos) + buf
        pos, step = start_pos, step * 4
        if torn is None:
            torn = not buf.endswith(b"\n")
        end = buf.rfind(b"\n") if torn else len(buf) - 1  # the newline ending the last complete line
        while end >= 0:
            begin = buf.rfind(b"\n", 0, end) + 1
            if begin == 0 and pos > 0:
                if pos > limit:
                    break  # this line may start before what we have read: read further back
                return torn, None  # a line longer than the scan limit: the clock alone orders the stamps
            ts = _ts_of(buf[begin:end])
            if ts is not None:
                return torn, ts
            end = begin - 1
        if pos <= limit:
            return torn, None


def _line_at_or_after(fd: int, pos: int, size: int) -> tuple[int, str, int] | None:
    """(start, ts, end) of the first complete, stamped line that starts at or after ``pos``."""
    start = pos
    if pos > 0:
        # A line starts at pos only if the byte before it is a newline.
        first = _next_line_start(fd, pos - 1, size)
        if first is None:
            return None
        start = first
    while start < size:
        end = _next_line_start(fd, start, size)
        if end is None:
            return None  # an unterminated tail: not a record yet
        head = os.pread(fd, len(_TS_PREFIX) + ISO_WIDTH + 1, start)
        ts = _ts_of(head + b" ")
        if ts is not None:
            return start, ts, end
        start = end
    return None


def _next_line_start(fd: int, pos: int, size: int) -> int | None:
    """Offset just past the first newline at or after ``pos``; None if there is none."""
    step = 4096  # most lines end within the first read; long ones are crossed in growing reads
    while pos < size:
        chunk = os.pread(fd, min(step, size - pos), pos)
        index = chunk.find(b"\n")
        if index >= 0:
            return pos + index + 1
        pos += len(chunk)
        step = min(step * 4, 1 << 20)
    return None


class LogReader:
    """Reads complete records from a byte offset on, and can follow the file as it grows.

    The offset only ever advances past whole lines, so it is a cursor that survives restarts: save it, and a
    new reader started from it continues with the very next record, never skipping or repeating one.
    """

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self.offset = offset
        self.stats = ReadStats()
        self._watch: _Watch | None = None

    def read(self, max_records: int | None = None) -> Iterator[Entry]:
        """Yield the complete records after the cursor, advancing it; stops at the (possibly partial) tail."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            # Read up to the size the file has now, in reads sized to what is there: a follower woken for one
            # short record makes one small read, not a 1 MiB buffer and an extra read to find the end.
            size = os.fstat(fd).st_size
            pos = base = self.offset  # base: the file offset of pending[0]
            pending = b""  # bytes after the last complete line, not yet ended by a newline
            count = 0
            while pos < size:
                chunk = os.pread(fd, min(_CHUNK, size - pos), pos)
                if not chunk:
                    return  # the file shrank under us: nothing more to read
                pos += len(chunk)
                if pending:
                    # Search only the new bytes: the pending ones are known to hold no newline.
                    first = chunk.find(b"\n")
                    if first < 0:
                        pending += chunk
                        continue
                    chunk = pending + chunk
                    search_from = len(pending) + first
                else:
                    search_from = 0
                start = 0
                while True:
                    end = chunk.find(b"\n", search_from)
                    if end < 0:
                        break
                    line_offset = base + start
                    self.offset = base + end + 1
                    entry = self._parse(chunk[start:end], line_offset, self.offset)
                    start = search_from = end + 1
                    if entry is not None:
                        yield entry
                        count += 1
                        if max_records is not None and count >= max_records:
                            return
                pending = chunk[start:]
                base += start
        finally:
            os.close(fd)

    def _parse(self, line: bytes, offset: int, next_offset: int) -> Entry | None:
        if not line or line.isspace():
            return None  # a blank line carries no record; it is not corruption either
        ts = _ts_of(line)
        if ts is None:
            self.stats.note_corrupt(self.path, offset, "no bus timestamp")
            return None
        try:
            data = _DECODE(line.decode())
        except ValueError as exc:  # UnicodeDecodeError included
            self.stats.note_corrupt(self.path, offset, f"invalid JSON ({exc})")
            return None
        if not isinstance(data, dict):
            self.stats.note_corrupt(self.path, offset, "not a JSON object")
            return None
        return Entry(offset, next_offset, ts, data)

    def follow(self, timeout: float | None = None) -> list[Entry]:
        """Return new records, waiting up to ``timeout`` seconds (None: forever) for at least one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._watch is None:
            # Watch before the first read: an append landing between that read and the wait is then still
            # seen as an event, instead of leaving the follower asleep until the next one.
            self._watch = _Watch.create(self.path)
        while True:
            entries = list(self.read())
            if entries:
                return entries
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return []
            self._wait(remaining)

    def _wait(self, timeout: float | None) -> None:
        if self._watch is None:
            self._watch = _Watch.create(self.path)
        self._watch.wait(timeout)

    def __enter__(self) -> LogReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None


class _Watch:
    """Waits for a file to change: inotify where the kernel has it (sub-millisecond), else short polls."""

    _IN_MODIFY = 0x00000002
    _IN_CREATE = 0x00000100
    _IN_MOVED_TO = 0x00000080
    _libc: Any = None

    def __init__(self, fd: int | None, path: Path) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def create(cls, path: Path) -> _Watch:
        libc = cls._load_libc()
        if libc is None:
            return cls(None, path)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return cls(None, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Watch the directory, so a log that does not exist yet is still seen when it is created.
        mask = cls._IN_MODIFY | cls._IN_CREATE | cls._IN_MOVED_TO
        if libc.inotify_add_watch(fd, str(path.parent).encode(), mask) < 0:
            os.close(fd)
            return cls(None, path)
        return cls(fd, path)

    @classmethod
    def _load_libc(cls) -> Any:
        if cls._libc is None:
            name = ctypes.util.find_library("c")
            try:
                libc = ctypes.CDLL(name or "libc.so.6", use_errno=True)
                libc.inotify_init1  # noqa: B018 - probe that the symbol exists
                cls._libc = libc
            except (OSError, AttributeError):
                cls._libc = False
        return cls._libc or None

    def wait(self, timeout: float | None) -> None:
        if self.fd is None:
            time.sleep(0.002 if timeout is None else max(0.0, min(0.002, timeout)))
            return
        # poll(), not select(): select() refuses a descriptor numbered 1024 or above, which a busy process (a
        # dashboard holding a thousand subscribers' connections) reaches.
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        try:
            ready = poller.poll(None if timeout is None else max(0.0, timeout) * 1000.0)
        except InterruptedError:
            return
        if ready:
            self.drain()

    def drain(self) -> None:
        if self.fd is None:
            return
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass
        except OSError as exc:  # pragma: no cover - defensive
            if exc.errno != errno.EAGAIN:
                raise

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def file_watch_fd(path: Path) -> tuple[int | None, Any]:
    """An inotify descriptor for asyncio's ``add_reader`` (the dashboard follows logs without threads).

    Returns (fd or None, handle); call ``handle.drain()`` when the fd is readable and ``handle.close()`` at the end.
    """
    watch = _Watch.create(path)
    return watch.fd, watch

