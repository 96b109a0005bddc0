"""``tbot feed-edge --env envs/edge.env``: serve the subscriber feed from JetStream until SIGINT/SIGTERM.

Stateless: start as many as you like, on any box that reaches the NATS cluster, behind any load balancer. The edge
listens only once it has caught up with the streams; on a stop signal, held polls are answered at once (empty, at
their cursor, which stays valid on every other edge) exactly as the dashboard does.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from dashboard.edge.config import EdgeSettings
from dashboard.edge.state import EdgeConfigError, EdgeState
from dashboard.main import _exit_cleanly, _graceful_server_class, server_config
from shared.config import EXIT_CONFIG, load_or_exit


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", type=Path, default=Path("envs/edge.env"), help="the edge's env file")
    parser.add_argument("--host", help="override HOST")
    parser.add_argument("--port", type=int, help="override PORT (a second edge on the same box)")


def run(args: argparse.Namespace) -> int:
    settings = load_or_exit(EdgeSettings, args.env)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        state = EdgeState(settings)
    except EdgeConfigError as exc:
        print(f"config error: {args.env}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from dashboard.edge.app import EdgeApp

    app = EdgeApp(state)
    # Hosts only: a URL may carry user:password@ (NATS_TOKEN is the documented way, but a log must not leak either).
    nodes = ",".join(urlsplit(url).netloc.rpartition("@")[2] for url in settings.nats_urls)
    print(f"feed edge: http://{settings.host}:{settings.port}/api/signals/feed  (NATS at {nodes})", file=sys.stderr)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_cleanly)
    # The dashboard's uvicorn settings (proxy headers only from TRUSTED_PROXIES) and its graceful stop.
    server = _graceful_server_class()(server_config(app, settings), state)  # type: ignore[arg-type]
    server.run()
    return 0
