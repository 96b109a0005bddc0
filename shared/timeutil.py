"""Time helpers: everything inside tbot is timezone-aware UTC; conversions happen only at the edges."""

from __future__ import annotations

from datetime import UTC, datetime

# Fixed width so that ISO strings sort like the instants they name (the bus's binary search relies on it).
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
ISO_WIDTH = 27


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Format an aware datetime as fixed-width ISO-8601 UTC with microseconds and a trailing Z."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: tbot only handles timezone-aware UTC times")
    return moment.astimezone(UTC).strftime(_ISO_FORMAT)


def from_iso(text: str) -> datetime:
    """Parse an ISO-8601 time; a string without an offset is rejected rather than guessed."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text!r}")
    return moment.astimezone(UTC)


def ns_to_iso(epoch_ns: int) -> str:
    """Format nanoseconds since the epoch in the bus's fixed-width form (microsecond resolution)."""
    seconds, remainder = divmod(epoch_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=remainder // 1000)
    return moment.strftime(_ISO_FORMAT)
