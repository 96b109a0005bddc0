"""Ids: ULIDs sort by creation time; derived ids are stable across replays."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.ids import derive_id, id_time_ms, new_id

_moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC))


@given(moment=_moments, entropy=st.binary(min_size=10, max_size=10))
def test_ulid_embeds_the_exact_millisecond(moment: datetime, entropy: bytes) -> None:
    record_id = new_id(moment, entropy)
    assert len(record_id) == 26
    expected = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert id_time_ms(record_id) == expected


@given(a=_moments, b=_moments)
def test_ulids_sort_like_their_times(a: datetime, b: datetime) -> None:
    zero, ones = bytes(10), b"\xff" * 10
    ms_a = (a - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    ms_b = (b - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    if ms_a < ms_b:  # within one millisecond the order is the entropy's, across milliseconds it is time's
        assert new_id(a, ones) < new_id(b, zero)
    assert (new_id(a, zero) <= new_id(b, zero)) == (ms_a <= ms_b)


def test_a_microsecond_exact_time_is_not_rounded_into_the_previous_millisecond() -> None:
    # As a float, this time's timestamp() * 1000 falls just below the whole millisecond, and int() truncates.
    moment = datetime(2004, 9, 18, 13, 12, 28, 120000, tzinfo=UTC)
    assert int(moment.timestamp() * 1000) % 1000 == 119
    assert id_time_ms(new_id(moment)) % 1000 == 120


def test_seeded_entropy_reproduces_ids_and_random_entropy_differs() -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    rng_a, rng_b = random.Random(7), random.Random(7)
    first = [new_id(moment, rng_a.randbytes(10)) for _ in range(5)]
    assert first == [new_id(moment, rng_b.randbytes(10)) for _ in range(5)]
    assert new_id(moment) != new_id(moment)


def test_new_id_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="naive"):
        new_id(datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="10 bytes"):
        new_id(datetime(2026, 3, 1, tzinfo=UTC), b"short")
    with pytest.raises(ValueError, match="range"):
        new_id(datetime(1969, 12, 31, tzinfo=UTC))


def test_derived_ids_are_stable_distinct_and_venue_sized() -> None:
    assert derive_id("coid", "01J00000000000000000000000") == derive_id("coid", "01J00000000000000000000000")
    assert derive_id("coid", "a") != derive_id("coid", "b")
    assert derive_id("trade", "a") != derive_id("coid", "a")
    value = derive_id("coid", "a")
    assert len(value) == 24 and value.startswith("coid-")
    assert len(derive_id("trade", "a", length=40)) == 40
    with pytest.raises(ValueError):
        derive_id("coid", "a", length=3)
