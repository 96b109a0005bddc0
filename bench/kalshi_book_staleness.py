"""Kalshi book staleness: how long after the venue's book changes the loop's read shows it, WebSocket vs REST.

Both paths run against loopback fakes that share one true book (``tests/shared/venues/kalshi/fake_kalshi_ws.py``
mirrors every change into ``fake_kalshi.py``'s REST order book):

- **WebSocket**: ``KalshiVenue`` with ``KALSHI_WS=on``. The fake changes a level and sends the ``orderbook_delta``;
  the figure is the time until ``venue.orderbook()`` (what the loop calls) returns the changed book. The reader
  polls every 0.2 ms, so the figure is the delivery latency plus at most that.
- **REST polling at the default tick**: ``KalshiVenue`` with ``KALSHI_WS=off``, read once per ``TICK_SECONDS`` (the
  default, 2 s) by a poller standing in for the loop. A change lands at a random moment of the tick; the figure is
  the time until a poll's answer shows it (the wait for the next tick plus the request).
- For context, the REST read latency itself (a read made at the moment of need, the floor for REST; spaced out so
  the adapter's read bucket, 20 requests/s on Kalshi's basic tier, never holds it back).

Usage: ``tbot bench kalshi_book_staleness [--quick] [--ws-samples 300] [--rest-samples 30] [--tick 2.0]``.
A full run takes about a minute (the REST samples wait for ticks).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from shared.config import SurfaceSettings  # noqa: E402
from shared.venues.kalshi.execution import KalshiVenue  # noqa: E402

FAKES = ROOT / "tests" / "shared" / "venues" / "kalshi"
SYMBOL = "KXHIGHNY-25DEC27-B31.5"
LEVEL = Decimal("0.3100")  # the level every change moves (not in the recorded book, so it starts empty)


def _module(name: str, file: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FAKES / file)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def size_at(venue: KalshiVenue) -> int:
    """The size the loop's read shows at LEVEL (0 when the level is empty)."""
    for level in venue.orderbook(SYMBOL, depth=100).bids:
        if level.price == LEVEL:
            return level.size
    return 0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_ws(venue: KalshiVenue, change: Callable[[int], None], samples: int, rng: random.Random
               ) -> tuple[list[float], list[float]]:
    """(change -> visible latencies, costs of one live read), seconds."""
    latencies: list[float] = []
    reads: list[float] = []
    expected = size_at(venue)
    for _ in range(samples):
        time.sleep(rng.uniform(0.002, 0.01))
        expected += 100
        started = time.perf_counter()
        change(100)
        while True:
            before = time.perf_counter()
            seen = size_at(venue)
            reads.append(time.perf_counter() - before)
            if seen == expected:
                break
            time.sleep(0.0002)
        latencies.append(time.perf_counter() - started)
    return latencies, reads


def measure_rest_polling(venue: KalshiVenue, change: Callable[[int], None], samples: int, tick: float,
                         rng: random.Random) -> list[float]:
    """A poller reads once per tick (the loop); each change lands at a random moment of a tick."""
    seen: list[tuple[float, int]] = []  # (when a poll's answer arrived, the size it showed)
    stop = threading.Event()
    lock = threading.Lock()

    def poller() -> None:
        next_tick = time.perf_counter()
        while not stop.is_set():
            size = size_at(venue)
            with lock:
                seen.append((time.perf_counter(), size))
            next_tick += tick
            stop.wait(max(0.0, next_tick - time.perf_counter()))

    thread = threading.Thread(target=poller, daemon=True)
    expected = size_at(venue)
    thread.start()
    latencies: list[float] = []
    try:
        for _ in range(samples):
            time.sleep(rng.uniform(0, tick))
            expected += 100
            started = time.perf_counter()
            change(100)
            while True:
                with lock:
                    hit = next((at for at, size in seen if at >= started and size == expected), None)
                if hit is not None:
                    latencies.append(hit - started)
                    break
                time.sleep(0.005)
    finally:
        stop.set()
        thread.join(tick + 5)
    return latencies


def measure_rest_reads(venue: KalshiVenue, samples: int) -> list[float]:
    """One request's latency, spaced so Kalshi's read bucket (20/s on the basic tier) never makes a read wait."""
    out = []
    for _ in range(samples):
        time.sleep(0.06)
        started = time.perf_counter()
        size_at(venue)
        out.append(time.perf_counter() - started)
    return out


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (about 15 s)")
    parser.add_argument("--ws-samples", type=int, default=300)
    parser.add_argument("--rest-samples", type=int, default=30)
    parser.add_argument("--tick", type=float, default=float(SurfaceSettings.model_fields["tick_seconds"].default))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.quick:
        args.ws_samples, args.rest_samples = min(args.ws_samples, 100), min(args.rest_samples, 8)
    rng = random.Random(args.seed)
    rest_fake = _module("tbot_test_fake_kalshi", "fake_kalshi.py")
    ws_fake = _module("tbot_test_fake_kalshi_ws", "fake_kalshi_ws.py")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with tempfile.TemporaryDirectory() as tmp:
        key_path = Path(tmp) / "kalshi.key"
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        with rest_fake.serve() as (rest, base_url):
            fake: Any = ws_fake.FakeKalshiWs(key.public_key(), rest)
            with ws_fake.serve_ws(fake) as (ws, ws_url):
                ws.load(SYMBOL, {"0.3200": "50.00", "0.3400": "120.00"}, {"0.6000": "15.00"})

                def change(delta: int) -> None:
                    ws.change(SYMBOL, "yes", str(LEVEL), delta)

                def venue(on: bool) -> KalshiVenue:
                    settings = SurfaceSettings(
                        trading_mode="paper", venue="kalshi", kalshi_base_url=base_url,
                        kalshi_api_key_id="bench-key", kalshi_private_key_path=key_path,
                        kalshi_ws="on" if on else "off", kalshi_ws_url=ws_url,
                    )
                    return KalshiVenue.from_settings(settings)

                live = venue(True)
                try:
                    live.orderbook(SYMBOL)
                    assert live.stream is not None and live.stream.wait_live(SYMBOL, 10), "WebSocket never live"
                    ws_lat, ws_reads = measure_ws(live, change, args.ws_samples, rng)
                    assert live.stream.stats.gaps == 0 and live.stream.stats.resubscribes == 0
                finally:
                    live.close()
                polled = venue(False)
                try:
                    rest_reads = measure_rest_reads(polled, 100 if not args.quick else 30)
                    rest_lat = measure_rest_polling(polled, change, args.rest_samples, args.tick, rng)
                finally:
                    polled.close()
    rows = [
        ("WebSocket: change -> loop's read shows it", ws_lat),
        (f"REST polled every tick ({args.tick:g} s)", rest_lat),
        ("REST read latency (read at the moment of need)", rest_reads),
        ("WebSocket: cost of one live read (no request)", ws_reads),
    ]
    print(f"Kalshi book staleness over loopback fakes (one true book), TICK_SECONDS={args.tick:g}")
    print(f"{'path':<50} {'samples':>8} {'median':>11} {'p99':>11}")
    for name, values in rows:
        print(f"{name:<50} {len(values):>8} {fmt(statistics.median(values)):>11} {fmt(quantile(values, 0.99)):>11}")
    ratio_median = statistics.median(rest_lat) / statistics.median(ws_lat)
    ratio_p99 = quantile(rest_lat, 0.99) / quantile(ws_lat, 0.99)
    print(f"REST polling / WebSocket: {ratio_median:,.0f}x at the median, {ratio_p99:,.0f}x at p99")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; p99 of {len(rest_lat)} REST samples is "
          "close to their maximum")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
