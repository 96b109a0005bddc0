"""``tbot dashboard --env envs/dashboard.env``: serve the dashboard on uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from dashboard.config import DashboardSettings, load_dashboard_settings
from shared.config import EXIT_CONFIG, ConfigError

if TYPE_CHECKING:
    import uvicorn

    from dashboard.state import DashboardState


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", type=Path, default=Path("envs/dashboard.env"), help="the dashboard's env file")
    parser.add_argument("--host", help="override HOST")
    parser.add_argument("--port", type=int, help="override PORT")


def _load_or_exit(path: Path) -> DashboardSettings:
    try:
        return load_dashboard_settings(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def ensure_operator_token(env_path: Path) -> bool:
    """Paper mode without a token: generate one into the env file (0600) so the UI is never open by default.

    Returns True if a token was written. Live mode never gets here: its settings refuse to load without one.
    """
    token = secrets.token_urlsafe(32)
    text = env_path.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.strip().upper().startswith("DASHBOARD_API_TOKEN=")]
    lines.append(f"DASHBOARD_API_TOKEN={token}")
    tmp = env_path.with_name(env_path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, env_path)
    return True


def run(args: argparse.Namespace) -> int:
    settings = _load_or_exit(args.env)
    if settings.dashboard_api_token is None or not settings.dashboard_api_token.get_secret_value():
        ensure_operator_token(args.env)
        print(f"generated an operator token into {args.env} (DASHBOARD_API_TOKEN)", file=sys.stderr)
        settings = _load_or_exit(args.env)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from dashboard.app import asgi_app

    app = asgi_app(settings)
    print(f"dashboard: http://{settings.host}:{settings.port}/  (operator token in {args.env})", file=sys.stderr)
    # uvicorn re-raises the stop signal once it has shut down; exiting 0 then tells PM2 this was a clean stop.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_cleanly)
    _graceful_server_class()(server_config(app, settings), app.state).run()
    return 0


def server_config(app: Any, settings: DashboardSettings) -> uvicorn.Config:
    """How uvicorn serves the dashboard (also what the tests serve it with)."""
    import uvicorn

    proxies = list(settings.trusted_proxies)
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: any local client (or anything a local
    # reverse proxy passes through) could name its own address and walk past every per-address limit. Proxy
    # headers count only from the proxies the operator lists.
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        # A backstop only: held long-polls are answered the moment the stop signal arrives and later polls are not
        # held, so nothing of the feed's waits for it.
        timeout_graceful_shutdown=5,
        backlog=4096,
        limit_concurrency=20_000,
    )


def _exit_cleanly(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _graceful_server_class() -> type:
    import uvicorn

    class Graceful(uvicorn.Server):
        """Answers every held long-poll the moment a stop signal arrives, so shutdown never waits on them."""

        def __init__(self, config: uvicorn.Config, state: DashboardState) -> None:
            super().__init__(config)
            self.dashboard_state = state

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            hub = self.dashboard_state.hub
            # From this instruction on, no poll is held: one arriving on a keep-alive connection before uvicorn
            # drops it is answered at once (with Connection: close) instead of waiting for the graceful timeout.
            hub.closing = True
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is None:
                super().handle_exit(sig, frame)
                return

            def answer_then_stop() -> None:
                # Held polls answer first, so their clients may re-poll on the same connection and be answered at
                # once; then uvicorn stops listening and closes idle connections.
                hub.close()
                uvicorn.Server.handle_exit(self, sig, frame)

            loop.call_soon_threadsafe(answer_then_stop)

    return Graceful
