"""The windowed line reader: offsets, torn lines, chunk boundaries, backward walks, counting once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.audit import scan
from shared.audit.report import ReportOptions, build_report
from shared.audit.scan import FileStats, scan_backward, scan_range, scan_window
from shared.audit.window import Window, parse_day


def _write(path: Path, kit: Any, count: int) -> list[tuple[int, bytes]]:
    """count records (one a minute from 2026-11-01), a torn line after the 3rd, an unterminated tail."""
    lines: list[bytes] = []
    for i in range(count):
        lines.append(kit.bus_line(kit.at("2026-11-01 00:00").replace(minute=i % 60, hour=i // 60),
                                  {"kind": "x", "n": i, "pad": "p" * (i % 37)}))
        if i == 2:
            lines.append(b'{"ts":"2026-11-01T00:02:30.000000Z","kind":"x","n"\n')  # torn by a killed writer
            lines.append(b"\n")  # the newline the next appender adds after a torn line
    content = b"".join(lines) + b'{"ts":"2026-11-01T23:59:00.000000Z","kind":"unfinished'
    path.write_bytes(content)
    expected = []
    offset = 0
    for line in lines:
        if line.strip() and not line.startswith(b'{"ts":"2026-11-01T00:02:30'):
            expected.append((offset, line.rstrip(b"\n")))
        offset += len(line)
    return expected


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_forward_and_backward_agree_across_chunk_boundaries(tmp_path: Path, kit: Any, chunk: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_CHUNK", chunk)
    path = tmp_path / "x.jsonl"
    expected = _write(path, kit, 120)
    forward_stats, backward_stats = FileStats("f"), FileStats("b")
    forward = list(scan_range(path, 0, path.stat().st_size, forward_stats))
    backward = list(scan_backward(path, path.stat().st_size, backward_stats))
    assert forward == expected
    assert backward == expected[::-1]
    # The torn line is skipped and noted at its offset; the unterminated tail is a write in progress, not corrupt.
    torn_offset = expected[3][0] - len(b'{"ts":"2026-11-01T00:02:30.000000Z","kind":"x","n"\n') - 1
    assert forward_stats.corrupt_at == backward_stats.corrupt_at == {torn_offset}


def test_window_reads_only_its_records(tmp_path: Path, kit: Any) -> None:
    path = tmp_path / "x.jsonl"
    _write(path, kit, 180)  # 00:00 .. 02:59
    window = Window(kit.at("2026-11-01 01:00"), kit.at("2026-11-01 02:00"))
    stats = FileStats("w")
    lines = list(scan_window(path, window, stats))
    assert len(lines) == 60
    assert lines[0][1].startswith(b'{"ts":"2026-11-01T01:00:00') and lines[-1][1].startswith(b'{"ts":"2026-11-01T01:59')
    assert stats.bytes_scanned < path.stat().st_size / 2


def test_missing_log_reads_nothing(tmp_path: Path) -> None:
    stats = FileStats("none")
    assert list(scan_window(tmp_path / "absent.jsonl", Window.everything(), stats)) == []
    assert list(scan_backward(tmp_path / "absent.jsonl", 0, stats)) == []


def test_a_corrupt_line_read_twice_counts_once(log_dir: Path, builder: Any, kit: Any) -> None:
    # The decisions window (gates) and the model-answer lookup around the signal both cover the torn line.
    builder.stream("fx", "signals", kit.at("2026-11-02 10:00"), kit.signal("S1", "fx", p=0.6, sub="atr"))
    builder.stream("fx", "trades", kit.at("2026-11-02 12:00"),
                   kit.trade("1", "fx", pnl=100, sub="atr", source="oanda_candles"))
    builder.stream("fx", "decisions", kit.at("2026-11-02 09:59"), kit.decision(
        "S1", "fx", [("stop_file", True, None)], answers=[{"model": "a", "p": 0.6, "abstained": False}]))
    builder.stream("fx", "decisions", kit.at("2026-11-02 10:01"), b'{"ts":"2026-11-02T10:01:00.000000Z","ki\n')
    builder.stream("fx", "decisions", kit.at("2026-11-02 10:02"), b'{"ts":"2026-11-02T10:02:00.000000Z",not json}\n')
    builder.write()
    window = Window.from_days(parse_day("--since", "2026-11-02"))
    report = build_report(ReportOptions(log_dir=log_dir, window=window), now=window.since)
    assert report.corrupt_lines == 2
    assert {m.key: m.n for m in report.calibration.models} == {"a": 1}
