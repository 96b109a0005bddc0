"""A full disk: the bus raises DiskFullError, leaves no partial line, and loses nothing it acknowledged.

On a real full file system (a 256 KiB tmpfs mounted for the test; skipped with the reason if mounting is not
permitted) and with ENOSPC / EDQUOT injected into the bus's system calls.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shared.bus as bus
from shared.bus import DiskFullError, Durability, JsonlLog

TMPFS_BYTES = 256 * 1024


def mount_tmpfs(where: Path, size: int) -> str | None:
    """Mount a tmpfs of ``size`` bytes at ``where``; the reason it could not be, or None."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"mount -t tmpfs refused: {done.stderr.strip() or done.returncode}"
    return None


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "fs"
    reason = mount_tmpfs(where, TMPFS_BYTES)
    if reason is not None:
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(path: Path, leave: int) -> None:
    """Fill the file system holding ``path`` until about ``leave`` bytes are free."""
    free = os.statvfs(path.parent).f_bavail * os.statvfs(path.parent).f_frsize
    with path.open("wb") as f:
        try:
            f.write(b"\0" * max(0, free - leave))
            f.flush()
        except OSError:
            pass


def record(i: int, size: int) -> dict[str, Any]:
    return {"kind": "t", "i": i, "pad": "x" * size}


@pytest.mark.parametrize("durability", [Durability.FLUSH, Durability.FSYNC])
def test_a_real_full_disk_refuses_whole_records_and_keeps_every_acknowledged_one(
    tiny_fs: Path, durability: Durability
) -> None:
    log = JsonlLog(tiny_fs / "trades.jsonl", durability)
    acknowledged: list[int] = []
    refusals = 0
    for i in range(400):  # 400 records of ~3 KiB cannot fit in 256 KiB
        try:
            log.append(record(i, 3000))
        except DiskFullError as exc:
            assert exc.errno == errno.ENOSPC and isinstance(exc, OSError)
            assert "trades.jsonl" in str(exc)
            refusals += 1
            continue
        acknowledged.append(i)
    assert refusals > 0 and acknowledged
    raw = log.path.read_bytes()
    assert raw.endswith(b"\n")  # no partial line: a short write was cut off again
    reader = log.reader()
    got = [e.data["i"] for e in reader.read()]
    assert got == acknowledged and reader.stats.corrupt_lines == 0
    assert len(raw) == log.size()


def test_a_short_write_into_the_last_free_bytes_is_cut_off(tiny_fs: Path) -> None:
    log = JsonlLog(tiny_fs / "decisions.jsonl")
    log.append(record(0, 100))
    filler = tiny_fs / "filler"
    fill(filler, leave=2048)
    before = log.path.read_bytes()
    with pytest.raises(DiskFullError):
        log.append(record(1, 20_000))  # the kernel takes the ~2 KiB it has, then refuses the rest
    assert log.path.read_bytes() == before
    filler.unlink()  # room again
    log.append(record(2, 100))
    reader = log.reader()
    assert [e.data["i"] for e in reader.read()] == [0, 2] and reader.stats.corrupt_lines == 0


def test_a_reader_cursor_survives_the_episode(tiny_fs: Path) -> None:
    log = JsonlLog(tiny_fs / "signals.jsonl")
    log.append(record(0, 50))
    reader = log.reader()
    assert [e.data["i"] for e in reader.read()] == [0]
    filler = tiny_fs / "filler"
    fill(filler, leave=0)
    for i in range(1, 5):
        with pytest.raises(DiskFullError):
            log.append(record(i, 5000))
    assert list(reader.read()) == []
    filler.unlink()
    log.append(record(5, 50))
    assert [e.data["i"] for e in reader.read()] == [5]


# ------------------------------------------------------------------------------------------ injected faults
class FlakyWrite:
    """os.write that puts down ``take`` bytes of the first call, then fails with ``code``."""

    def __init__(self, code: int, take: int) -> None:
        self.code, self.take, self.calls = code, take, 0
        self.real = os.write

    def __call__(self, fd: int, data: Any) -> int:
        self.calls += 1
        if self.calls == 1 and self.take:
            return self.real(fd, bytes(data[: self.take]))
        raise OSError(self.code, os.strerror(self.code))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
@pytest.mark.parametrize("take", [0, 1, 37])
def test_an_injected_refusal_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      code: int, take: int) -> None:
    log = JsonlLog(tmp_path / "x.jsonl")
    log.append(record(0, 10))
    before = log.path.read_bytes()
    monkeypatch.setattr(bus.os, "write", FlakyWrite(code, take))
    with pytest.raises(DiskFullError) as caught:
        log.append_many([record(1, 100), record(2, 100)])
    assert caught.value.errno == code and caught.value.during == "append"
    monkeypatch.undo()
    assert log.path.read_bytes() == before
    log.append(record(3, 10))
    assert [e.data["i"] for e in log.read_all()] == [0, 3]


def test_a_torn_line_of_another_writer_is_left_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = JsonlLog(tmp_path / "x.jsonl")
    log.append(record(0, 10))
    with log.path.open("ab") as f:
        f.write(b'{"ts":"2026-12-05T00:00:00.000000Z","half')  # a writer killed mid-append
    before = log.path.read_bytes()
    other = JsonlLog(log.path)
    monkeypatch.setattr(bus.os, "write", FlakyWrite(errno.ENOSPC, 1))  # only the terminating newline got in
    with pytest.raises(DiskFullError):
        other.append(record(1, 10))
    monkeypatch.undo()
    assert log.path.read_bytes() == before
    other.append(record(2, 10))
    reader = log.reader()
    assert [e.data["i"] for e in reader.read()] == [0, 2] and reader.stats.corrupt_lines == 1


def test_other_io_errors_are_not_disk_full_but_leave_no_partial_line(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    log = JsonlLog(tmp_path / "x.jsonl")
    log.append(record(0, 10))
    before = log.path.read_bytes()
    monkeypatch.setattr(bus.os, "write", FlakyWrite(errno.EIO, 5))
    with pytest.raises(OSError) as caught:
        log.append(record(1, 10))
    assert not isinstance(caught.value, DiskFullError) and caught.value.errno == errno.EIO
    monkeypatch.undo()
    assert log.path.read_bytes() == before


def test_a_refused_fdatasync_is_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = JsonlLog(tmp_path / "trades.jsonl", Durability.FSYNC)

    def refuse(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bus.os, "fdatasync", refuse)
    with pytest.raises(DiskFullError) as caught:
        log.append(record(0, 10))
    assert caught.value.during == "fdatasync"


def test_a_log_that_cannot_be_created_is_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def refuse(path: Any, flags: int, mode: int = 0o777) -> int:
        if str(path).endswith("new.jsonl"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, flags, mode)

    monkeypatch.setattr(bus.os, "open", refuse)
    with pytest.raises(DiskFullError) as caught:
        JsonlLog(tmp_path / "new.jsonl").append(record(0, 10))
    assert caught.value.during == "open"
