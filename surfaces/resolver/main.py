"""``tbot resolver --env envs/resolver.env`` (PM2 app ``st-resolver``)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from shared.bus import DiskFullError
from shared.config import ConfigError, load_or_exit, load_settings
from shared.paths import open_stream
from shared.surfaces import SURFACE_TABLE
from surfaces.resolver.config import ResolverSettings
from surfaces.resolver.service import Resolver, SurfaceBook

log = logging.getLogger(__name__)


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", type=Path, default=Path("envs/resolver.env"), help="the resolver's env file")
    parser.add_argument("--max-ticks", type=int, default=None, help="stop after N ticks")


def build_resolver(settings: ResolverSettings) -> Resolver:
    import importlib

    from shared.venues.factory import build_venue

    books = []
    for item in settings.surface_envs:
        surface, _, env_path = item.partition("=")
        if surface not in SURFACE_TABLE or not env_path:
            # Never echo the value: name the key and what it must hold.
            raise ConfigError(None, "SURFACE_ENVS", f"expected surface=path entries with a surface among "
                                                    f"{', '.join(SURFACE_TABLE)}")
        module = importlib.import_module(SURFACE_TABLE[surface].module)
        surface_settings = load_settings(module.SETTINGS, env_path)
        try:
            venue = build_venue(surface, surface_settings)
        except ConfigError as exc:  # e.g. a live venue in paper mode: name the surface's env file, not none
            raise ConfigError(exc.path or Path(env_path), exc.key, exc.message) from None
        trades = open_stream(settings.log_dir, surface, "trades")
        books.append(SurfaceBook(surface=surface, venue=venue, trades=trades, reader=trades.reader()))
    climate = None
    if settings.weather_settlement == "nws":
        from shared.datasources.nws import NwsClient

        climate = NwsClient(user_agent=settings.nws_user_agent)
    return Resolver(books, climate=climate)


def run(args: argparse.Namespace) -> int:
    settings = load_or_exit(ResolverSettings, args.env)
    logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        resolver = build_resolver(settings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    stopping = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    ticks = 0
    while not stopping.is_set():
        started = time.monotonic()
        try:
            resolved = resolver.tick()
        except DiskFullError as exc:
            # The resolution was not recorded (the bus leaves nothing of it); the position stays open in the fold
            # and is resolved again next tick (closes at the venue are idempotent). One line, no traceback.
            log.error("resolver: DISK FULL (%s): resolutions wait for room on disk", exc)
            resolved = []
        for trade in resolved:
            log.info("resolved %s %s %s pnl=%s source=%s", trade.surface, trade.instrument, trade.side,
                     trade.pnl, trade.resolution_source)
        ticks += 1
        if args.max_ticks is not None and ticks >= args.max_ticks:
            break
        stopping.wait(max(0.0, settings.tick_seconds - (time.monotonic() - started)))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m surfaces.resolver")
    build_parser(parser)
    raise SystemExit(run(parser.parse_args()))
