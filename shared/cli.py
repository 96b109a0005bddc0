"""``tbot``: the operator's command. Each subcommand lives in its own module, imported only when used.

A subcommand module exposes ``build_parser(parser)`` and ``run(args) -> int`` (names configurable below).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    module: str
    summary: str
    build: str = "build_parser"
    run: str = "run"


COMMANDS: dict[str, Command] = {
    "surface": Command("surfaces.runner", "run one surface loop: tbot surface NAME --env envs/X.env"),
    "resolver": Command("surfaces.resolver.main", "run the resolver loop (closes and settles positions)"),
    "dashboard": Command("dashboard.main", "run the dashboard (operator UI, API, subscriber feed)"),
    "subscribers": Command("dashboard.subscribers_cli", "manage subscriber tokens: add | list | revoke"),
    "feed-edge": Command("dashboard.edge.main", "serve the subscriber feed from NATS JetStream (scaled layout)"),
    "stop": Command("shared.killswitch", "halt order placement (all surfaces or one)", "build_stop_parser",
                    "run_stop"),
    "resume": Command("shared.killswitch", "lift a STOP (all surfaces or one)", "build_resume_parser",
                      "run_resume"),
    "audit": Command("shared.audit.cli", "audit reports: pnl | calibration | eta | gates | subscribers"),
    "report": Command("shared.audit.html", "write a self-contained HTML report"),
    "backtest": Command("surfaces.backtest.cli", "run one surface's own loop over a window of replayed data"),
    "bench": Command("shared.benchcli", "run a benchmark from bench/ (tbot bench --list)"),
}


def _load(command: Command) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]:
    module = importlib.import_module(command.module)
    return getattr(module, command.build), getattr(module, command.run)


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tbot", description="tbot operator command")
    lines = [f"  {name:<12} {cmd.summary}" for name, cmd in COMMANDS.items()]
    parser.epilog = "commands:\n" + "\n".join(lines) + "\n\nrun 'tbot COMMAND --help' for a command's options"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("command", nargs="?", choices=sorted(COMMANDS), metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        if args and args[0] not in ("-h", "--help"):
            top.print_usage(sys.stderr)
            print(f"tbot: unknown command {args[0]!r}", file=sys.stderr)
            return 2
        top.print_help()
        return 0
    command = COMMANDS[args[0]]
    build, run = _load(command)
    parser = argparse.ArgumentParser(prog=f"tbot {args[0]}", description=command.summary)
    build(parser)
    return run(parser.parse_args(args[1:]))


if __name__ == "__main__":
    raise SystemExit(main())
