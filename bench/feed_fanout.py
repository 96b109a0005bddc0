"""Feed fan-out: one append to the signals log -> receipt by N concurrent long-poll subscribers on loopback.

Side by side, in the same run, the same fan-out through Redis Streams (XREAD BLOCK on one stream, XADD to
publish). Both load generators are lean raw-asyncio clients in this process (hand-written HTTP/1.1 keep-alive and
RESP parsing), so the generator is not the bottleneck; its own CPU is reported too.

Prints, per system: latency from append to receipt (p50, p99, max over every subscriber x round), server CPU per
publish (utime+stime of the server process from just before the append until every subscriber has re-polled),
held connections and RSS of the worker; then the ratios. Medians and percentiles over all samples.

    .venv/bin/python bench/feed_fanout.py                      # 1,000 subscribers, 20 rounds
    tbot bench feed_fanout --subscribers 200 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.subscribers import SubscriberEvent, hash_token, new_token  # noqa: E402
from shared.bus import JsonlLog  # noqa: E402
from shared.ids import new_id  # noqa: E402
from shared.paths import feed_path, open_stream  # noqa: E402
from shared.records import Signal  # noqa: E402
from shared.signing import load_or_create_key, sign_signal  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 0.1  # after the last re-poll is sent, before the server's CPU is read


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def make_signal() -> Signal:
    now = utcnow()
    return Signal(
        id=new_id(),
        published_at=now,
        expires_at=now + timedelta(seconds=600),
        surface="fx",
        sub_strategy="atr_breakout",
        venue="sim",
        instrument="EUR_USD",
        side="long",
        limit_price=Decimal("1.08412"),
        size_fraction=Decimal("0.02"),
        p_model=0.64,
        p_market=0.55,
        edge=0.071,
        confidence=0.72,
        model_spread=0.04,
        models=("offline-baseline",),
        eta_hours=6.0,
        stop_loss=Decimal("1.07300"),
        take_profit=Decimal("1.10600"),
        signature="A" * 88,  # signature-sized, so payloads are realistic
    )


@dataclass
class Result:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu_ms: list[float] = field(default_factory=list)
    loadgen_cpu_ms: list[float] = field(default_factory=list)
    held: int = 0
    rss_mib: float = float("nan")
    missing: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "system": self.name,
            "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 2),
            "server_cpu_ms_per_publish": round(statistics.median(self.server_cpu_ms), 1)
            if self.server_cpu_ms else None,
            "loadgen_cpu_ms_per_publish": round(statistics.median(self.loadgen_cpu_ms), 1)
            if self.loadgen_cpu_ms else None,
            "held_connections": self.held,
            "server_rss_mib": round(self.rss_mib, 1),
            "samples": len(self.latencies_ms),
            "missing": self.missing,
        }


# ---------------------------------------------------------------------------------------------- the dashboard
class FeedSubscriber:
    """One keep-alive HTTP/1.1 connection long-polling the feed."""

    sent = 0  # polls sent by every subscriber together

    def __init__(self, port: int, token: str, receipts: dict[str, list[float]], cursor: str) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {token}\r\n".encode()
        self.receipts = receipts
        self.cursor = cursor
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def send_poll(self) -> None:
        assert self.writer is not None
        FeedSubscriber.sent += 1
        self.writer.write(
            b"GET /api/signals/feed?wait=55&cursor=" + self.cursor.encode() + b" HTTP/1.1\r\nHost: b\r\n" + self.auth
            + b"\r\n"
        )

    async def run(self) -> None:
        assert self.reader is not None
        reader = self.reader
        while True:
            self.send_poll()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            now = time.time()
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head[:40] + body[:200])
            data = json.loads(body)
            self.cursor = data["next_cursor"]
            for signal in data["signals"]:
                self.receipts.setdefault(signal["id"], []).append(now)


class DashboardRig:
    """The dashboard as a real process (``tbot dashboard``) with N subscribers long-polling it."""

    name = "tbot dashboard (long-poll)"

    def __init__(self, subscribers: int, work: Path) -> None:
        self.subscribers = subscribers
        self.work = work
        self.logs = work / "logs"
        self.tokens = [new_token() for _ in range(subscribers)]
        self.log = open_stream(self.logs, "fx", "signals")
        self.operator = "bench-operator-token-0123456789abcdef"
        self.port = free_port()
        self.receipts: dict[str, list[float]] = {}
        self.clients: list[FeedSubscriber] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.server: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        JsonlLog(feed_path(self.logs, "subscribers")).append_many(
            [
                SubscriberEvent(action="add", subscriber_id=f"sub_{i}", name=f"bench{i}", token_sha256=hash_token(t),
                                at=utcnow()).model_dump(mode="json", by_alias=True)
                for i, t in enumerate(self.tokens)
            ]
        )
        # The dashboard serves only signals that verify against the operator's key, as a surface would sign them.
        self.key = load_or_create_key(self.logs / "keys" / "k.pem")
        env = self.work / "dashboard.env"
        env.write_text(
            f"LOG_DIR={self.logs}\nSIGNAL_KEY_PATH={self.logs / 'keys' / 'k.pem'}\nPORT={self.port}\n"
            f"DASHBOARD_API_TOKEN={self.operator}\nPM2_HOME={self.work / 'nopm2'}\nENV_DIR={self.work}\n"
            "LOG_LEVEL=WARNING\nRATE_LIMIT_PER_SECOND=1000\nRATE_LIMIT_BURST=1000\n"
        )
        env.chmod(0o600)
        self.server = subprocess.Popen([sys.executable, "-m", "shared.cli", "dashboard", "--env", str(env)],
                                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await _wait_port(self.port, self.server)
        first = await _http_get_json(self.port, "/api/signals/feed?wait=0", f"Bearer {self.tokens[0]}")
        self.clients = [FeedSubscriber(self.port, t, self.receipts, first["next_cursor"]) for t in self.tokens]
        for begin in range(0, len(self.clients), 100):
            await asyncio.gather(*(c.connect() for c in self.clients[begin : begin + 100]))
        FeedSubscriber.sent = 0
        self.tasks = [asyncio.create_task(c.run()) for c in self.clients]
        await self.until_parked()

    @property
    def pid(self) -> int:
        assert self.server is not None
        return self.server.pid

    def sent(self) -> int:
        return FeedSubscriber.sent

    async def publish(self, signal: Signal) -> None:
        self.log.append(sign_signal(signal, self.key))  # ~0.1 ms, as in a surface's publish

    async def parked(self) -> int:
        return await _held(self.port, self.operator)

    async def until_parked(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and await self.parked() < self.subscribers:
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for client in self.clients:
            if client.writer is not None:
                client.writer.close()
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()


async def _wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def _http_get_json(port: int, path: str, auth: str) -> Any:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: b\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        body = _dechunk(body)
    return json.loads(body) if head.find(b"json") >= 0 else body.decode()


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2 :]
    return out


async def _held(port: int, operator: str) -> int:
    text = await _http_get_json(port, "/metrics", f"Bearer {operator}")
    for line in str(text).splitlines():
        if line.startswith("tbot_feed_waiting "):
            return int(float(line.split()[1]))
    return 0


# ---------------------------------------------------------------------------------------------- Redis Streams
class _Incomplete(Exception):
    pass


def _parse_resp(buf: bytes, pos: int) -> tuple[Any, int]:
    """One RESP2 value from ``buf`` at ``pos``; raises _Incomplete if the buffer ends first."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, rest = buf[pos : pos + 1], buf[pos + 1 : end]
    pos = end + 2
    if kind == b"*":
        count = int(rest)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _parse_resp(buf, pos)
            items.append(item)
        return items, pos
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return buf[pos : pos + size], pos + size + 2
    if kind in (b"+", b":"):
        return rest, pos
    raise RuntimeError(buf[pos - 2 - len(rest) - 1 : pos])


class Resp:
    """A lean RESP2 reader: parses whole replies from a buffer, one socket read per reply in the common case."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.buffer = b""

    async def read(self) -> Any:
        while True:
            if self.buffer:
                try:
                    value, used = _parse_resp(self.buffer, 0)
                except _Incomplete:
                    pass
                else:
                    self.buffer = self.buffer[used:]
                    return value
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buffer += chunk


def resp_command(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class RedisRig:
    """redis-server on a temporary port with N subscribers blocked in XREAD on one stream."""

    name = "Redis Streams (XREAD BLOCK)"

    def __init__(self, subscribers: int, work: Path, binary: str) -> None:
        self.subscribers = subscribers
        self.work = work
        self.binary = binary
        self.port = free_port()
        self.receipts: dict[str, list[float]] = {}
        self.sent_count = 0
        self.tasks: list[asyncio.Task[None]] = []
        self.server: subprocess.Popen[bytes] | None = None
        self.pub: Resp | None = None
        self.pub_writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        self.server = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--maxclients", str(self.subscribers + 100), "--dir", str(self.work)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        await _wait_port(self.port, self.server)
        for begin in range(0, self.subscribers, 100):
            self.tasks.extend(
                asyncio.create_task(self._subscriber()) for _ in range(min(100, self.subscribers - begin))
            )
            await asyncio.sleep(0.01)
        reader, self.pub_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.pub = Resp(reader)
        await self.until_parked()

    async def _subscriber(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        resp = Resp(reader)
        last = b"$"
        try:
            while True:
                writer.write(resp_command(b"XREAD", b"BLOCK", b"55000", b"STREAMS", b"signals", last))
                self.sent_count += 1
                reply = await resp.read()
                now = time.time()
                if reply is None:
                    continue
                for _stream, entries in reply:
                    for entry_id, fields in entries:
                        last = entry_id
                        data = json.loads(fields[1])
                        self.receipts.setdefault(data["id"], []).append(now)
        finally:
            writer.close()

    @property
    def pid(self) -> int:
        assert self.server is not None
        return self.server.pid

    def sent(self) -> int:
        return self.sent_count

    async def publish(self, signal: Signal) -> None:
        assert self.pub is not None and self.pub_writer is not None
        payload = json.dumps(signal.to_json_dict(), separators=(",", ":")).encode()
        self.pub_writer.write(resp_command(b"XADD", b"signals", b"*", b"data", payload))
        await self.pub.read()

    async def parked(self) -> int:
        assert self.pub is not None and self.pub_writer is not None
        return await _redis_blocked(self.pub, self.pub_writer)

    async def until_parked(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and await self.parked() < self.subscribers:
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.pub_writer is not None:
            self.pub_writer.close()
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=15)


async def _redis_blocked(pub: Resp, writer: asyncio.StreamWriter) -> int:
    writer.write(resp_command(b"INFO", b"clients"))
    info = await pub.read()
    for line in bytes(info).decode().splitlines():
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    return 0


# ---------------------------------------------------------------------------------------------- main
async def measure_round(rig: Any, result: Result, round_no: int) -> None:
    """One publish: from just before the append to receipt by every subscriber; server CPU until all re-polled."""
    signal = make_signal()
    server_before, gen_before = cpu_seconds(rig.pid), time.process_time()
    t0 = time.time()
    await rig.publish(signal)
    deadline = time.monotonic() + 30
    while len(rig.receipts.get(signal.id, ())) < rig.subscribers and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    # Every subscriber has sent its next request; give the server time to park them, then read its CPU.
    # (Asking the server how many it holds would itself cost server CPU, so that check comes after.)
    while rig.sent() < rig.subscribers * (round_no + 2) and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    await asyncio.sleep(SETTLE_SECONDS)
    result.server_cpu_ms.append((cpu_seconds(rig.pid) - server_before) * 1000)
    result.loadgen_cpu_ms.append((time.process_time() - gen_before) * 1000)
    got = rig.receipts.get(signal.id, [])
    result.missing += rig.subscribers - len(got)
    result.latencies_ms.extend((t - t0) * 1000 for t in got)
    await rig.until_parked()


async def run_async(subscribers: int, rounds: int, work: Path, with_redis: bool) -> list[Result]:
    """Both systems up at once; rounds alternate between them, so load on the box hits both alike."""
    rigs: list[Any] = [DashboardRig(subscribers, work / "dash")]
    binary = shutil.which("redis-server")
    if with_redis and binary is not None:
        rigs.append(RedisRig(subscribers, work, binary))
    results = [Result(rig.name) for rig in rigs]
    try:
        for rig in rigs:
            await rig.start()
        for round_no in range(rounds):
            for rig, result in zip(rigs, results, strict=True):
                await measure_round(rig, result, round_no)
                await asyncio.sleep(0.05)
        for rig, result in zip(rigs, results, strict=True):
            result.held = await rig.parked()
            result.rss_mib = rss_mib(rig.pid)
    finally:
        for rig in rigs:
            await rig.stop()
    return results


def run(subscribers: int, rounds: int, with_redis: bool = True) -> dict[str, Any]:
    """Run the benchmark; returns the summaries and ratios (also printed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 6 * subscribers + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(prefix="tbot-fanout-") as tmp:
        work = Path(tmp)
        (work / "dash").mkdir()
        results = asyncio.run(run_async(subscribers, rounds, work, with_redis))
    dashboard = results[0]
    redis = results[1] if len(results) > 1 else None
    out: dict[str, Any] = {"subscribers": subscribers, "rounds": rounds, "dashboard": dashboard.summary()}
    print(f"feed fan-out: {subscribers} concurrent long-poll subscribers, {rounds} publishes each, loopback, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    _print(dashboard.summary())
    if redis is not None:
        out["redis"] = redis.summary()
        _print(redis.summary())
        d, r = out["dashboard"], out["redis"]
        out["ratios"] = {
            "p50": round(d["p50_ms"] / r["p50_ms"], 2) if r["p50_ms"] else None,
            "p99": round(d["p99_ms"] / r["p99_ms"], 2) if r["p99_ms"] else None,
            "server_cpu": round(d["server_cpu_ms_per_publish"] / r["server_cpu_ms_per_publish"], 2)
            if r["server_cpu_ms_per_publish"] else None,
        }
        print(f"ratios dashboard / redis: p50 {out['ratios']['p50']}x  p99 {out['ratios']['p99']}x  "
              f"server CPU {out['ratios']['server_cpu']}x   (target: p99 <= 1.5x)")
    else:
        print("redis-server not installed: no Redis Streams reference run (apt-get install redis-server)")
    per_thousand = dashboard.summary()["server_cpu_ms_per_publish"] * 1000 / subscribers
    out["dashboard_cpu_ms_per_publish_per_1000"] = round(per_thousand, 1)
    print(f"dashboard server CPU per publish per 1,000 subscribers: {per_thousand:.1f} ms (target <= 150 ms)")
    return out


def _print(summary: dict[str, Any]) -> None:
    print(
        f"  {summary['system']:<30} p50 {summary['p50_ms']:>7.2f} ms  p99 {summary['p99_ms']:>7.2f} ms  "
        f"max {summary['max_ms']:>7.2f} ms  server CPU/publish {summary['server_cpu_ms_per_publish']:>6} ms  "
        f"loadgen CPU/publish {summary['loadgen_cpu_ms_per_publish']:>6} ms  held {summary['held_connections']}  "
        f"RSS {summary['server_rss_mib']} MiB  missing {summary['missing']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis Streams reference run")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args(argv)
    out = run(args.subscribers, args.rounds, not args.no_redis)
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
