"""``tbot bench NAME``: run a benchmark script from the checkout's bench/ folder."""

from __future__ import annotations

import argparse
import runpy
import sys

from shared.config import repo_root


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="benchmark name (a file bench/<name>.py)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the benchmark")


def run(args: argparse.Namespace) -> int:
    bench_dir = repo_root() / "bench"
    available = sorted(p.stem for p in bench_dir.glob("*.py") if not p.stem.startswith("_"))
    if args.list or not args.name:
        print("benchmarks: " + ", ".join(available))
        return 0
    if args.name not in available:
        print(f"tbot bench: no benchmark {args.name!r}; have: {', '.join(available)}", file=sys.stderr)
        return 2
    sys.argv = [str(bench_dir / f"{args.name}.py"), *args.rest]
    sys.path.insert(0, str(repo_root()))
    runpy.run_path(str(bench_dir / f"{args.name}.py"), run_name="__main__")
    return 0
