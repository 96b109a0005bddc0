"""The backtest clock: FX and stocks tick at every bar close and never while the market is closed; kalshi_st ticks
every minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.clock import SteppedClock
from shared.venues.sim import build_sim_venue
from shared.venues.sim.linear import LinearSimVenue
from surfaces.backtest.clock import bar_schedule, schedule_for

START = datetime(2025, 8, 4, tzinfo=UTC)  # a Monday
END = START + timedelta(days=7)


def _venue(surface: str, tmp_path: Path) -> LinearSimVenue:
    venue = build_sim_venue(surface, SteppedClock(START), tmp_path, 7, 1_000_000)
    assert isinstance(venue, LinearSimVenue)
    return venue


def test_every_bar_close_is_a_tick_and_closed_hours_are_skipped(tmp_path: Path) -> None:
    for surface in ("fx", "stocks"):
        venue = _venue(surface, tmp_path / surface)
        moments = list(bar_schedule(venue, START, END))
        assert moments == sorted(set(moments)) and all(START <= m < END for m in moments)
        starts = {b.start for s in venue.series.values() for b in s.bars if START <= b.start < END}
        assert starts <= set(moments), "a bar close (the next bar's start) was skipped"
        symbol = next(iter(venue.series))
        for moment in moments:
            # Each tick either has an open market or is the end of the bar just before it (a session's close).
            open_now = any(venue.closed_reason(s, moment) is None for s in venue.series)
            just_closed = any(venue.closed_reason(s, moment - timedelta(minutes=1)) is None for s in venue.series)
            assert open_now or just_closed, (surface, moment)
        assert not [m for m in moments if m.weekday() == 5], f"{surface} ticked on a Saturday"
        assert venue.closed_reason(symbol, START + timedelta(days=5, hours=12)) is not None  # Saturday: closed


def test_stocks_tick_only_in_the_session(tmp_path: Path) -> None:
    moments = list(bar_schedule(_venue("stocks", tmp_path), START, END))
    # Five sessions of 09:30-16:00 ET: bars start 09:30, 10:30 ... 15:30 (7) and the session ends at 16:00.
    assert len(moments) == 5 * 8
    assert {m.strftime("%H:%M") for m in moments} == {"13:30", "14:30", "15:30", "16:30", "17:30", "18:30",
                                                      "19:30", "20:00"}


def test_kalshi_ticks_every_minute(tmp_path: Path) -> None:
    venue = build_sim_venue("kalshi_st", SteppedClock(START), tmp_path, 7, 1_000_000)
    schedule = schedule_for("kalshi_st", venue, START, START + timedelta(hours=2))
    assert len(schedule) == 120 and schedule.moments[1] - schedule.moments[0] == timedelta(minutes=1)
