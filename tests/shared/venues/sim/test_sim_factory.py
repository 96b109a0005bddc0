"""The venue factory: sim by default on the shared replay clock, live adapters only when asked for."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.clock import ReplayClock, SteppedClock
from shared.config import ConfigError, SurfaceSettings
from shared.datasources.forecast import ClimateReport, HighTempForecast
from shared.venues.base import Venue
from shared.venues.factory import build_climate_report, build_forecast, build_venue
from shared.venues.sim import FxSimVenue
from shared.venues.sim.replay import DATA_STARTS, EpochError, epoch_path, load_or_create_epoch, replay_clock


def test_sim_is_the_default_and_runs_on_the_shared_epoch(log_dir: Path) -> None:
    settings = SurfaceSettings(log_dir=log_dir, sim_speed=600.0)
    venue = build_venue("fx", settings)
    assert isinstance(venue, FxSimVenue) and isinstance(venue, Venue)
    assert isinstance(venue.clock, ReplayClock) and venue.clock.data_start == DATA_STARTS["fx"]
    epoch = json.loads(epoch_path(log_dir).read_text())["epoch"]
    again = build_venue("kalshi_st", settings)
    assert isinstance(again.clock, ReplayClock) and again.clock.epoch == venue.clock.epoch
    assert epoch.startswith(venue.clock.epoch.strftime("%Y-%m-%dT%H:%M:%S"))
    for surface in ("kalshi_lt", "stocks"):
        built = build_venue(surface, settings)
        assert isinstance(built, Venue) and built.instruments(status=None)


def test_replay_clock_maps_wall_time_at_sim_speed(log_dir: Path) -> None:
    wall = SteppedClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock = replay_clock("kalshi_st", log_dir, 600.0, wall)
    assert clock.now() == DATA_STARTS["kalshi_st"]
    wall.advance(timedelta(minutes=2))
    # Two wall minutes are 20 sim hours: the first weather events (closing 14 h after the start) have closed.
    assert clock.now() == DATA_STARTS["kalshi_st"] + timedelta(hours=20)


def _epoch(log_dir: Path, out: Any) -> None:
    out.put(load_or_create_epoch(log_dir).isoformat())


def test_epoch_is_created_once_by_racing_processes(log_dir: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_epoch, args=(log_dir, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    assert len({out.get(timeout=5) for _ in procs}) == 1


def test_broken_epoch_file_is_a_clear_error(log_dir: Path) -> None:
    epoch_path(log_dir).parent.mkdir(parents=True)
    epoch_path(log_dir).write_text("{not json}\n")
    with pytest.raises(EpochError, match="delete it"):
        load_or_create_epoch(log_dir)


def test_sim_forecast_and_climate_report(log_dir: Path) -> None:
    clock = SteppedClock(datetime(2025, 12, 9, 12, tzinfo=UTC))
    settings = SurfaceSettings(log_dir=log_dir)
    forecast = build_forecast(settings, clock)
    report = build_climate_report(settings, clock)
    assert isinstance(forecast, HighTempForecast) and isinstance(report, ClimateReport)
    assert len(forecast.daily_high_members("KMDW", clock.now().date())) == 31


def test_live_venue_is_built_lazily_from_settings(log_dir: Path) -> None:
    settings = SurfaceSettings(log_dir=log_dir, trading_mode="live", venue="oanda",
                               oanda_api_token="practice-token",
                               oanda_account_id="101-001-1-001")
    venue = build_venue("fx", settings)
    assert venue.name == "oanda" and isinstance(venue, Venue)
    assert build_venue(settings).name == "oanda"  # the client's call: the surface follows from the venue
    with pytest.raises(ConfigError, match="VENUE"):
        build_venue("kalshi_st", settings)


def test_sim_mode_never_imports_live_adapters(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from shared.config import SurfaceSettings;"
        "from shared.venues.factory import build_venue;"
        f"build_venue('kalshi_st', SurfaceSettings(log_dir=Path({str(tmp_path)!r})));"
        "print(sorted(m for m in sys.modules if m.startswith(('shared.venues.kalshi', 'shared.venues.oanda',"
        " 'shared.venues.ibkr', 'httpx'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    # The Kalshi ticker grammar lives beside the Kalshi venue and the sims use it; the adapter itself (HTTP, signing)
    # must not load.
    assert result.stdout.strip() == "['shared.venues.kalshi', 'shared.venues.kalshi.tickers']"


def test_quote_venue_needs_a_running_fleet(log_dir: Path) -> None:
    from shared.venues.factory import build_sim_quote_venue

    with pytest.raises(FileNotFoundError):
        build_sim_quote_venue("fx", log_dir)
    assert not epoch_path(log_dir).exists()  # a quote-only user never starts a replay of its own
    load_or_create_epoch(log_dir)
    venue = build_sim_quote_venue("fx", log_dir)
    assert isinstance(venue.clock, ReplayClock) and venue.clock.data_start == DATA_STARTS["fx"]
