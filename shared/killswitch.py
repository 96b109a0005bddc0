"""The kill switch: STOP files that halt new order placement, written and removed by ``tbot stop|resume``.

It fails closed: if the check itself cannot tell (an unreadable logs directory), it reports "halted".
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from shared.paths import stop_file
from shared.records import SURFACES


def is_halted(log_dir: Path, surface: str) -> bool:
    """True if ``logs/STOP`` or ``logs/STOP.<surface>`` exists, or if that cannot be determined."""
    try:
        return stop_file(log_dir).exists() or stop_file(log_dir, surface).exists()
    except OSError:
        return True


def halt(log_dir: Path, surface: str | None, reason: str = "") -> Path:
    path = stop_file(log_dir, surface)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(reason + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def resume(log_dir: Path, surface: str | None) -> bool:
    """Remove a STOP file; True if one was there."""
    try:
        stop_file(log_dir, surface).unlink()
        return True
    except FileNotFoundError:
        return False


def _surface_arg(value: str) -> str:
    if value not in SURFACES:
        raise argparse.ArgumentTypeError(f"unknown surface {value!r}; choose from {', '.join(SURFACES)}")
    return value


def build_stop_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("surface", nargs="?", type=_surface_arg, help="one surface (default: all)")
    parser.add_argument("--log-dir", type=Path, default=Path("logs"))
    parser.add_argument("--reason", default="operator stop")


def run_stop(args: argparse.Namespace) -> int:
    path = halt(args.log_dir, args.surface, args.reason)
    print(f"halted {'all surfaces' if args.surface is None else args.surface}: {path}")
    return 0


def build_resume_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("surface", nargs="?", type=_surface_arg, help="one surface (default: the global STOP)")
    parser.add_argument("--log-dir", type=Path, default=Path("logs"))


def run_resume(args: argparse.Namespace) -> int:
    removed = resume(args.log_dir, args.surface)
    target = "all surfaces" if args.surface is None else args.surface
    print(f"resumed {target}" if removed else f"{target} was not halted")
    if args.surface is not None:
        # Resuming one surface also lifts a rapid-exit quarantine (a BreakerEvent reset in its events log).
        from shared.risk.breakers import lift_quarantine

        if lift_quarantine(args.log_dir, args.surface):
            print(f"lifted the rapid-exit quarantine on {args.surface}")
    return 0
