"""A small round-robin TCP proxy: enough of a load balancer to try the scaled layout on one machine.

Each new client connection goes to the next backend in turn; a backend that refuses the connection is skipped
(the next one is tried), so a killed edge costs its clients one reconnect, not an outage. Bytes are relayed
both ways untouched (HTTP keep-alive stays on the backend the connection started on). In production put a real
load balancer here (HAProxy, nginx, a cloud LB) with a health check on ``GET /healthz``.

    python -m dashboard.edge.proxy --listen 127.0.0.1:8180 --backend 127.0.0.1:8181 --backend 127.0.0.1:8182
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import signal
import sys

log = logging.getLogger(__name__)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError("expected HOST:PORT")
    return host, int(port)


class RoundRobinProxy:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for _ in range(len(self.backends)):
            host, port = self.backends[next(self._next)]
            try:
                upstream = await asyncio.open_connection(host, port)
                break
            except OSError:
                continue
        if upstream is None:
            writer.close()
            return
        self.connections += 1
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(listen: tuple[str, int], backends: list[tuple[str, int]]) -> None:
    proxy = RoundRobinProxy(backends)
    server = await asyncio.start_server(proxy.handle, listen[0], listen[1], backlog=4096)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("proxy on %s:%d -> %s", listen[0], listen[1], ", ".join(f"{h}:{p}" for h, p in backends))
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.edge.proxy", description="round-robin TCP proxy")
    parser.add_argument("--listen", type=_address, required=True)
    parser.add_argument("--backend", type=_address, action="append", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.listen, args.backend))
    return 0


if __name__ == "__main__":
    sys.exit(main())
