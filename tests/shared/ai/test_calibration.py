"""Calibration scores on hand-computed examples and their invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.ai.calibration import (
    CalibrationError,
    brier_score,
    bucket_index,
    expected_calibration_error,
    log_loss,
    reliability_table,
)


def test_brier_hand_computed() -> None:
    pairs = [(0.9, True), (0.2, False), (0.6, False)]
    assert brier_score(pairs) == pytest.approx((0.01 + 0.04 + 0.36) / 3)


def test_brier_perfect_and_worst_and_coin() -> None:
    assert brier_score([(1.0, True), (0.0, False)]) == 0.0
    assert brier_score([(0.0, True), (1.0, False)]) == 1.0
    assert brier_score([(0.5, True), (0.5, False)]) == 0.25


def test_log_loss_hand_computed_and_clipped() -> None:
    pairs = [(0.8, True), (0.3, False)]
    assert log_loss(pairs) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)
    # A certain, wrong forecast is finite thanks to eps and grows as eps shrinks.
    assert log_loss([(0.0, True)]) == pytest.approx(-math.log(1e-6))
    assert log_loss([(0.0, True)], eps=1e-9) > log_loss([(0.0, True)], eps=1e-3)


def test_reliability_table_bins_and_edges() -> None:
    pairs = [(0.05, False), (0.15, True), (0.12, False), (1.0, True), (0.95, False), (0.5, True)]
    table = reliability_table(pairs, buckets=10)
    assert len(table) == 10
    assert [b.count for b in table] == [1, 2, 0, 0, 0, 1, 0, 0, 0, 2]
    assert table[0].lower == 0.0 and table[0].upper == 0.1
    assert table[1].mean_predicted == pytest.approx(0.135)
    assert table[1].realized_frequency == 0.5
    assert table[2].mean_predicted is None and table[2].realized_frequency is None and table[2].gap is None
    assert table[9].mean_predicted == pytest.approx(0.975)
    assert table[9].realized_frequency == 0.5
    assert bucket_index(1.0, 10) == 9 and bucket_index(0.0, 10) == 0 and bucket_index(0.1, 10) == 1


def test_ece_hand_computed() -> None:
    pairs = [(0.1, False), (0.1, False), (0.9, True), (0.9, False)]
    # bucket 1: mean 0.1, freq 0 -> gap 0.1, weight 1/2; bucket 9: mean 0.9, freq 0.5 -> gap 0.4, weight 1/2
    assert expected_calibration_error(pairs) == pytest.approx(0.25)
    assert expected_calibration_error([(0.25, True), (0.25, False), (0.25, False), (0.25, False)]) == 0.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: brier_score([]),
        lambda: log_loss([]),
        lambda: expected_calibration_error([]),
        lambda: brier_score([(1.2, True)]),
        lambda: brier_score([(-0.01, True)]),
        lambda: log_loss([(float("nan"), True)]),
        lambda: reliability_table([(0.5, True)], buckets=0),
        lambda: log_loss([(0.5, True)], eps=0.0),
    ],
)
def test_bad_input_is_a_typed_error(call: object) -> None:
    with pytest.raises(CalibrationError):
        call()  # type: ignore[operator]


def test_empty_reliability_table_is_all_empty_buckets() -> None:
    table = reliability_table([], buckets=4)
    assert [b.count for b in table] == [0, 0, 0, 0]


pairs_strategy = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), st.booleans()), min_size=1, max_size=50
)


@given(pairs_strategy)
def test_invariants(pairs: list[tuple[float, bool]]) -> None:
    assert 0.0 <= brier_score(pairs) <= 1.0
    assert log_loss(pairs) >= 0.0
    assert 0.0 <= expected_calibration_error(pairs) <= 1.0
    table = reliability_table(pairs, buckets=7)
    assert sum(b.count for b in table) == len(pairs)
    for bucket in table:
        if bucket.count:
            assert bucket.mean_predicted is not None
            assert bucket.lower - 1e-12 <= bucket.mean_predicted <= bucket.upper + 1e-12
