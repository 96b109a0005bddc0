"""Choose a surface's venue (and weather data sources): the sim replaying ``data/`` or a live adapter.

``VENUE=sim`` (the default) builds the surface's sim venue on the fleet's shared replay clock; ``kalshi``,
``oanda`` and ``ibkr`` build the live adapter from ``shared.venues.<name>.execution``. Paper never sends an order:
paper with ``VENUE=kalshi`` builds a :class:`~shared.venues.paper.PaperVenue` over a Kalshi adapter whose HTTP
transport refuses every order and account request (real data, local fills); paper on the other live venues is
refused. Live packages are imported only when asked for, so paper mode on the sim never needs them (nor their
dependencies). A venue built for a named surface records the market data it returns to
``logs/<surface>/market.jsonl`` per ``MARKET_RECORD`` (``shared.recorder``; see :func:`records_market`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from shared.clock import Clock, WallClock
from shared.config import ConfigError, SurfaceSettings, paper_venue_refusal
from shared.datasources.forecast import ClimateReport, HighTempForecast
from shared.surfaces import LIVE_VENUE_NAMES, surfaces_of_venue
from shared.venues.base import Venue
from shared.venues.sim import SimClimateReport, SimForecast, build_sim_venue
from shared.venues.sim.replay import existing_replay_clock, replay_clock

# Which live venue serves which surface (and the surface a live venue implies when none is named).
LIVE_VENUES: dict[str, tuple[str, ...]] = {venue: surfaces_of_venue(venue) for venue in LIVE_VENUE_NAMES}


def sim_clock(surface: str, settings: SurfaceSettings) -> Clock:
    """The surface's replay clock: shared epoch file under ``LOG_DIR``, ``SIM_SPEED`` sim seconds per second."""
    return replay_clock(surface, settings.log_dir, settings.sim_speed)


def build_venue(
    surface: str | SurfaceSettings, settings: SurfaceSettings | None = None, clock: Clock | None = None
) -> Venue:
    """The venue a surface trades on, by ``settings.venue`` and ``settings.trading_mode``.

    ``build_venue("fx", settings)`` is the normal call; it wraps the venue in the market-data recorder per
    ``settings.market_record`` (:func:`records_market`). ``build_venue(settings)`` (no surface) is accepted for a
    live venue, whose surface follows from the venue (the subscriber client opens its broker this way); it records
    nothing.
    """
    named = isinstance(surface, str)
    if isinstance(surface, SurfaceSettings):
        settings, surface = surface, LIVE_VENUES.get(surface.venue, ("",))[0]
    if settings is None:
        raise TypeError("build_venue needs the surface's settings")
    wrap: Callable[[Venue], Venue] = _no_recorder
    if named and records_market(settings):
        from shared.recorder import RecordingVenue, market_log

        log = market_log(settings.log_dir, surface)
        depth = settings.market_record_depth

        def wrap(venue: Venue) -> Venue:
            return RecordingVenue(venue, log, depth=depth)

    return _build(surface, settings, clock, wrap)


def records_market(settings: SurfaceSettings) -> bool:
    """``MARKET_RECORD``: ``auto`` (the default) records on live venues (live and paper on live data), not on the
    sim, whose market is a pure function of ``data/``, the seed and the clock (and at the default ``SIM_SPEED``
    would write about 860 MB a wall-day); ``on`` records everywhere, ``off`` nowhere."""
    mode = getattr(settings, "market_record", "auto")
    return mode == "on" or (mode == "auto" and settings.venue != "sim")


def _no_recorder(venue: Venue) -> Venue:
    return venue


def _build(surface: str, settings: SurfaceSettings, clock: Clock | None, wrap: Callable[[Venue], Venue]) -> Venue:
    # The settings model already refuses paper where it is not built; settings made without validation
    # (model_copy, model_construct) must not reach a live adapter either, because its order methods send orders.
    refusal = paper_venue_refusal(settings.trading_mode, settings.venue)
    if refusal is not None:
        raise ConfigError(None, "VENUE", refusal)
    if settings.venue == "sim":
        return wrap(build_sim_venue(
            surface, clock or sim_clock(surface, settings), settings.log_dir, settings.sim_seed,
            settings.bankroll_cents,
        ))
    if surface not in LIVE_VENUES[settings.venue]:
        raise ConfigError(None, "VENUE", f"{settings.venue} does not serve surface {surface}")
    if settings.trading_mode != "live":
        # The recorder sits on the market data itself, so the books paper fills cross are recorded too.
        return _paper_on_live(surface, settings, clock or WallClock(), wrap)
    module = importlib.import_module(f"shared.venues.{settings.venue}.execution")
    venue = _from_settings(module, settings, clock or WallClock())
    if not isinstance(venue, Venue):
        raise TypeError(f"shared.venues.{settings.venue}.execution built {type(venue).__name__}, not a Venue")
    return wrap(venue)


def _paper_on_live(surface: str, settings: SurfaceSettings, clock: Clock, wrap: Callable[[Venue], Venue]) -> Venue:
    """Paper on a live venue's data: the adapter for reads only, on a transport that refuses any order or account
    request, inside a PaperVenue that fills locally (``logs/paper/<surface>/orders.jsonl``)."""
    from shared.venues.paper import MarketDataOnlyTransport, PaperVenue, paper_dir

    if settings.venue != "kalshi":  # paper_venue_refusal already stops the others; never build one by mistake
        raise ConfigError(None, "VENUE", f"paper on {settings.venue} data is not built")
    for name in ("kalshi_api_key_id", "kalshi_private_key_path"):
        if getattr(settings, name) is None:
            raise ConfigError(None, name.upper(), "required for paper on VENUE=kalshi (the order book is an "
                              "authenticated read; paper only reads)")
    from shared.venues.kalshi.execution import KalshiVenue

    data = wrap(KalshiVenue.from_settings(settings, clock, transport=MarketDataOnlyTransport("kalshi")))
    venue = PaperVenue(data, surface, paper_dir(settings.log_dir, surface), settings.bankroll_cents)
    if not isinstance(venue, Venue):
        raise TypeError("PaperVenue is not a Venue")
    return venue


def _from_settings(module: Any, settings: SurfaceSettings, clock: Clock) -> Any:
    """Call the adapter's ``from_settings``: a module function, or the classmethod of its ``*Venue`` class."""
    factory = getattr(module, "from_settings", None)
    if factory is None:
        classes = [v for k, v in vars(module).items() if k.endswith("Venue") and hasattr(v, "from_settings")
                   and getattr(v, "__module__", "") == module.__name__]
        if len(classes) != 1:
            raise ImportError(f"{module.__name__}: expected one *Venue class with from_settings")
        factory = classes[0].from_settings
    return factory(settings, clock)


def build_sim_quote_venue(surface: str, log_dir: Path = Path("logs"), seed: int = 7, speed: float = 600.0) -> Venue:
    """The sim venue of ``surface`` on the running fleet's clock, for quotes (the subscriber client's paper broker).

    Raises FileNotFoundError when no fleet epoch exists under ``log_dir``: with no shared replay there is nothing
    to quote, and the caller falls back to the signal's price.
    """
    clock = existing_replay_clock(surface, log_dir, speed)
    return build_sim_venue(surface, clock, log_dir, seed, SurfaceSettings.model_fields["bankroll_cents"].default)


def build_forecast(
    settings: SurfaceSettings, clock: Clock | None = None, surface: str = "kalshi_st"
) -> HighTempForecast:
    """The weather forecast: the sim's (members around the forecast issue its market prices from, never a fresher
    one) or Open-Meteo's GFS ensemble."""
    if settings.venue == "sim":
        return SimForecast(clock or sim_clock(surface, settings), settings.sim_seed)
    module = importlib.import_module("shared.datasources.openmeteo")
    return cast(HighTempForecast, _datasource(module, HighTempForecast, settings))


def build_climate_report(
    settings: SurfaceSettings, clock: Clock | None = None, surface: str = "kalshi_st"
) -> ClimateReport:
    """The settlement source for weather highs: the sim station-day's outcome (the real CLI high for New York), or
    the NWS Daily Climate Report."""
    if settings.venue == "sim":
        return SimClimateReport(clock or sim_clock(surface, settings))
    module = importlib.import_module("shared.datasources.nws")
    return cast(ClimateReport, _datasource(module, ClimateReport, settings))


def _datasource(module: Any, protocol: type, settings: SurfaceSettings) -> Any:
    """The module's ``from_settings(settings)``, else its one class implementing ``protocol`` (its
    ``from_settings`` if it has one, else built with no arguments)."""
    factory = getattr(module, "from_settings", None)
    if factory is not None:
        return factory(settings)
    classes = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__
               and v is not protocol and all(hasattr(v, name) for name in _members(protocol))]
    if len(classes) != 1:
        raise ImportError(f"{module.__name__}: expected one {protocol.__name__} class or a from_settings function")
    cls = classes[0]
    return cls.from_settings(settings) if hasattr(cls, "from_settings") else cls()


def _members(protocol: type) -> list[str]:
    return [name for name in vars(protocol) if not name.startswith("_")]
