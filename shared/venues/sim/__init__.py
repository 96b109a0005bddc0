"""Sim venues: one per surface, replaying the real data vendored in ``data/`` on a replay clock.

``build_sim_venue(surface, clock, log_dir, seed, starting_cash_cents)`` returns the surface's venue; its orders
persist in ``logs/sim/<surface>/orders.jsonl``.
"""

from __future__ import annotations

from pathlib import Path

from shared.clock import Clock
from shared.venues.base import Venue
from shared.venues.sim.binary import BinarySimVenue
from shared.venues.sim.btc import BtcMarkets
from shared.venues.sim.common import SimVenueBase
from shared.venues.sim.fx import FxSimVenue
from shared.venues.sim.ledger import sim_dir
from shared.venues.sim.longterm import LongTermMarkets
from shared.venues.sim.stocks import StocksSimVenue
from shared.venues.sim.weather import RecordedWeatherMarkets, SimClimateReport, SimForecast, WeatherMarkets

__all__ = [
    "BinarySimVenue",
    "FxSimVenue",
    "SimClimateReport",
    "SimForecast",
    "SimVenueBase",
    "StocksSimVenue",
    "build_sim_venue",
]


def build_sim_venue(surface: str, clock: Clock, log_dir: Path, seed: int, starting_cash_cents: int) -> Venue:
    """The sim venue of ``surface`` (kalshi_st, kalshi_lt, fx, stocks)."""
    state = sim_dir(log_dir, surface)
    if surface == "kalshi_st":
        recorded = RecordedWeatherMarkets(seed)
        sources = (recorded, WeatherMarkets(seed, recorded.events), BtcMarkets(seed))
        return BinarySimVenue(surface, clock, state, seed, starting_cash_cents, sources)
    if surface == "kalshi_lt":
        return BinarySimVenue(surface, clock, state, seed, starting_cash_cents, (LongTermMarkets(seed),))
    if surface == "fx":
        return FxSimVenue(clock, state, seed, starting_cash_cents)
    if surface == "stocks":
        return StocksSimVenue(clock, state, seed, starting_cash_cents)
    raise ValueError(f"no sim venue for surface {surface!r}")
