"""The weather forecast process: real issues at their real times, outcomes, and the market's error model."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.venues.sim import data
from shared.venues.sim.weather_forecast import (
    KNOWN_AFTER,
    LAGS,
    STATIONS,
    clear_caches,
    conditional_sample,
    error_sample,
    event_times,
    recent_error,
    station_day,
)

DAY = date(2025, 12, 10)


def test_new_york_replays_the_real_issues_at_their_real_times_and_the_real_cli_high() -> None:
    plan = station_day("KNYC", DAY)
    assert plan is not None and plan.outcome == "real"
    real = data.knyc_forecasts()[DAY]
    assert [i.forecast_f for i in plan.issues] == [r.forecast_f for r in real]
    assert [i.known_at for i in plan.issues] == [r.issued_at + KNOWN_AFTER for r in real]
    assert plan.high == data.knyc_cli_highs()[DAY]
    opens = event_times(STATIONS["KNYC"], DAY)[0]
    assert plan.listing_issue.known_at <= opens  # brackets are placed from an issue already public at listing
    assert plan.latest(opens) == plan.listing_issue
    assert plan.latest(plan.issues[0].known_at - timedelta(seconds=1)) is None


def test_other_stations_move_with_a_borrowed_real_day_scaled_around_their_own_high() -> None:
    plan = station_day("KMDW", DAY)
    assert plan is not None and plan.outcome == "sim"
    borrowed = DAY + timedelta(days=7)
    real = data.knyc_forecasts()[borrowed]
    anchor = next(r for r, i in zip(real, plan.issues, strict=True) if i == plan.listing_issue)
    for issue, source in zip(plan.issues, real, strict=True):
        assert issue.forecast_f == pytest.approx(plan.listing_issue.forecast_f
                                                 + 1.2 * (source.forecast_f - anchor.forecast_f), abs=0.051)
        # Same lead and local hour as in New York: an hour later in UTC for a zone one hour further west.
        assert issue.known_at == source.issued_at + KNOWN_AFTER + (DAY - borrowed) + timedelta(hours=1)
    expected = plan.listing_issue.forecast_f + 1.2 * (data.knyc_cli_highs()[borrowed] - anchor.forecast_f)
    assert plan.high == math.floor(expected + 0.5)


def test_the_error_model_leaves_out_the_replayed_year(monkeypatch: pytest.MonkeyPatch) -> None:
    before = error_sample("am", 1, DAY)
    assert 100 < len(before) < 300
    highs = dict(data.knyc_cli_highs())
    monkeypatch.setattr(data, "knyc_cli_highs", lambda: highs)
    try:
        for near in (DAY, DAY - timedelta(days=30), DAY + timedelta(days=40)):  # same year: never in the sample
            highs[near] += 9
        clear_caches()
        assert error_sample("am", 1, DAY) == before
        highs[DAY - timedelta(days=365)] += 9  # the same season a year earlier is
        clear_caches()
        assert error_sample("am", 1, DAY) != before
    finally:
        monkeypatch.undo()
        clear_caches()


def test_the_market_learns_the_recent_errors_published_by_then() -> None:
    plan = station_day("KNYC", DAY)
    assert plan is not None
    yesterday_settles = event_times(STATIONS["KNYC"], DAY - timedelta(days=1))[2]
    assert plan.lag(yesterday_settles - timedelta(seconds=1)) == 2
    assert plan.lag(yesterday_settles) == 1
    lag1, lag2 = recent_error(DAY, 1), recent_error(DAY, 2)
    assert lag1 is not None and lag2 is not None and lag1 != lag2
    # A day with recent warm errors (outcome above forecast) shifts the market's error sample up, and vice versa.
    shifted = conditional_sample("am", 0, DAY, 1)
    plain = error_sample("am", 0, DAY)
    assert len(shifted) <= len(plain)
    assert sum(shifted) / len(shifted) != pytest.approx(sum(plain) / len(plain), abs=1e-9)
    issue = plan.issues[-2]
    assert issue.conditional[LAGS.index(1)] != issue.conditional[LAGS.index(2)]


def test_probabilities_of_a_partition_sum_to_one() -> None:
    plan = station_day("KAUS", DAY)
    assert plan is not None
    now = datetime(2025, 12, 10, 18, 0, tzinfo=UTC)
    buckets = [(None, 59), (60, 61), (62, 63), (64, 65), (66, 67), (68, None)]
    assert sum(plan.probability(now, low, high) for low, high in buckets) == pytest.approx(1.0, abs=1e-9)


def test_days_without_data_have_no_process() -> None:
    assert station_day("KNYC", date(2025, 6, 2)) is None  # no CLI high upstream
    assert station_day("KMDW", date(2028, 2, 29)) is None  # no 2018/2019 calendar day to anchor on
