"""``st-feed-relay``: the operator box's one process that talks to the JetStream cluster (off by default).

Out: every line of each surface's ``signals.jsonl`` and of ``logs/feed/subscribers.jsonl``, verbatim, in log
order, and each trade resolution (the fields the history answer shows), into the streams of
:mod:`dashboard.edge.jetstream`. The bus stays the source of truth and the relay keeps
no state of its own: on start it asks each subject's last message where it stopped (``Tbot-Next-Offset``) and
follows the log from there, so a relay killed at any moment resumes without a gap; a line it resends because its
last publish was cut before the acknowledgement is dropped by the stream (``Nats-Msg-Id``). A publish that fails
(no quorum while a node restarts) is retried, same message, before the next: order per surface holds.

In: subscribers' callbacks and commission reports from the edges (``TBOT_CALLBACKS``), each kind through its
durable pull consumer, appended to ``logs/feed/callbacks.jsonl`` / ``commission.jsonl`` in batches (one locked
write each) and acknowledged only after the write. A batch redelivered after a crash between the write and the
acknowledgement finds its keys already in the log (folded at start and kept as it appends) and is not written
twice.

    python -m dashboard.edge.relay --env envs/relay.env
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, ValidationError

from dashboard.callbacks import CommissionRecord
from dashboard.edge import jetstream as jsx
from dashboard.edge.config import RelaySettings
from dashboard.operator_state import SurfaceView, surface_mode, surface_settings
from dashboard.tail import Tailer
from shared.bus import Entry
from shared.config import load_or_exit
from shared.paths import feed_path, open_feed, stream_path
from shared.records import SURFACES, Callback, parse_record
from shared.risk.overrides import OverrideSet

log = logging.getLogger(__name__)

APPENDER = "tbot-callbacks-appender"
# A batch fetched by a relay that died before acknowledging it is redelivered to the next one after this long;
# appending a batch takes milliseconds, so a short wait costs nothing but a duplicate the log's keys drop.
ACK_WAIT_SECONDS = 5.0
# What GET /api/signals/history shows of a resolved trade (and what result_kind needs): nothing else leaves the box.
HISTORY_FIELDS = ("id", "signal_id", "pnl", "fill_price", "exit_price", "resolved_at", "resolution_source", "venue",
                  "mode", "ts")


@dataclass(frozen=True, slots=True)
class Outgoing:
    ts: str
    subject: str
    msg_id: str
    path: Path
    offset: int
    next_offset: int
    payload: bytes | None = None  # None: the line itself, read from ``path``


class Relay:
    """Mirrors the bus into JetStream and appends callbacks coming back."""

    def __init__(self, settings: RelaySettings) -> None:
        self.settings = settings
        self.log_dir = Path(settings.log_dir)
        self.tailer = Tailer()
        self._pending: list[Outgoing] = []
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.published = 0
        self.appended = 0
        self.inbound = [CallbackInbound(self.log_dir), CommissionInbound(self.log_dir)]

    # ------------------------------------------------------------------------------------------------ out
    async def _resume_offset(self, stream: str, subject: str) -> int:
        """Where the last relayed line of ``subject`` ended in its log (0 if none was relayed)."""
        assert self.js is not None
        try:
            last = await self.js.get_last_msg(stream, subject)
        except nats.js.errors.NotFoundError:
            return 0
        offset = jsx.header_int(last.headers, jsx.NEXT_OFFSET)
        return offset or 0

    @staticmethod
    def _refuse_replaced(path: Path, offset: int) -> None:
        size = path.stat().st_size if path.exists() else 0
        if offset > size:
            # The stream holds lines past the end of this log: the log was replaced (logs/ wiped). Relaying the new
            # log's lines under old offsets would break every cursor; an operator must decide (purge the streams).
            raise RelayError(
                f"{path} is {size} bytes but the stream relayed it up to byte {offset}: the log was replaced. "
                "Purge the JetStream streams (TBOT_SIGNALS, TBOT_HISTORY, TBOT_SUBSCRIBERS) before relaying a new log."
            )

    def _follow(self, path: Path, subject: str, offset: int, kind: str) -> None:
        self._refuse_replaced(path, offset)

        def queue(entries: list[Entry]) -> None:
            for entry in entries:
                ident = entry.data.get("id") if kind == "signal" else None
                msg_id = str(ident) if isinstance(ident, str) and ident else f"{subject}:{entry.offset}"
                self._pending.append(Outgoing(entry.ts, subject, msg_id, path, entry.offset, entry.next_offset))

        self.tailer.follow(path, queue, offset)
        log.info("relaying %s from byte %d", path, offset)

    def _follow_history(self, surface: str, resume: int) -> None:
        """Fold the surface's trades with the dashboard's own fold; relay each resolution from ``resume`` on.

        The whole log is folded (a resolution is only known as one against the trade's earlier states), but only
        the fields the history answer shows leave the box: not sizes, costs, order ids or open positions.
        """
        env_dir = Path(self.settings.env_dir)
        view = SurfaceView(surface, OverrideSet(surface_settings(env_dir, surface)),
                           mode=surface_mode(env_dir, surface, self.settings.trading_mode))
        path = stream_path(self.log_dir, surface, "trades")
        self._refuse_replaced(path, resume)
        subject = jsx.history_subject(surface)

        def on_trades(entries: list[Entry]) -> None:
            seen = len(view.resolved_log)
            view.apply_trades(entries)
            for offset, next_offset, _moment, trade_id in view.resolved_log[seen:]:
                if offset < resume:
                    continue  # relayed before this start
                trade = view.trades[trade_id]
                item = {name: trade.get(name) for name in HISTORY_FIELDS}
                payload = json.dumps(item, separators=(",", ":")).encode()
                self._pending.append(Outgoing(str(trade["ts"]), subject, f"{subject}:{offset}", path, offset,
                                              next_offset, payload))

        self.tailer.follow(path, on_trades, 0)
        log.info("relaying resolutions of %s from byte %d", path, resume)

    async def _publish_pending(self) -> None:
        assert self.js is not None
        if not self._pending:
            return
        # Publication order across surfaces (the bus stamps), as the dashboard indexes them; per log, file order.
        batch = sorted(self._pending, key=lambda item: (item.ts, item.subject, item.offset))
        self._pending.clear()
        handles: dict[Path, int] = {}
        try:
            for item in batch:
                line = item.payload
                if line is None:
                    fd = handles.get(item.path)
                    if fd is None:
                        fd = handles[item.path] = os.open(item.path, os.O_RDONLY)
                    line = os.pread(fd, item.next_offset - item.offset, item.offset).rstrip(b"\n")
                headers = {jsx.MSG_ID: item.msg_id, jsx.OFFSET: str(item.offset),
                           jsx.NEXT_OFFSET: str(item.next_offset)}
                await self._publish_until_acked(item.subject, line, headers)
        finally:
            for fd in handles.values():
                os.close(fd)

    async def _publish_until_acked(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        assert self.js is not None
        delay = 0.2
        while True:
            try:
                await self.js.publish(subject, payload, headers=dict(headers), timeout=5)
                self.published += 1
                return
            except (TimeoutError, nats.errors.Error) as exc:
                # No quorum (a node restarting) or no connection: the same message again, so order holds.
                log.warning("publish to %s failed (%s); retrying in %.1f s", subject, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def _pump(self) -> None:
        while not self._stop.is_set():
            await self._wake.wait()
            self._wake.clear()
            await self._publish_pending()

    async def _report(self, every: float = 60.0) -> None:
        """One line a minute: what a paged engineer greps for first (is it moving? is anything stuck?)."""
        while not self._stop.is_set():
            await asyncio.sleep(every)
            log.info("relay: %d lines relayed and %d records appended since start; %d lines waiting to publish",
                     self.published, self.appended, len(self._pending))

    def _on_change(self) -> None:
        if self._pending:
            self._wake.set()

    # ------------------------------------------------------------------------------------------------ in
    async def _append(self, inbound: Inbound) -> None:
        """Append what the edges published on ``inbound.subject`` to its feed log, a batch per write; acknowledge a
        batch only once it is written. Keys already in the log are not written again (a redelivery after a crash)."""
        assert self.js is not None
        config = ConsumerConfig(
            durable_name=inbound.durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=-1, ack_wait=ACK_WAIT_SECONDS,
        )
        sub = await self.js.pull_subscribe(inbound.subject, durable=inbound.durable, stream=jsx.CALLBACKS_STREAM,
                                           config=config)
        target = open_feed(self.log_dir, inbound.log_name)
        try:
            while not self._stop.is_set():
                try:
                    msgs = await sub.fetch(self.settings.callback_batch, timeout=1)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                except nats.errors.Error as exc:
                    log.warning("%s fetch failed (%s); retrying", inbound.log_name, type(exc).__name__)
                    await asyncio.sleep(0.5)
                    continue
                records = inbound.new_records(msgs)
                if records:
                    target.append_many(records)  # one locked write, before any acknowledgement
                    self.appended += len(records)
                if msgs:
                    await self._ack(msgs)
        finally:
            target.close()

    async def _ack(self, msgs: list[Msg]) -> None:
        """Acknowledge each message of a written batch. Explicitly, one by one: an "ack all up to here" would also
        acknowledge older messages a killed relay had fetched but never written, which are due for redelivery."""
        assert self.nc is not None
        try:
            for msg in msgs:
                await msg.ack()
            await self.nc.flush(timeout=5)
        except (TimeoutError, nats.errors.Error) as exc:
            # Unacknowledged messages come back after ACK_WAIT_SECONDS and are dropped as already in the log.
            log.warning("acknowledging %d messages failed (%s); they will be redelivered", len(msgs),
                        type(exc).__name__)

    # ------------------------------------------------------------------------------------------------ run
    async def run(self) -> None:
        self.nc = await jsx.connect(self.settings, "tbot-feed-relay")
        self.js = self.nc.jetstream(timeout=10)
        offsets = await self._prepare()
        for surface in SURFACES:
            subject = jsx.signal_subject(surface)
            self._follow(stream_path(self.log_dir, surface, "signals"), subject, offsets[subject], "signal")
            self._follow_history(surface, offsets[jsx.history_subject(surface)])
        self._follow(feed_path(self.log_dir, "subscribers"), jsx.SUBSCRIBERS_SUBJECT,
                     offsets[jsx.SUBSCRIBERS_SUBJECT], "subscriber")
        self.tailer.listeners.append(self._on_change)
        self.tailer.start(asyncio.get_running_loop(), fallback_seconds=1.0)
        self._wake.set()
        tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._report()),
                 *(asyncio.create_task(self._append(i)) for i in self.inbound)]
        log.info("relay running: %d lines queued, %s", len(self._pending),
                 ", ".join(f"{len(i.seen)} {i.log_name} already in the log" for i in self.inbound))
        try:
            await self._stop.wait()
        finally:
            self.tailer.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.nc.close()  # every publish was acknowledged; nothing is left to drain

    async def _prepare(self) -> dict[str, int]:
        """Create or update the streams and read where each subject stopped; retried until the cluster answers.

        PM2 starts the NATS nodes and the relay together: until the nodes have met and elected a JetStream leader,
        every request times out. That is a wait, not a failure.
        """
        assert self.js is not None
        s = self.settings
        configs = jsx.stream_configs(s.stream_replicas, s.signals_max_age_days, s.callbacks_max_age_days)
        delay = 0.2
        while True:
            try:
                await jsx.ensure_streams(self.js, configs)
                offsets = {}
                for surface in SURFACES:
                    subject = jsx.signal_subject(surface)
                    offsets[subject] = await self._resume_offset(jsx.SIGNALS_STREAM, subject)
                    subject = jsx.history_subject(surface)
                    offsets[subject] = await self._resume_offset(jsx.HISTORY_STREAM, subject)
                offsets[jsx.SUBSCRIBERS_SUBJECT] = await self._resume_offset(jsx.SUBSCRIBERS_STREAM,
                                                                             jsx.SUBSCRIBERS_SUBJECT)
                return offsets
            except (TimeoutError, nats.errors.Error) as exc:
                if self._stop.is_set():
                    raise
                log.warning("JetStream not ready (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()


class Inbound(ABC):
    """One kind of record the edges publish for the operator's box: its subject, consumer, log and idempotency key."""

    subject = ""
    durable = ""
    log_name = ""

    def __init__(self, log_dir: Path) -> None:
        self.seen: set[tuple[str, ...]] = {self.key_of(entry.data) for entry in open_feed(log_dir, self.log_name)
                                           .read_all()}

    @abstractmethod
    def key_of(self, data: dict[str, Any]) -> tuple[str, ...]:
        """The idempotency key: a record whose key is already in the log is not appended again."""

    @abstractmethod
    def parse(self, data: dict[str, Any]) -> BaseModel:
        """The validated record to append."""

    def new_records(self, msgs: list[Msg]) -> list[BaseModel]:
        records: list[BaseModel] = []
        for msg in msgs:
            try:
                data = json.loads(msg.data)
                record = self.parse(data)
            except (ValueError, ValidationError):
                log.error("dropped a %s message that is not a valid record (stream seq %s)", self.log_name,
                          msg.metadata.sequence.stream if msg.metadata.sequence else "?")
                continue
            key = self.key_of(data)
            if key in self.seen:
                continue
            self.seen.add(key)
            records.append(record)
        return records


class CallbackInbound(Inbound):
    subject = "tbot.callbacks.>"
    durable = APPENDER
    log_name = "callbacks"

    def key_of(self, data: dict[str, Any]) -> tuple[str, ...]:
        return (str(data.get("subscriber_id")), str(data.get("signal_id")), str(data.get("callback")))

    def parse(self, data: dict[str, Any]) -> BaseModel:
        return parse_record(Callback, data).model_copy(update={"ts": None})  # the bus stamps the append


class CommissionInbound(Inbound):
    subject = "tbot.commission.>"
    durable = "tbot-commission-appender"
    log_name = "commission"  # fsync'd (shared/paths.py): money

    def key_of(self, data: dict[str, Any]) -> tuple[str, ...]:
        return (str(data.get("subscriber_id")), str(data.get("report_id")))

    def parse(self, data: dict[str, Any]) -> BaseModel:
        return CommissionRecord.model_validate(data)


class RelayError(RuntimeError):
    """A state the relay must not paper over (a replaced log)."""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", type=Path, default=Path("envs/relay.env"), help="the relay's env file")


def run(args: argparse.Namespace) -> int:
    settings = load_or_exit(RelaySettings, args.env)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> int:
        relay = Relay(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, relay.stop)
        try:
            await relay.run()
        except RelayError as exc:
            log.error("%s", exc)
            return 2
        return 0

    return asyncio.run(main())


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m dashboard.edge.relay", description="st-feed-relay")
    build_parser(cli)
    sys.exit(run(cli.parse_args()))
