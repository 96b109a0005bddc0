"""Time helpers: everything inside tbot is timezone-aware UTC; conversions happen only at the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    return us_to_iso(epoch_ns // 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
# The bus stamps every append; formatting the date and time of day once per second (not per record) keeps
# stamping cheap. One tuple, swapped whole, so concurrent threads never see a half-updated cache.
_second_prefix: tuple[int, str] = (-1, "")


def us_to_iso(epoch_us: int) -> str:
    """Format microseconds since the epoch in the bus's fixed-width form."""
    global _second_prefix
    seconds, micros = divmod(epoch_us, 1_000_000)
    cached_second, prefix = _second_prefix
    if cached_second != seconds:
        prefix = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _second_prefix = (seconds, prefix)
    return f"{prefix}{micros:06d}Z"


def iso_to_us(text: str) -> int:
    """Microseconds since the epoch of an ISO-8601 time with a UTC offset (the inverse of :func:`us_to_iso`)."""
    return (from_iso(text) - _EPOCH) // _ONE_US
