"""The scan progress bar: drawn on a terminal, silent on a pipe."""

from __future__ import annotations

import io

from shared.audit.progress import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_draws_and_clears_on_a_tty() -> None:
    stream = Tty()
    progress = Progress(100 << 20, stream=stream)
    progress.advance(50 << 20)
    assert "50.0%" in stream.getvalue() and "50/100 MiB" in stream.getvalue()
    progress.finish()
    assert stream.getvalue().endswith("\r")


def test_silent_off_a_tty_and_for_small_scans() -> None:
    pipe = io.StringIO()
    progress = Progress(100 << 20, stream=pipe)
    progress.advance(100 << 20)
    progress.finish()
    assert pipe.getvalue() == ""
    small = Tty()
    Progress(1 << 20, stream=small).advance(1 << 20)
    assert small.getvalue() == ""
