"""``tbot surface NAME --env envs/X.env``: build one surface's loop from its env file and run it."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from shared.config import EXIT_CONFIG, ConfigError, load_or_exit
from shared.surfaces import SURFACE_TABLE

# (module, default env file, PM2 process name) per surface, read from the one table in shared/surfaces.py.
SURFACE_PACKAGES = {spec.name: (spec.module, spec.default_env, spec.process) for spec in SURFACE_TABLE.values()}


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=sorted(SURFACE_PACKAGES), help="the surface to run")
    add_loop_arguments(parser)


def add_loop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", type=Path, help="env file (default: the surface's envs/*.env)")
    parser.add_argument("--max-ticks", type=int, default=None, help="stop after N ticks (tests, smoke runs)")
    parser.add_argument("--allow-uncalibrated", action="store_true",
                        help="start in live mode even if the surface's calibration audit fails")


def run(args: argparse.Namespace) -> int:
    return run_surface(args.name, args)


def run_surface(name: str, args: argparse.Namespace) -> int:
    module_name, default_env, process_name = SURFACE_PACKAGES[name]
    module = importlib.import_module(module_name)
    env_path = args.env or Path(default_env)
    settings = load_or_exit(module.SETTINGS, env_path)
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        loop = module.build(settings, process_name=process_name, allow_uncalibrated=args.allow_uncalibrated)
    except ConfigError as exc:
        # Checks made while building (the venue factory refusing a live venue in paper mode) are config errors
        # too: one line naming the file and key, exit 2, never a traceback.
        print(ConfigError(exc.path or env_path, exc.key, exc.message), file=sys.stderr)
        return EXIT_CONFIG
    loop.install_signal_handlers()
    code: int = loop.run(max_ticks=args.max_ticks)
    return code


def main_for(name: str) -> None:
    """Entry point for ``python -m surfaces.NAME``."""
    parser = argparse.ArgumentParser(prog=f"python -m surfaces.{name}")
    add_loop_arguments(parser)
    raise SystemExit(run_surface(name, parser.parse_args()))
