"""Used by `make up`: wait until the dashboard answers /healthz, so the printed URL works when it is printed."""

from __future__ import annotations

import argparse
import sys
import time

import httpx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.fleetwait")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    url = f"http://{args.host}:{args.port}/healthz"
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return 0
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    print(f"dashboard did not answer {url} within {args.timeout:.0f}s; see logs/pm2/st-dashboard.err.log",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
