"""Used by `make up`: wait until *tbot's own* dashboard answers /healthz, so the printed URL works when it is printed.

Another program already listening on the port would answer too (or the dashboard would fail to bind it and
crash-loop behind it): the process that holds the port must be this checkout's dashboard, else `make up` fails
naming the process in the way.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

from shared.config import parse_env_file
from shared.ports import port_holder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.fleetwait")
    parser.add_argument("--host", default=None, help="default: HOST from --env, else 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: PORT from --env, else 8080")
    parser.add_argument("--env", type=Path, default=None, help="the dashboard's env file (HOST, PORT)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the checkout whose dashboard must hold it")
    args = parser.parse_args(argv)
    values = parse_env_file(args.env) if args.env is not None and args.env.exists() else {}
    host = args.host or values.get("HOST") or "127.0.0.1"
    port = args.port or int(values.get("PORT") or 8080)
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{host}:{port}/healthz"
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return _check_holder(port, args.root)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    print(f"dashboard did not answer {url} within {args.timeout:.0f}s; see logs/pm2/st-dashboard.err.log",
          file=sys.stderr)
    return 1


def _check_holder(port: int, root: Path) -> int:
    holder = port_holder(port)
    if holder is None:
        return 0  # /proc does not say (another user's process): the answer to /healthz is all we have
    ours = Path(holder.cwd).resolve() == root.resolve() and "dashboard" in holder.command
    if ours:
        return 0
    print(f"port {port} is held by another process (pid {holder.pid}: {holder.command[:120]}, cwd {holder.cwd});"
          f" tbot's dashboard cannot bind it. Stop that process or set PORT in envs/dashboard.env and"
          f" DASHBOARD_PORT for make.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
