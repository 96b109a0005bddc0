"""The JSONL bus in one process: stamping, torn tails, corrupt lines, cursors, seek and follow."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.bus import Durability, JsonlLog, file_watch_fd
from shared.config import repo_root
from shared.timeutil import ISO_WIDTH, iso_to_us, us_to_iso

BASE_US = iso_to_us("2026-03-01T00:00:00.000000Z")


def _line(ts_us: int, body: str = '"x":1') -> bytes:
    return ('{"ts":"' + us_to_iso(ts_us) + '",' + body + "}\n").encode()


def _write(path: Path, *chunks: bytes) -> None:
    path.write_bytes(b"".join(chunks))


# ------------------------------------------------------------------ appending


def test_append_stamps_ts_first_and_fixed_width(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    stamp = log.append({"kind": "x", "ts": "caller's ts is replaced", "n": 1})
    raw = (tmp_path / "a.jsonl").read_bytes()
    assert raw == b'{"ts":"' + stamp.encode() + b'","kind":"x","n":1}\n'
    assert len(stamp) == ISO_WIDTH and stamp.endswith("Z")
    assert abs(iso_to_us(stamp) - time.time_ns() // 1000) < 60_000_000


def test_stamps_strictly_increase_within_a_writer_and_across_batches(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    stamps = [log.append({"i": i}) for i in range(200)]
    stamps += log.append_many([{"j": j} for j in range(50)])
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert [e.ts for e in log.read_all()] == stamps


def test_empty_object_and_empty_batch(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    assert log.append_many([]) == []
    stamp = log.append({})
    assert (tmp_path / "a.jsonl").read_bytes() == b'{"ts":"' + stamp.encode() + b'"}\n'
    assert log.read_all()[0].data == {"ts": stamp}


def test_values_json_cannot_hold_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    with pytest.raises(ValueError):
        log.append({"edge": float("nan")})
    with pytest.raises(TypeError):
        log.append({"blob": object()})
    with pytest.raises(ValueError, match="naive"):
        log.append({"at": datetime(2026, 1, 1)})
    with pytest.raises(ValueError):
        log.append_many([{"ok": 1}, {"bad": float("inf")}])
    assert not (tmp_path / "a.jsonl").exists() or (tmp_path / "a.jsonl").read_bytes() == b""


def test_decimals_stay_exact_strings_and_times_utc(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    eastern = timezone(timedelta(hours=-5))
    log.append({"price": Decimal("0.10"), "at": datetime(2026, 1, 1, 7, 0, tzinfo=eastern), "tags": ("a", "b")})
    data = log.read_all()[0].data
    assert data["price"] == "0.10"
    assert data["at"] == "2026-01-01T12:00:00.000000Z"
    assert data["tags"] == ["a", "b"]


def test_newlines_inside_values_stay_inside_one_line(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    log.append({"text": "two\nlines\r\n\u2028and a separator"})
    assert (tmp_path / "a.jsonl").read_bytes().count(b"\n") == 1
    assert log.read_all()[0].data["text"] == "two\nlines\r\n\u2028and a separator"


def test_fsync_durability_appends_the_same_bytes(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "t.jsonl", Durability.FSYNC)
    log.append_many([{"i": i} for i in range(5)])
    log.append({"i": 5})
    assert [e.data["i"] for e in log.read_all()] == list(range(6))
    log.close()


def test_stamps_never_go_below_the_last_stamp_in_the_file(tmp_path: Path) -> None:
    # Another process (here: a hand-written line) stamped a time ahead of our clock: ours must not go back.
    path = tmp_path / "a.jsonl"
    future_us = time.time_ns() // 1000 + 3_600_000_000
    _write(path, _line(future_us))
    stamp = JsonlLog(path).append({"after": 1})
    assert iso_to_us(stamp) >= future_us


def test_last_stamp_found_behind_long_corrupt_and_torn_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    future_us = time.time_ns() // 1000 + 3_600_000_000
    _write(path, _line(future_us, '"pad":"' + "p" * 300_000 + '"'), b"not json at all\n", b'{"ts":"2026-01-0')
    log = JsonlLog(path)
    stamp = log.append({"after": 1})
    assert iso_to_us(stamp) >= future_us
    reader = log.reader()
    entries = list(reader.read())
    assert [e.data.get("after") for e in entries] == [None, 1]
    assert reader.stats.corrupt_lines == 2  # the line that is not JSON, and the torn fragment


def test_append_after_a_torn_tail_does_not_glue_onto_it(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    log = JsonlLog(path)
    log.append({"i": 0})
    with open(path, "ab") as handle:  # a writer killed mid-append
        handle.write(b'{"ts":"2026-03-01T00:00:00.000000Z","i":"half a rec')
    reader = log.reader()
    assert [e.data["i"] for e in reader.read()] == [0]
    cursor = reader.offset
    assert [e.data["i"] for e in reader.read()] == []  # the torn tail is never returned...
    assert reader.offset == cursor  # ...and the cursor waits before it
    JsonlLog(path).append({"i": 1})
    assert [e.data["i"] for e in reader.read()] == [1]
    assert reader.stats.corrupt_lines == 1
    assert reader.stats.corrupt_offsets == [cursor]


def test_this_writer_notices_another_writer_tore_the_tail(tmp_path: Path) -> None:
    # The cheap path (no tail read when this object wrote last) must not miss a tear made after its write.
    path = tmp_path / "a.jsonl"
    log = JsonlLog(path)
    log.append({"i": 0})
    with open(path, "ab") as handle:
        handle.write(b'{"ts":"2026-03-01T00:00:00.000000Z","torn":')
    log.append({"i": 1})
    reader = log.reader()
    assert [e.data["i"] for e in reader.read()] == [0, 1]
    assert reader.stats.corrupt_lines == 1


# ------------------------------------------------------------------ reading


def test_corrupt_lines_in_the_middle_are_skipped_counted_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.jsonl"
    good = [_line(BASE_US + i, f'"i":{i}') for i in range(4)]
    bad = [
        b"garbage\n",
        b'{"ts":"2026-03-01T00:00:00.000001Z","i":\n',  # stamped but invalid JSON
        b'{"no_ts":1}\n',  # valid JSON, not a bus record
        b'{"ts":"2026-03-01T00:00:00.000001Z"} trailing\n',
        b"\xff\xfe\x00binary\n",
    ]
    _write(path, good[0], bad[0], bad[1], good[1], bad[2], bad[3], good[2], bad[4], good[3])
    reader = JsonlLog(path).reader()
    entries = list(reader.read())
    assert [e.data["i"] for e in entries] == [0, 1, 2, 3]
    assert reader.stats.corrupt_lines == len(bad)
    assert len(reader.stats.corrupt_offsets) == len(bad)
    assert "skipped corrupt line" in caplog.text
    assert reader.offset == path.stat().st_size


def test_entries_carry_offsets_that_resume_exactly(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    log.append_many([{"i": i, "pad": "x" * (i * 700)} for i in range(300)])
    entries = log.read_all()
    for before, after in itertools.pairwise(entries):
        assert before.next_offset == after.offset
    # A cursor saved anywhere resumes with the next record, never skipping or repeating one.
    for k in (0, 1, 17, 150, 299):
        resumed = log.reader(entries[k].next_offset)
        assert [e.data["i"] for e in resumed.read()] == list(range(k + 1, 300))


def test_read_max_records_leaves_cursor_after_the_last_returned(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    log.append_many([{"i": i} for i in range(10)])
    reader = log.reader()
    assert [e.data["i"] for e in reader.read(max_records=3)] == [0, 1, 2]
    assert [e.data["i"] for e in reader.read(max_records=3)] == [3, 4, 5]
    assert [e.data["i"] for e in reader.read()] == [6, 7, 8, 9]


def test_a_line_longer_than_the_read_chunk(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    big = "y" * (3 * 1024 * 1024 + 17)
    log.append_many([{"i": 0}, {"i": 1, "big": big}, {"i": 2}])
    entries = log.read_all()
    assert [e.data["i"] for e in entries] == [0, 1, 2]
    assert entries[1].data["big"] == big


def test_missing_file_reads_empty(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "nope.jsonl")
    assert log.read_all() == []
    assert log.size() == 0


# ------------------------------------------------------------------ seek


def _brute_force_seek(path: Path, since_iso: str) -> int:
    raw = path.read_bytes()
    pos = 0
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            return pos  # no record at or after since: the end of the last complete line
        line = raw[pos:end]
        stamped = line.startswith(b'{"ts":"') and line[7 + ISO_WIDTH : 8 + ISO_WIDTH] == b'"'
        if stamped and line[7 : 7 + ISO_WIDTH].decode() >= since_iso:
            return pos
        pos = end + 1


def test_seek_on_equal_timestamps_first_last_before_and_after(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    stamps = [0, 5, 5, 5, 9, 9, 12]
    lines = [_line(BASE_US + s, f'"i":{i}') for i, s in enumerate(stamps)]
    _write(path, *lines)
    offsets = [sum(len(x) for x in lines[:i]) for i in range(len(lines))]
    log = JsonlLog(path)

    def at(us: int) -> datetime:
        return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=BASE_US + us)

    assert log.seek(at(5)) == offsets[1]  # the first of three equal stamps
    assert log.seek(at(4)) == offsets[1]
    assert log.seek(at(6)) == offsets[4]
    assert log.seek(at(9)) == offsets[4]
    assert log.seek(at(0)) == offsets[0]  # the first record
    assert log.seek(at(-1_000_000)) == 0  # before all
    assert log.seek(at(12)) == offsets[6]  # the last record
    assert log.seek(at(13)) == path.stat().st_size  # after all
    # A string with an offset works as well as a datetime, in any zone.
    assert log.seek(us_to_iso(BASE_US + 9)) == offsets[4]
    shifted = at(9).astimezone(timezone(timedelta(hours=2)))
    assert log.seek(shifted.isoformat()) == offsets[4]
    assert [e.data["i"] for e in log.reader(log.seek(at(5))).read()] == [1, 2, 3, 4, 5, 6]


def test_seek_on_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert JsonlLog(empty).seek(datetime.now(UTC)) == 0
    assert JsonlLog(tmp_path / "missing.jsonl").seek(datetime.now(UTC)) == 0


def test_seek_refuses_a_time_without_offset(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    with pytest.raises(ValueError):
        log.seek("2026-03-01T00:00:00")
    with pytest.raises(ValueError):
        log.seek(datetime(2026, 3, 1))


def test_seek_skips_corrupt_lines_and_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _write(path, _line(BASE_US, '"i":0'), b"junk\n" * 3, _line(BASE_US + 10, '"i":1'), b'{"ts":"2026-03-01T00:00')
    log = JsonlLog(path)
    assert log.seek(us_to_iso(BASE_US + 1)) == len(_line(BASE_US, '"i":0')) + 15
    # Nothing complete at or after: the start of the unfinished tail, where a record may be landing right now.
    assert log.seek(us_to_iso(BASE_US + 11)) == path.stat().st_size - len(b'{"ts":"2026-03-01T00:00')


def test_seek_does_not_skip_a_record_being_written(tmp_path: Path) -> None:
    # A big append in progress is visible to readers half-written; "since now" must not point past it.
    path = tmp_path / "a.jsonl"
    landing = _line(BASE_US + 50, '"i":1,"pad":"' + "p" * 100_000 + '"')
    _write(path, _line(BASE_US, '"i":0'), landing[:60_000])
    log = JsonlLog(path)
    reader = log.reader(log.seek(us_to_iso(BASE_US + 1)))
    assert list(reader.read()) == []
    with open(path, "ab") as handle:
        handle.write(landing[60_000:])
    assert [e.data["i"] for e in reader.read()] == [1]
    assert reader.stats.corrupt_lines == 0


@st.composite
def _log_files(draw: st.DrawFn) -> tuple[list[bytes], list[int]]:
    gaps = draw(st.lists(st.sampled_from([0, 0, 1, 2, 1000, 86_400_000_000]), min_size=0, max_size=60))
    stamps, now = [], 0
    for gap in gaps:
        now += gap
        stamps.append(now)
    lines: list[bytes] = []
    for i, stamp in enumerate(stamps):
        pad = draw(st.sampled_from([0, 3, 40, 5000, 20000]))
        if draw(st.integers(0, 9)) == 0:
            lines.append(b"corrupt line " + b"z" * pad + b"\n")
        lines.append(_line(BASE_US + stamp, f'"i":{i},"pad":"' + "p" * pad + '"'))
    if draw(st.booleans()):
        lines.append(b'{"ts":"2026-03-0')  # a torn tail
    return lines, stamps


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=_log_files(), probe=st.integers(-3, 3), pick=st.integers(0, 10_000))
def test_seek_matches_a_linear_scan(
    tmp_path: Path, files: tuple[list[bytes], list[int]], probe: int, pick: int
) -> None:
    lines, stamps = files
    path = tmp_path / "h.jsonl"
    _write(path, *lines)
    candidates = [*stamps, -5, (stamps[-1] + 5) if stamps else 5]
    since = us_to_iso(BASE_US + candidates[pick % len(candidates)] + probe)
    assert JsonlLog(path).seek(since) == _brute_force_seek(path, since)


# ------------------------------------------------------------------ follow

_APPENDER = """
import sys, time
from shared.bus import JsonlLog
time.sleep(float(sys.argv[2]))
JsonlLog(sys.argv[1]).append({"from": "child", "sent_ns": time.time_ns()})
"""


def test_follower_sees_an_append_from_another_process(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f.jsonl"  # neither the file nor its folder exist yet
    log = JsonlLog(path)
    reader = log.reader()
    child = subprocess.Popen([sys.executable, "-c", _APPENDER, str(path), "0.3"], cwd=repo_root())
    try:
        started = time.monotonic()
        entries = reader.follow(timeout=30)
        assert [e.data["from"] for e in entries] == ["child"]
        assert time.monotonic() - started < 30
        assert reader.follow(timeout=0.05) == []  # nothing more: times out, returns empty
        # A second append from this process is seen too, and quickly.
        log.append({"from": "parent"})
        assert [e.data["from"] for e in reader.follow(timeout=5)] == ["parent"]
    finally:
        child.wait(timeout=30)
        reader.close()


def test_follow_returns_what_is_already_there_without_waiting(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "f.jsonl")
    log.append({"i": 0})
    with log.reader() as reader:
        started = time.monotonic()
        assert [e.data["i"] for e in reader.follow(timeout=10)] == [0]
        assert time.monotonic() - started < 1


def test_file_watch_fd_becomes_readable_on_append(tmp_path: Path) -> None:
    import select

    path = tmp_path / "w.jsonl"
    fd, handle = file_watch_fd(path)
    try:
        assert fd is not None
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        assert poller.poll(0) == []
        JsonlLog(path).append({"i": 1})
        assert [f for f, _ in poller.poll(5000)] == [fd]
        handle.drain()
        assert poller.poll(0) == []
    finally:
        handle.close()


def test_a_follower_waits_even_with_a_thousand_descriptors_open(tmp_path: Path) -> None:
    """select() refuses descriptors from 1024 up; a busy process (the dashboard's subscribers) has that many."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the descriptor limit here is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        log = JsonlLog(tmp_path / "f.jsonl")
        reader = log.reader()
        log.append({"i": 1})
        assert [e.data["i"] for e in reader.follow(timeout=5)] == [1]
        assert reader.follow(timeout=0.05) == []  # waits (on a descriptor above 1024) and times out cleanly
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_log_lines_are_plain_json(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "a.jsonl")
    log.append_many([{"i": i, "s": "é\"\\"} for i in range(3)])
    for raw in (tmp_path / "a.jsonl").read_bytes().splitlines():
        obj = json.loads(raw)
        assert next(iter(obj)) == "ts" and obj["s"] == "é\"\\"


# ------------------------------------------------------------------ threads and fork


def test_threads_sharing_one_log_keep_stamps_in_file_order(tmp_path: Path) -> None:
    import threading

    log = JsonlLog(tmp_path / "t.jsonl")
    pad = "p" * 5000

    def work(k: int) -> None:
        for i in range(300):
            log.append({"k": k, "i": i, "pad": pad})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = log.read_all()
    assert len(entries) == 1200
    stamps = [e.ts for e in entries]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    for k in range(4):
        assert [e.data["i"] for e in entries if e.data["k"] == k] == list(range(300))


def test_a_forked_child_is_excluded_by_the_parents_lock(tmp_path: Path) -> None:
    # A forked child inherits the parent's open file description, and flock on a shared description does not
    # exclude: the bus must give the child its own descriptor, so that the parent's lock holds it back.
    import fcntl

    path = tmp_path / "f.jsonl"
    log = JsonlLog(path)
    log.append({"who": "parent"})
    assert log._fd is not None
    fcntl.flock(log._fd, fcntl.LOCK_EX)  # the parent is mid-append
    pid = os.fork()
    if pid == 0:
        try:
            log.append({"who": "child"})
        finally:
            os._exit(0)
    try:
        time.sleep(0.3)
        assert [e.data["who"] for e in log.read_all()] == ["parent"]  # the child waits for the lock
    finally:
        fcntl.flock(log._fd, fcntl.LOCK_UN)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log.append({"who": "parent"})
    assert [e.data["who"] for e in log.read_all()] == ["parent", "child", "parent"]
