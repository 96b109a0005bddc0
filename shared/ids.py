"""Identifiers: time-sortable record ids and ids derived deterministically from other ids."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

from shared.timeutil import utcnow

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_id(moment: datetime | None = None, entropy: bytes | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 bits of entropy, so ids sort by creation time.

    Pass ``entropy`` (10 bytes) from a seeded generator where a replay must reproduce the same ids.
    """
    moment = moment or utcnow()
    if moment.tzinfo is None:
        raise ValueError("naive datetime: ids need a timezone-aware time")
    # Integer arithmetic: timestamp() * 1000 in floats can land a microsecond-exact time in the millisecond
    # before, so a replay's ids would not carry the time they were made for.
    millis = (moment - _EPOCH) // _ONE_MS
    if millis < 0 or millis >= 1 << 48:
        raise ValueError(f"time out of ULID range: {moment!r}")
    entropy = os.urandom(10) if entropy is None else entropy
    if len(entropy) != 10:
        raise ValueError("ULID entropy must be exactly 10 bytes")
    return _encode(millis, 10) + _encode(int.from_bytes(entropy, "big"), 16)


def id_time_ms(record_id: str) -> int:
    """The millisecond timestamp embedded in a ULID."""
    value = 0
    for char in record_id[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def derive_id(namespace: str, source_id: str, length: int = 24) -> str:
    """A stable id derived from another (e.g. a client order id from a signal id), identical on every replay.

    Venue limits differ (OANDA client ids allow 128 chars, IBKR cOID is free text, Kalshi takes any string);
    24 lowercase hex-ish characters fit all of them.
    """
    prefix_len = len(namespace[:4]) + 1
    if not prefix_len < length <= prefix_len + 64:
        raise ValueError(f"derived id length must be between {prefix_len + 1} and {prefix_len + 64}")
    digest = hashlib.sha256(f"{namespace}:{source_id}".encode()).hexdigest()
    return f"{namespace[:4]}-{digest[: length - len(namespace[:4]) - 1]}"
