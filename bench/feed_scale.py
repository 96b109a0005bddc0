"""Feed at scale: N long-poll subscribers split across two feed edges on NATS JetStream, beside one dashboard process
and Redis Streams with N subscribers each, in the same run; then callbacks through the edges.

The edges' path is the whole scaled pipeline: a signed append to the operator's signals log -> st-feed-relay ->
JetStream (one node by default, ``--nodes 3`` for an R3 cluster) -> two ``tbot feed-edge`` processes -> receipt.
Subscribers connect to the edges directly (half each), as behind a load balancer that is not measured here. The
load generator is bench/feed_fanout.py's (raw-asyncio HTTP/1.1 keep-alive and RESP clients), rounds alternate
between the systems so the box's load hits them alike.

Prints, per system: p50/p99/max append -> receipt, server CPU per publish (edges: both edges + the relay + the NATS
nodes; utime+stime from /proc, 10 ms resolution), held connections, RSS; the ratios; then callbacks: ack, executed
and resolved from every edge subscriber for ``--callback-signals`` signals, posted by ``--callback-connections``
keep-alive connections: accepted per second at the edges, appended per second into logs/feed/callbacks.jsonl by the
relay, and the backlog (accepted - appended) sampled while posting.

    .venv/bin/python bench/feed_scale.py --subscribers 1000 --rounds 10
    tbot bench feed_scale --subscribers 10000 --no-dashboard --no-redis    # if the box has the file descriptors
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import feed_fanout as fanout  # noqa: E402  (the 1,000-subscriber harness: its rigs, clients and figures)

from dashboard.edge.localrig import (  # noqa: E402
    NatsCluster,
    Proc,
    edge_proc,
    free_port,
    relay_proc,
    wait_healthy,
    write_edge_env,
    write_relay_env,
)
from dashboard.subscribers import SubscriberEvent, hash_token, new_token  # noqa: E402
from shared.bus import JsonlLog  # noqa: E402
from shared.paths import feed_path, open_stream  # noqa: E402
from shared.records import Signal  # noqa: E402
from shared.signing import load_or_create_key, public_key_pem, sign_signal  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402


class EdgeSubscriber(fanout.FeedSubscriber):
    """feed_fanout's subscriber, counting its polls apart from the dashboard's (both run in this process)."""

    sent = 0

    def send_poll(self) -> None:
        assert self.writer is not None
        EdgeSubscriber.sent += 1
        self.writer.write(
            b"GET /api/signals/feed?wait=55&cursor=" + self.cursor.encode() + b" HTTP/1.1\r\nHost: b\r\n" + self.auth
            + b"\r\n"
        )


class EdgeRig:
    """NATS node(s), the relay and two edges as processes; N subscribers split across the edges."""

    name = "tbot 2 edges over JetStream"

    def __init__(self, subscribers: int, work: Path, nodes: int) -> None:
        self.subscribers = subscribers
        self.work = work
        self.nodes = nodes
        self.logs = work / "logs"
        self.tokens = [new_token() for _ in range(subscribers)]
        self.log = open_stream(self.logs, "fx", "signals")
        self.receipts: dict[str, list[float]] = {}
        self.clients: list[EdgeSubscriber] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.ports = [free_port(), free_port()]
        self.procs: list[Proc] = []
        self.cluster: NatsCluster | None = None
        self.key = load_or_create_key(self.logs / "keys" / "k.pem")

    async def start(self) -> None:
        JsonlLog(feed_path(self.logs, "subscribers")).append_many(
            [
                SubscriberEvent(action="add", subscriber_id=f"sub_{i}", name=f"bench{i}", token_sha256=hash_token(t),
                                at=utcnow()).model_dump(mode="json", by_alias=True)
                for i, t in enumerate(self.tokens)
            ]
        )
        public = self.work / "pub.pem"
        public.write_text(public_key_pem(self.key))
        self.cluster = NatsCluster(self.work / "nats", self.nodes).start()
        relay_env = write_relay_env(self.work / "relay.env", self.logs, self.cluster.urls, min(3, self.nodes))
        edge_env = write_edge_env(self.work / "edge.env", self.logs, self.cluster.urls, self.ports[0], public,
                                  "RATE_LIMIT_PER_SECOND=1000\nRATE_LIMIT_BURST=1000\n", "WARNING")
        self.relay = relay_proc(relay_env, self.work / "relay.log").start()
        self.edges = [edge_proc(edge_env, self.work / f"edge{p}.log", p).start() for p in self.ports]
        self.procs = [*self.cluster.nodes, self.relay, *self.edges]
        for port, proc in zip(self.ports, self.edges, strict=True):
            await asyncio.to_thread(wait_healthy, port, 120, proc)
        first: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        while "next_cursor" not in first and time.monotonic() < deadline:  # the tokens reach the edges via NATS
            first = await fanout._http_get_json(self.ports[0], "/api/signals/feed?wait=0", f"Bearer {self.tokens[-1]}")
            await asyncio.sleep(0.1)
        self.clients = [
            EdgeSubscriber(self.ports[i % 2], t, self.receipts, first["next_cursor"]) for i, t in enumerate(self.tokens)
        ]
        for begin in range(0, len(self.clients), 100):
            await asyncio.gather(*(c.connect() for c in self.clients[begin : begin + 100]))
        EdgeSubscriber.sent = 0
        self.tasks = [asyncio.create_task(c.run()) for c in self.clients]
        await self.until_parked()

    @property
    def pids(self) -> list[int]:
        return [p.process.pid for p in self.procs if p.process is not None]

    def sent(self) -> int:
        return EdgeSubscriber.sent

    async def publish(self, signal: Signal) -> None:
        self.log.append(sign_signal(signal, self.key))

    async def parked(self) -> int:
        return sum([await fanout._held(port, "-") for port in self.ports])

    async def until_parked(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and await self.parked() < self.subscribers:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for client in self.clients:
            if client.writer is not None:
                client.writer.close()
        for proc in reversed(self.procs):
            proc.stop(10)


def _pids(rig: Any) -> list[int]:
    return list(rig.pids) if hasattr(rig, "pids") else [rig.pid]


def _cpu(rig: Any) -> float:
    total = 0.0
    for pid in _pids(rig):
        with contextlib.suppress(OSError):  # a process that exited counts nothing more
            total += fanout.cpu_seconds(pid)
    return total


def _rss(rig: Any) -> float:
    return sum(fanout.rss_mib(pid) for pid in _pids(rig))


async def measure_round(rig: Any, result: fanout.Result, round_no: int) -> None:
    """feed_fanout's round, with the server CPU summed over every process of the system."""
    signal = fanout.make_signal()
    server_before, gen_before = _cpu(rig), time.process_time()
    t0 = time.time()
    await rig.publish(signal)
    deadline = time.monotonic() + 60
    while len(rig.receipts.get(signal.id, ())) < rig.subscribers and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    while rig.sent() < rig.subscribers * (round_no + 2) and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    await asyncio.sleep(fanout.SETTLE_SECONDS)
    result.server_cpu_ms.append((_cpu(rig) - server_before) * 1000)
    result.loadgen_cpu_ms.append((time.process_time() - gen_before) * 1000)
    got = rig.receipts.get(signal.id, [])
    result.missing += rig.subscribers - len(got)
    result.latencies_ms.extend((t - t0) * 1000 for t in got)
    await rig.until_parked()


# ---------------------------------------------------------------------------------------------- callbacks
async def _post_worker(port: int, jobs: list[tuple[str, str, str, bytes]], statuses: Counter[int],
                       accepted: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for token, signal_id, kind, body in jobs:
            writer.write(
                f"POST /api/signals/{signal_id}/{kind} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            status = int(head[9:12])
            statuses[status] += 1
            if status in (200, 201):
                accepted[0] += 1
    finally:
        writer.close()


def _lines(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


async def measure_callbacks(rig: EdgeRig, signals: int, connections: int) -> dict[str, Any]:
    """ack, executed and resolved from every subscriber on ``signals`` signals, through the edges."""
    ids = []
    for _ in range(signals):
        signal = fanout.make_signal()
        await rig.publish(signal)
        ids.append(signal.id)
    deadline = time.monotonic() + 30
    while any(len(rig.receipts.get(i, ())) < rig.subscribers for i in ids) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    bodies = {
        "ack": b"{}",
        "executed": b'{"fill_price":"1.0842","quantity":1000,"fees_cents":12}',
        "resolved": b'{"pnl_cents":250,"resolved_at":"2026-12-05T12:00:00Z"}',
    }
    jobs = [(t, i, kind, bodies[kind]) for i in ids for kind in ("ack", "executed", "resolved") for t in rig.tokens]
    # Each worker takes every connections-th job: per subscriber and signal, ack, executed, resolved stay in order
    # only if they land on one worker, so jobs are grouped by (token, signal) first.
    grouped: dict[tuple[str, str], list[tuple[str, str, str, bytes]]] = {}
    for job in jobs:
        grouped.setdefault((job[0], job[1]), []).append(job)
    shards: list[list[tuple[str, str, str, bytes]]] = [[] for _ in range(connections)]
    for n, group in enumerate(grouped.values()):
        shards[n % connections].extend(group)
    path = feed_path(rig.logs, "callbacks")
    before = _lines(path)
    statuses: Counter[int] = Counter()
    accepted = [0]
    backlog: list[int] = []
    cpu_before = _cpu(rig)
    t0 = time.monotonic()

    async def sample() -> None:
        while True:
            await asyncio.sleep(0.25)
            backlog.append(max(0, accepted[0] - (_lines(path) - before)))  # the appender may finish first

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(_post_worker(rig.ports[n % 2], shard, statuses, accepted)
                           for n, shard in enumerate(shards) if shard))
    posted_in = time.monotonic() - t0
    sampler.cancel()
    while _lines(path) - before < accepted[0] and time.monotonic() - t0 < posted_in + 120:
        await asyncio.sleep(0.05)
    appended_in = time.monotonic() - t0
    appended = _lines(path) - before
    return {
        "callbacks": len(jobs),
        "statuses": dict(statuses),
        "accepted_per_second": round(accepted[0] / posted_in, 1),
        "appended_per_second": round(appended / appended_in, 1),
        "appended": appended,
        "drain_after_last_post_s": round(appended_in - posted_in, 2),
        "backlog_samples": backlog,
        "server_cpu_ms_per_callback": round((_cpu(rig) - cpu_before) * 1000 / max(1, len(jobs)), 3),
    }


# ---------------------------------------------------------------------------------------------- main
async def run_async(subscribers: int, rounds: int, work: Path, nodes: int, with_dashboard: bool, with_redis: bool,
                    callback_signals: int, callback_connections: int) -> tuple[list[fanout.Result], dict[str, Any]]:
    edges = EdgeRig(subscribers, work / "edges", nodes)
    rigs: list[Any] = [edges]
    if with_dashboard:
        rigs.append(fanout.DashboardRig(subscribers, work / "dash"))
    binary = shutil.which("redis-server")
    if with_redis and binary is not None:
        rigs.append(fanout.RedisRig(subscribers, work, binary))
    results = [fanout.Result(rig.name) for rig in rigs]
    callbacks: dict[str, Any] = {}
    try:
        for rig in rigs:
            await rig.start()
        for round_no in range(rounds):
            for rig, result in zip(rigs, results, strict=True):
                await measure_round(rig, result, round_no)
                await asyncio.sleep(0.05)
        for rig, result in zip(rigs, results, strict=True):
            result.held = await rig.parked()
            result.rss_mib = _rss(rig)
        if callback_signals:
            callbacks = await measure_callbacks(edges, callback_signals, callback_connections)
    finally:
        for rig in rigs:
            await rig.stop()
    return results, callbacks


def run(subscribers: int, rounds: int, nodes: int = 1, with_dashboard: bool = True, with_redis: bool = True,
        callback_signals: int = 1, callback_connections: int = 64) -> dict[str, Any]:
    """Run the benchmark; returns the summaries, ratios and callback figures (also printed)."""
    systems = 1 + with_dashboard + with_redis
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = systems * subscribers + callback_connections + 512
    if needed > hard:
        raise SystemExit(f"{subscribers} subscribers x {systems} systems need ~{needed} file descriptors; this "
                         f"process may open {hard} (ulimit -Hn). Use fewer subscribers or --no-dashboard/--no-redis.")
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, needed)), hard))
    fanout.FeedSubscriber.sent = 0
    with tempfile.TemporaryDirectory(prefix="tbot-scale-") as tmp:
        work = Path(tmp)
        for sub in ("edges", "dash"):
            (work / sub).mkdir()
        results, callbacks = asyncio.run(run_async(subscribers, rounds, work, nodes, with_dashboard, with_redis,
                                                   callback_signals, callback_connections))
    summaries = {r.name: r.summary() for r in results}
    edge = results[0].summary()
    out: dict[str, Any] = {"subscribers": subscribers, "rounds": rounds, "nats_nodes": nodes, "edges": edge,
                           "load_average": round(os.getloadavg()[0], 1)}
    print(f"feed at scale: {subscribers} long-poll subscribers per system ({subscribers // 2 + subscribers % 2} + "
          f"{subscribers // 2} on two edges), {rounds} publishes each, {nodes} NATS node(s), loopback, "
          f"{os.cpu_count()} CPUs, load average {out['load_average']}")
    for summary in summaries.values():
        fanout._print(summary)
    per_thousand = {name: round(s["server_cpu_ms_per_publish"] * 1000 / subscribers, 1)
                    for name, s in summaries.items() if s["server_cpu_ms_per_publish"] is not None}
    out["server_cpu_ms_per_publish_per_1000"] = per_thousand
    print("server CPU per publish per 1,000 subscribers: "
          + ", ".join(f"{name} {value} ms" for name, value in per_thousand.items()))
    dashboard = next((r.summary() for r in results if r.name == fanout.DashboardRig.name), None)
    redis = next((r.summary() for r in results if r.name == fanout.RedisRig.name), None)
    if dashboard is not None:
        out["dashboard"] = dashboard
        out["p99_vs_dashboard"] = round(edge["p99_ms"] / dashboard["p99_ms"], 2) if dashboard["p99_ms"] else None
        print(f"edges / dashboard: p99 {out['p99_vs_dashboard']}x (target <= 1x)")
    if redis is not None:
        out["redis"] = redis
        if redis["server_cpu_ms_per_publish"]:
            out["cpu_vs_redis"] = round(edge["server_cpu_ms_per_publish"] / redis["server_cpu_ms_per_publish"], 2)
            print(f"edges / redis: server CPU per publish {out['cpu_vs_redis']}x (target <= 1.5x)")
    elif with_redis:
        print("redis-server not installed: no Redis Streams reference run (apt-get install redis-server)")
    if callbacks:
        out["callbacks"] = callbacks
        samples = callbacks["backlog_samples"]
        print(f"callbacks: {callbacks['callbacks']} posted ({callbacks['statuses']}), accepted "
              f"{callbacks['accepted_per_second']}/s at the edges, appended {callbacks['appended_per_second']}/s "
              f"into callbacks.jsonl ({callbacks['appended']}), drained {callbacks['drain_after_last_post_s']} s "
              f"after the last post; backlog while posting: max {max(samples, default=0)}, last "
              f"{samples[-1] if samples else 0}; server CPU {callbacks['server_cpu_ms_per_callback']} ms/callback")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000, help="per system (split across the two edges)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--nodes", type=int, choices=(1, 3), default=1, help="NATS nodes (3: an R3 cluster)")
    parser.add_argument("--no-dashboard", action="store_true", help="skip the single-dashboard reference run")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis Streams reference run")
    parser.add_argument("--callback-signals", type=int, default=1,
                        help="signals whose ack/executed/resolved every edge subscriber posts (0: none)")
    parser.add_argument("--callback-connections", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args(argv)
    out = run(args.subscribers, args.rounds, args.nodes, not args.no_dashboard, not args.no_redis,
              args.callback_signals, args.callback_connections)
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
