"""A byte-based progress bar for long scans: on stderr, and only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts bytes scanned against a known total; draws at most ~10 times a second; silent off a TTY."""

    def __init__(self, total_bytes: int, label: str = "audit", stream: TextIO | None = None,
                 enabled: bool | None = None, min_bytes: int = 32 << 20) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = max(0, total_bytes)
        self.done = 0
        self.label = label
        # Small reports finish before a bar would help; pipes and CI logs never get carriage-return noise.
        tty = self.stream.isatty() if enabled is None else enabled
        self.enabled = bool(tty) and self.total >= min_bytes
        self._last_draw = 0.0
        self._drawn = False

    def advance(self, nbytes: int) -> None:
        """Record ``nbytes`` more scanned; redraw if enough time passed."""
        self.done += nbytes
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        fraction = min(1.0, self.done / self.total) if self.total else 1.0
        width = 30
        filled = int(fraction * width)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {fraction * 100:5.1f}% {self.done >> 20}/{self.total >> 20} MiB")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """Clear the bar line so the report starts on a clean line."""
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()
