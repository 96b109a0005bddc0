"""The chain's id mint produces ULIDs in shared.ids' format: sortable, unique, reproducible from a seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.ids import id_time_ms, new_id
from shared.risk.ids import IdMint


def test_same_format_as_new_id() -> None:
    moment = datetime(2025, 3, 3, 12, 0, 0, 123000, tzinfo=UTC)
    seed = (41).to_bytes(10, "big")
    assert IdMint(seed).next(moment) == new_id(moment, (42).to_bytes(10, "big"))
    assert id_time_ms(IdMint().next(moment)) == int(moment.timestamp() * 1000)


def test_sortable_and_unique() -> None:
    mint = IdMint()
    start = datetime(2025, 3, 3, tzinfo=UTC)
    ids = [mint.next(start + timedelta(microseconds=200 * i)) for i in range(5_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 for i in ids)


def test_reproducible_from_a_seed() -> None:
    moment = datetime(2025, 3, 3, tzinfo=UTC)
    a, b = IdMint(b"\x01" * 10), IdMint(b"\x01" * 10)
    assert [a.next(moment) for _ in range(3)] == [b.next(moment) for _ in range(3)]
    with pytest.raises(ValueError):
        IdMint(b"short")


def test_encoding_across_the_cached_high_bits() -> None:
    moment = datetime(2025, 3, 3, tzinfo=UTC)
    start = (1 << 20) - 2
    mint = IdMint(start.to_bytes(10, "big"))
    for k in range(1, 5):
        assert mint.next(moment) == new_id(moment, (start + k).to_bytes(10, "big"))


def test_the_time_prefix_follows_every_millisecond_boundary() -> None:
    # The prefix is cached per millisecond: moments either side of a boundary (microsecond-exact, where float
    # timestamps round the wrong way) and the same instant in another zone must carry new_id's time.
    from zoneinfo import ZoneInfo

    mint = IdMint()
    base = datetime(2025, 3, 3, 12, 0, 0, tzinfo=UTC)
    moments = [base + timedelta(microseconds=us) for us in (0, 999, 1000, 1001, 999_999, 1_000_000, 2_003_000)]
    moments.append((base + timedelta(microseconds=5_250)).astimezone(ZoneInfo("America/New_York")))
    moments.append(base + timedelta(microseconds=1))  # back in time: the cache must not keep the later prefix
    for moment in moments:
        assert mint.next(moment)[:10] == new_id(moment, bytes(10))[:10], moment
