"""Opaque cursors: one byte offset per surface log, so a cursor survives restarts and never skips or repeats.

A cursor names, for each surface's log, the offset of the next record not yet consumed. Offsets of an
append-only log never change, so the same cursor means the same position after any restart.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from shared.records import SURFACES

_VERSION = "1"


class CursorError(ValueError):
    """A cursor that this server did not issue (or a corrupted one)."""


# Many subscribers hold the same cursor (they all follow the tail), so both directions are memoized.
@lru_cache(maxsize=8192)
def encode_cursor(offsets: tuple[int, ...], kind: str = "f") -> str:
    """Encode per-surface offsets (in ``SURFACES`` order) as an opaque URL-safe string."""
    text = f"{_VERSION}{kind}:" + ".".join(format(o, "x") for o in offsets)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@lru_cache(maxsize=8192)
def decode_cursor(cursor: str, kind: str = "f") -> tuple[int, ...]:
    """Decode a cursor; raises :class:`CursorError` naming what is wrong."""
    if len(cursor) > 200:
        raise CursorError("cursor too long")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise CursorError("cursor is not one this server issued") from exc
    prefix = f"{_VERSION}{kind}:"
    if not text.startswith(prefix):
        raise CursorError("cursor is not one this server issued")
    parts = text[len(prefix) :].split(".")
    if len(parts) != len(SURFACES):
        raise CursorError("cursor is not one this server issued")
    try:
        offsets = tuple(int(part, 16) for part in parts)
    except ValueError as exc:
        raise CursorError("cursor is not one this server issued") from exc
    if any(o < 0 for o in offsets):
        raise CursorError("cursor is not one this server issued")
    return offsets
