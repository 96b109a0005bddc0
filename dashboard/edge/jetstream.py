"""What the relay and the edges agree on: stream names, subjects, headers, and how to connect.

Four streams, all replicated (``STREAM_REPLICAS``, R3 on a three-node cluster):

- ``TBOT_SIGNALS`` (``tbot.signals.<surface>``): each line of ``logs/<surface>/signals.jsonl`` verbatim, with the
  byte offsets that bracket it in the log (headers ``Tbot-Offset``, ``Tbot-Next-Offset``). Edges index them with the
  dashboard's own :class:`~dashboard.feed.SignalIndex`, so a cursor means the same byte offsets on the dashboard and
  on every edge. ``Nats-Msg-Id`` is the signal id: a relay that resends after a crash is deduplicated.
- ``TBOT_HISTORY`` (``tbot.history.<surface>``): each trade the operator's trade fold (the dashboard's
  :class:`~dashboard.operator_state.SurfaceView`) saw resolve, cut to the fields ``GET /api/signals/history``
  serves, with the byte offsets of its resolved line in ``trades.jsonl``: the history cursor is the dashboard's too.
  Kept as long as the signals.
- ``TBOT_SUBSCRIBERS`` (``tbot.subscribers``): each line of ``logs/feed/subscribers.jsonl`` (token hashes only,
  never a token), kept forever (one line per add or revoke).
- ``TBOT_CALLBACKS`` (``tbot.callbacks.<subscriber>.<signal>.<kind>``): one subject per idempotency key, one message
  per subject (``max_msgs_per_subject=1``), so the stream itself answers "recorded before?"; ``Nats-Msg-Id`` (the
  same key) settles two edges racing on one key. Commission reports too (``tbot.commission.<subscriber>.<digest
  of the report id>``), appended to ``logs/feed/commission.jsonl``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from dashboard.edge.config import NatsSettings

log = logging.getLogger(__name__)

SIGNALS_STREAM = "TBOT_SIGNALS"
SUBSCRIBERS_STREAM = "TBOT_SUBSCRIBERS"
HISTORY_STREAM = "TBOT_HISTORY"
CALLBACKS_STREAM = "TBOT_CALLBACKS"
SUBSCRIBERS_SUBJECT = "tbot.subscribers"
OFFSET = "Tbot-Offset"
NEXT_OFFSET = "Tbot-Next-Offset"
MSG_ID = "Nats-Msg-Id"
DUPLICATE_WINDOW_SECONDS = 600.0
DAY = 86_400.0


def signal_subject(surface: str) -> str:
    return f"tbot.signals.{surface}"


def history_subject(surface: str) -> str:
    return f"tbot.history.{surface}"


def commission_subject(subscriber_id: str, report_id: str) -> str:
    """A report id may hold dots and colons (subject separators): its digest names the subject instead."""
    return f"tbot.commission.{subscriber_id}.{hashlib.sha256(report_id.encode()).hexdigest()[:40]}"


def callback_subject(subscriber_id: str, signal_id: str, kind: str) -> str:
    """Only ever called with a known signal id and subscriber id (ULID-based: no dots, spaces or wildcards)."""
    return f"tbot.callbacks.{subscriber_id}.{signal_id}.{kind}"


async def connect(settings: NatsSettings, name: str) -> Client:
    """A connection that reconnects forever (a node restarting must not end an edge or the relay)."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats: %s", exc)

    async def on_disconnected() -> None:
        log.warning("nats: disconnected; reconnecting")

    async def on_reconnected() -> None:
        log.info("nats: reconnected")

    options: dict[str, Any] = {
        "servers": list(settings.nats_urls),
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 2,
        "allow_reconnect": True,
        "error_cb": on_error,
        "disconnected_cb": on_disconnected,
        "reconnected_cb": on_reconnected,
    }
    if settings.nats_token is not None:
        options["token"] = settings.nats_token.get_secret_value()
    delay = 0.5
    while True:
        try:
            return await nats.connect(**options)
        except nats.errors.AuthorizationError:
            raise  # a wrong NATS_TOKEN does not get better by waiting
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            # No node reachable yet (PM2 starts everything at once, or the cluster is down): wait, not crash-loop.
            log.warning("nats: no server reachable (%s); retrying in %.1f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)


def stream_configs(replicas: int, signals_max_age_days: float, callbacks_max_age_days: float) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=SIGNALS_STREAM, subjects=["tbot.signals.*"], num_replicas=replicas, storage=StorageType.FILE,
            max_age=signals_max_age_days * DAY, duplicate_window=DUPLICATE_WINDOW_SECONDS,
        ),
        StreamConfig(
            name=HISTORY_STREAM, subjects=["tbot.history.*"], num_replicas=replicas, storage=StorageType.FILE,
            max_age=signals_max_age_days * DAY, duplicate_window=DUPLICATE_WINDOW_SECONDS,
        ),
        StreamConfig(
            name=SUBSCRIBERS_STREAM, subjects=[SUBSCRIBERS_SUBJECT], num_replicas=replicas, storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        ),
        StreamConfig(
            name=CALLBACKS_STREAM, subjects=["tbot.callbacks.>", "tbot.commission.>"], num_replicas=replicas,
            storage=StorageType.FILE,
            max_age=callbacks_max_age_days * DAY, duplicate_window=DUPLICATE_WINDOW_SECONDS, max_msgs_per_subject=1,
        ),
    ]


async def ensure_streams(js: JetStreamContext, configs: list[StreamConfig]) -> None:
    """Create the streams, or bring an existing one's limits to these settings (replicas cannot change here)."""
    for config in configs:
        try:
            await js.stream_info(config.name or "")
        except nats.js.errors.NotFoundError:
            await js.add_stream(config)
            log.info("created stream %s (R%s)", config.name, config.num_replicas)
        else:
            await js.update_stream(config)


def header_int(headers: dict[str, str] | None, name: str) -> int | None:
    if not headers or name not in headers:
        return None
    try:
        value = int(headers[name])
    except ValueError:
        return None
    return value if value >= 0 else None
