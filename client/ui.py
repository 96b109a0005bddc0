"""``tbot-client ui``: a local web page of the subscriber's own account, on loopback only, behind a token.

- Binds 127.0.0.1 and answers only requests whose ``Host`` is that address (or ``localhost``) and port, so a web
  page elsewhere cannot reach it through DNS rebinding.
- A fresh random token per start, written 0600 to ``ui_token`` in the state folder and printed once as
  ``http://127.0.0.1:PORT/#token=...``: the token rides in the URL *fragment*, which browsers never send, and the
  page sends it back only in an ``Authorization: Bearer`` header. The page itself holds no data.
- ``GET /api/state``: ledger, positions, equity over time, signals not traded and why, commission due and the
  high-water mark, trading state and settings, the service's health, and the tracking report (the operator's
  result on the same signals beside the subscriber's). The operator's history is fetched on a background thread
  at most once a minute, so the page never waits on the network.
- ``POST /api/control`` ``{"action": "pause" | "resume" | "flatten"}``: recorded in ``control.jsonl``; a running
  ``run`` acts on it at its next turn.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, cast

from client.config import ClientConfig
from client.control import ControlLog
from client.feed import FeedApi, FeedError
from client.money import load_ledger
from client.sizing import SKIP_REASONS
from client.store import StatePaths
from client.tracking import tracking_report
from shared.config import ConfigError
from shared.timeutil import from_iso, to_iso, utcnow

HistorySource = Callable[[], list[dict[str, Any]]]


def page_html() -> str:
    return resources.files("client").joinpath("static/ui.html").read_text(encoding="utf-8")


class HistoryCache:
    """The operator's resolved history, refreshed in the background at most every ``every`` seconds."""

    def __init__(self, fetch: HistorySource | None, every: float = 60.0) -> None:
        self._fetch = fetch
        self._every = every
        self._lock = threading.Lock()
        self.items: list[dict[str, Any]] = []
        self.error: str | None = None if fetch is not None else "no feed token configured"
        self.fetched_at: float | None = None
        self._busy = False
        self.get()  # the first fetch starts now, in the background, so it is usually there by the first page

    def get(self) -> tuple[list[dict[str, Any]], str | None]:
        with self._lock:
            stale = self.fetched_at is None or time.monotonic() - self.fetched_at >= self._every
            if self._fetch is not None and stale and not self._busy:
                self._busy = True
                threading.Thread(target=self._refresh, daemon=True).start()
            return self.items, self.error

    def _refresh(self) -> None:
        assert self._fetch is not None
        try:
            items, error = self._fetch(), None
        except FeedError as exc:
            items, error = self.items, f"operator history unavailable ({exc})"
        with self._lock:
            self.items, self.error, self.fetched_at, self._busy = items, error, time.monotonic(), False


def equity_curve(paths: StatePaths) -> list[tuple[str, int]]:
    """Equity after each deposit, withdrawal, commission and resolution, in time order (open positions at cost)."""
    events: list[tuple[str, int]] = []
    for entry in paths.log("money").read_all():
        data = entry.data
        sign = 1 if data.get("type") == "deposit" else -1
        events.append((str(data.get("at")), sign * int(data.get("amount_cents", 0))))
    for entry in paths.log("orders").read_all():
        data = entry.data
        if data.get("status") == "resolved" and data.get("pnl") is not None:
            events.append((str(data.get("resolved_at") or data.get("ts")), int(data["pnl"])))
    curve: list[tuple[str, int]] = []
    equity = 0
    for at, delta in sorted(events):
        equity += delta
        curve.append((at, equity))
    return curve


def state_json(config: ClientConfig, history: HistoryCache, unit_path: Path | None = None) -> dict[str, Any]:
    """Everything the page shows, from the client's own records (and the cached operator history)."""
    from client.cli import skip_counts
    from client.service import downtimes, read_heartbeat

    paths = StatePaths(config.state_dir)
    ledger = load_ledger(paths, config)
    control = ControlLog(paths.root).state
    beat = read_heartbeat(paths)
    last = beat.get("last_poll_ok") if beat else None
    items, history_error = history.get()
    report = tracking_report(items, paths)
    mode = "paper" if config.broker.kind == "paper" else "live"
    return {
        "generated_at": to_iso(utcnow()),
        "account": {"mode": mode, "broker": config.broker.kind,
                    "label": "paper (no real money)" if mode == "paper" else f"live ({config.broker.kind})"},
        "ledger": ledger.snapshot(),
        "positions": [
            {"signal_id": p.signal_id, "surface": p.surface, "instrument": p.instrument, "side": p.side,
             "quantity": p.quantity, "fill_price": format(p.fill_price, "f"), "cost_cents": p.cost_cents,
             "opened_at": to_iso(p.opened_at) if p.opened_at else None}
            for p in sorted(ledger.positions.values(), key=lambda p: p.signal_id)
        ],
        "equity_curve": equity_curve(paths),
        "skipped": skip_counts(paths),
        "skip_reasons": SKIP_REASONS,
        "control": {"paused": control.paused, "pause_reason": control.pause_reason,
                    "equity_stops": control.equity_stops, "flatten_pending": len(control.flatten_pending)},
        "settings": {"surfaces": list(config.feed.surfaces), "sizing": config.sizing.model_dump(mode="json"),
                     "control": config.control.model_dump(mode="json"), "notify_events": list(config.notify.events)},
        "service": {
            "last_poll_ok": last,
            "seconds_since_last_poll": None if not isinstance(last, str)
            else round((utcnow() - from_iso(last)).total_seconds(), 1),
            "unit_installed": None if unit_path is None else unit_path.exists(),
            "downtime": [{"from": to_iso(a), "to": to_iso(b)} for a, b in downtimes(paths)[-5:]],
        },
        "tracking": report.as_json() | {"error": history_error},
    }


def _allowed_host(host: str | None, port: int) -> bool:
    return host in (f"127.0.0.1:{port}", f"localhost:{port}")


def make_server(config: ClientConfig, token: str, history: HistoryCache, *, port: int = 0,
                unit_path: Path | None = None) -> ThreadingHTTPServer:
    """The UI server on 127.0.0.1 (never another address)."""
    html = page_html().encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "tbot-client-ui"

        def log_message(self, format: str, *args: Any) -> None:
            return  # no access log: nothing here should be written anywhere

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                                        "script-src 'self' 'unsafe-inline'; img-src 'self' data:")
            self.end_headers()
            self.wfile.write(body)

        def _guard(self) -> bool:
            address = cast(tuple[str, int], self.server.server_address)
            if not _allowed_host(self.headers.get("Host"), int(address[1])):
                self._send(421, b'{"error": "wrong host"}')
                return False
            return True

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                self._send(401, b'{"error": "token required"}')
                return False
            return True

        def do_GET(self) -> None:
            if not self._guard():
                return
            if self.path in ("/", "/index.html"):
                self._send(200, html, "text/html; charset=utf-8")
            elif self.path == "/api/state":
                if self._authorized():
                    self._send(200, json.dumps(state_json(config, history, unit_path), default=str).encode())
            else:
                self._send(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            if not self._guard() or not self._authorized():
                return
            if self.path != "/api/control":
                self._send(404, b'{"error": "not found"}')
                return
            try:
                body = json.loads(self.rfile.read(min(int(self.headers.get("Content-Length", 0)), 4096)))
                action = body.get("action") if isinstance(body, dict) else None
            except ValueError:
                action = None
            control = ControlLog(config.state_dir)
            now = utcnow()
            if action == "pause":
                control.pause(now, "paused from the local UI")
            elif action == "resume":
                control.resume(now)
            elif action == "flatten":
                control.pause(now, "flatten")
                control.request_flatten(now, "local UI")
            else:
                self._send(422, b'{"error": "action must be pause, resume or flatten"}')
                return
            self._send(200, json.dumps({"ok": True, "action": action}).encode())

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def new_token(paths: StatePaths) -> str:
    """A fresh token for this start, kept 0600 in the state folder (for scripts); never logged."""
    token = secrets.token_urlsafe(24)
    path = paths.root / "ui_token"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def history_source(config: ClientConfig, days: int = 30) -> HistorySource | None:
    try:
        token = config.feed_token()
    except ConfigError:
        return None

    def fetch() -> list[dict[str, Any]]:
        api = FeedApi(config.feed.url, token, timeout=30.0)
        try:
            return api.history_all((utcnow() - timedelta(days=days)).date())
        finally:
            api.close()

    return fetch
