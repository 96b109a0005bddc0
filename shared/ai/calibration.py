"""Calibration of probabilistic forecasts: pure functions over ``(predicted probability, outcome)`` pairs.

A *pair* is ``(p, won)``: ``p`` the probability a forecaster gave that an event happens, ``won`` whether it did.
Every function validates its input (each ``p`` finite and in [0, 1]) and raises :class:`CalibrationError`, a
``ValueError``, on bad input; the scores of an empty sequence are undefined and raise too, so an audit never
prints a meaningless 0.0. Probabilities are ratios, not money, so floats are exact enough here.

Used by the audit commands (per model, per surface) and by the ensemble's optional learned weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Pair = tuple[float, bool]
"""``(predicted probability that the event happens, whether it happened)``."""


class CalibrationError(ValueError):
    """Input that has no calibration: an empty sequence, a probability outside [0, 1], a bad bucket count."""


@dataclass(frozen=True, slots=True)
class ReliabilityBucket:
    """One bin of a reliability diagram: forecasts with ``lower <= p < upper`` (the last bin includes 1.0).

    ``mean_predicted`` and ``realized_frequency`` are ``None`` when the bucket is empty.
    """

    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    realized_frequency: float | None

    @property
    def gap(self) -> float | None:
        """``|mean predicted - realized frequency|``; ``None`` for an empty bucket."""
        if self.mean_predicted is None or self.realized_frequency is None:
            return None
        return abs(self.mean_predicted - self.realized_frequency)


def _checked(pairs: Sequence[Pair], *, allow_empty: bool = False) -> list[tuple[float, bool]]:
    if not pairs and not allow_empty:
        raise CalibrationError("no (probability, outcome) pairs: the score is undefined")
    checked: list[tuple[float, bool]] = []
    for index, (p, won) in enumerate(pairs):
        value = float(p)
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise CalibrationError(f"pair {index}: probability {p!r} is not in [0, 1]")
        checked.append((value, bool(won)))
    return checked


def _check_buckets(buckets: int) -> None:
    if isinstance(buckets, bool) or not isinstance(buckets, int) or buckets < 1:
        raise CalibrationError(f"buckets must be a positive integer, got {buckets!r}")


def brier_score(pairs: Sequence[Pair]) -> float:
    """Mean squared error between forecast and outcome: 0 is perfect, 0.25 is a constant 0.5, 1 is always wrong."""
    checked = _checked(pairs)
    return math.fsum((p - (1.0 if won else 0.0)) ** 2 for p, won in checked) / len(checked)


def log_loss(pairs: Sequence[Pair], eps: float = 1e-6) -> float:
    """Mean negative log-likelihood of the outcomes; forecasts are clipped to ``[eps, 1 - eps]``."""
    if not 0.0 < eps < 0.5:
        raise CalibrationError(f"eps must be in (0, 0.5), got {eps!r}")
    checked = _checked(pairs)
    total = math.fsum(-math.log(min(max(p if won else 1.0 - p, eps), 1.0 - eps)) for p, won in checked)
    return total / len(checked)


def bucket_index(p: float, buckets: int) -> int:
    """The bucket a probability falls in: equal-width bins over [0, 1], 1.0 in the last one."""
    return min(int(p * buckets), buckets - 1)


def reliability_table(pairs: Sequence[Pair], buckets: int = 10) -> list[ReliabilityBucket]:
    """Equal-width reliability bins over [0, 1]; every bin is returned, empty ones with ``None`` statistics."""
    _check_buckets(buckets)
    checked = _checked(pairs, allow_empty=True)
    predicted: list[list[float]] = [[] for _ in range(buckets)]
    outcomes: list[int] = [0] * buckets
    for p, won in checked:
        index = bucket_index(p, buckets)
        predicted[index].append(p)
        outcomes[index] += 1 if won else 0
    table: list[ReliabilityBucket] = []
    for index in range(buckets):
        count = len(predicted[index])
        table.append(
            ReliabilityBucket(
                lower=index / buckets,
                upper=(index + 1) / buckets,
                count=count,
                mean_predicted=math.fsum(predicted[index]) / count if count else None,
                realized_frequency=outcomes[index] / count if count else None,
            )
        )
    return table


def expected_calibration_error(pairs: Sequence[Pair], buckets: int = 10) -> float:
    """Count-weighted mean of ``|mean predicted - realized frequency|`` over the reliability bins."""
    checked = _checked(pairs)
    table = reliability_table(checked, buckets)
    total = len(checked)
    return math.fsum(bucket.count / total * (bucket.gap or 0.0) for bucket in table if bucket.count)
