"""``python -m dashboard --env envs/dashboard.env`` (how PM2 starts st-dashboard); same as ``tbot dashboard``."""

from __future__ import annotations

import argparse

from dashboard.main import build_parser, run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="run the tbot dashboard")
    build_parser(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
